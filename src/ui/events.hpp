// What changed in the archive since the last look, for the viewer's event stream
// (`/api/v1/events`): the server polls a ChangeWatcher every ~250 ms and streams its events.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace xrun::ui {

/// One server-sent event: its `event:` type (`run`, `series`, `log`, `runs`) and its `data:`
/// line, a JSON object on one line.
struct Event {
  std::string type;
  std::string data_json;
};

struct ArchiveView;

/// Watches the runs `runs` (ids relative to `root`), and every running run of the archive, for
/// changes; pure file reads, no server. Each poll costs a few `lstat`s per watched run (its
/// meta, log and series files) and, at most every 2 s, one per folder above the archive's
/// runs; the archive is scanned again only when one of those folders changed (a run added or
/// removed), and a scan is shared by the watchers of one archive. Nothing is read whole but a
/// meta that changed.
class ChangeWatcher {
public:
  ChangeWatcher(std::filesystem::path root, std::vector<std::string> runs);
  ChangeWatcher(ChangeWatcher&&) noexcept;
  ChangeWatcher& operator=(ChangeWatcher&&) noexcept;
  ~ChangeWatcher();

  /// The changes seen since the previous call (or the construction): `run` when a run's shown
  /// status changed (`{"run", "status", "heartbeat"}`), `series` when a series file grew or
  /// appeared (`{"run", "name", "bytes"}`), `log` when the log changed size (`{"run",
  /// "bytes"}`), `runs` when runs were added or removed (`{"archive_total"}`).
  std::vector<Event> poll();

  /// What the watcher knows of one run (internal; declared here for the map below).
  struct Watched;

private:
  /// Adds the run `id` (already resolved to `folder`) with its present state, no event.
  void watch(const std::string& id, const std::filesystem::path& folder, bool requested);
  void check_run(const std::string& id, Watched& run, double now, std::vector<Event>& events);
  void check_archive(std::vector<Event>& events);

  std::filesystem::path m_root;
  std::map<std::string, std::unique_ptr<Watched>> m_runs;
  std::shared_ptr<const ArchiveView> m_view; // the archive as last scanned; null before
  std::chrono::steady_clock::time_point m_archive_checked;
};

} // namespace xrun::ui
