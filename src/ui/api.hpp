// The viewer's JSON API: every `/api/v1/...` path but the event stream, which the server
// streams itself from a ChangeWatcher (ui/events.hpp).
#pragma once

#include "ui/http.hpp"

#include <filesystem>

namespace xrun::ui {

/// Answers the API's requests on the archive at `root`. Thread-safe: the server calls
/// `handle` from several threads at once.
class Api {
public:
  explicit Api(std::filesystem::path root);

  /// The response to a GET of `request.path` (which starts with `/api/v1/`).
  Response handle(const Request& request);

private:
  std::filesystem::path m_root;
};

} // namespace xrun::ui
