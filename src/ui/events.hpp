// What changed in an archive since the last look, for the viewer's event stream: the status of
// runs, their series and logs growing, runs added or removed. Pure of any server: a caller
// polls, and gets events to send.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace xrun::ui {

/// One server-sent event: `event: <type>` and `data: <data_json>`.
struct Event {
  std::string type;      // run, series, log, runs
  std::string data_json; // one line of JSON
};

/// Watches the runs `runs` (ids relative to `root`) and every running run of the archive (an
/// id that names no run is left alone: the server refuses a bad one before).
/// Each poll() costs a stat of each watched file (meta, log, series, their folders); the
/// archive is scanned (through its index) at most every `rescan_every`.
class ChangeWatcher {
public:
  ChangeWatcher(std::filesystem::path root, std::vector<std::string> runs,
                std::chrono::milliseconds rescan_every = std::chrono::seconds(2));

  /// The changes since the last poll (or the construction, which takes the baseline): `run`
  /// {"run", "status", "heartbeat"} when a run's shown status changed, `series` {"run",
  /// "name", "bytes"} when a series file grew or appeared, `log` {"run", "bytes"} when a log
  /// changed size, `runs` {"archive_total"} when runs were added or removed.
  std::vector<Event> poll();

private:
  /// What a file or folder looked like at the last poll.
  struct Stamp {
    std::uint64_t inode = 0;
    std::uint64_t size = 0;
    std::int64_t modified_ns = 0;
    bool exists = false;
    bool operator==(const Stamp&) const = default;
  };
  struct Watched {
    std::filesystem::path folder;
    Stamp meta;
    std::string status;
    double heartbeat = 0;
    std::uint64_t log_bytes = 0;
    std::map<std::string, Stamp> folders;        // of .track, by path relative to it ("" itself)
    std::map<std::string, std::uint64_t> series; // bytes by series name
  };

  static Stamp stamp(const std::filesystem::path& path);
  void rescan(double now, std::vector<Event>& events);
  void watch(const std::string& id, std::string status, double heartbeat);
  void check(const std::string& id, Watched& watched, double now, std::vector<Event>& events);
  void look_into(Watched& watched, const std::string& relative, const std::string& id,
                 std::vector<Event>* events);

  std::filesystem::path m_root;
  std::set<std::string> m_named;
  std::chrono::milliseconds m_rescan_every;
  std::chrono::steady_clock::time_point m_last_scan;
  bool m_started = false;
  std::set<std::string> m_runs; // every run of the archive at the last scan
  std::map<std::string, Watched> m_watched;
};

} // namespace xrun::ui
