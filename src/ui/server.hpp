// `xrun ui`: the viewer's HTTP server (libmicrohttpd), serving the compiled-in page, the JSON
// API (ui/api.hpp) and the event stream (ui/events.hpp) of one archive.
#pragma once

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>

namespace xrun::ui {

/// The port `xrun ui` tries first when none is given.
inline constexpr int k_default_port = 8765;

struct ServeOptions {
  std::filesystem::path root; // the archive folder
  std::optional<int> port;    // nullopt: k_default_port, or a free one when it is taken
  std::string host = "127.0.0.1";
  std::string token;         // empty: a new one when `host` is not loopback, else none
  bool open_browser = false; // run `xdg-open URL` once serving
};

/// Serves the archive until SIGINT or SIGTERM, then returns 0. Prints one line to `out` once
/// listening: `xrun ui: serving ROOT at URL`; warnings go to stderr. Throws ArchiveError when
/// `root` is not a folder, UsageError for a bad host, port or token, SystemError when the
/// server cannot start.
int serve(const ServeOptions& options, std::ostream& out);

} // namespace xrun::ui
