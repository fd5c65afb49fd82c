// The viewer's JSON API (`/api/v1/...`, see the README's API section) as plain functions of a
// Request: no HTTP library here, so every answer is tested without a server. The event stream
// is not here: the server streams it itself from a ChangeWatcher (ui/events.hpp).
#pragma once

#include "ui/http.hpp"

#include <filesystem>
#include <memory>

namespace xrun::ui {

class RunCache;

/// The API over one archive. `handle` may be called from several threads at once.
class Api {
public:
  /// Serves the archive under `root` (a folder; what it holds is read on each request).
  explicit Api(std::filesystem::path root);
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  /// The answer to a GET of `request.path` (which starts with `/api/v1/`): JSON, or a run
  /// file's bytes for /api/v1/file. Never throws: a failure is a JSON error with its status.
  Response handle(const Request& request);

  /// Runs were added or removed or changed status (as an event stream saw): the runs list
  /// is scanned again now, and its next requests wait for that scan.
  void runs_changed();

private:
  Response dispatch(const Request& request);

  std::filesystem::path m_root;
  std::unique_ptr<RunCache> m_runs;
};

} // namespace xrun::ui
