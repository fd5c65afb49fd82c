// What changed in the archive since the last look, for the viewer's event stream
// (`/api/v1/events`): the server polls a ChangeWatcher every ~250 ms and streams its events.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace xrun::ui {

/// One server-sent event: its `event:` type (`run`, `series`, `log`, `runs`) and its `data:`
/// line, a JSON object on one line.
struct Event {
  std::string type;
  std::string data_json;
};

/// Watches the runs `runs` (ids relative to `root`) for changes; pure file reads, no server.
class ChangeWatcher {
public:
  ChangeWatcher(std::filesystem::path root, std::vector<std::string> runs);

  /// The changes seen since the previous call (or the construction).
  std::vector<Event> poll();

private:
  std::filesystem::path m_root;
  std::vector<std::string> m_runs;
  std::map<std::string, std::int64_t> m_log_sizes;
};

} // namespace xrun::ui
