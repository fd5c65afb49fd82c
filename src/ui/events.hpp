// What changed in an archive since the last look, for the viewer's event stream: the status of
// runs, their series and logs growing, runs added or removed. Pure of any server: a caller
// polls, and gets events to send.
#pragma once

#include "archive/runs.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace xrun::ui {

/// One server-sent event: `event: <type>` and `data: <data_json>`.
struct Event {
  std::string type;      // run, series, log, runs
  std::string data_json; // one line of JSON
};

/// The archive as one scan saw it, shared by every watcher of that archive (ui/events.cpp).
struct ArchiveView;

/// Watches the runs `runs` (ids relative to `root`) and every running run of the archive (an
/// id that names no run is left alone: the server refuses a bad one before).
/// A poll costs a few lstats per watched run (its meta, log, series files and their folders)
/// and, at most every `rescan_every`, one per folder above the archive's runs. The archive is
/// scanned (through its index) only when one of those folders changed, which a run added or
/// removed does, and one scan serves every watcher of the archive in this process.
class ChangeWatcher {
public:
  ChangeWatcher(std::filesystem::path root, std::vector<std::string> runs,
                std::chrono::milliseconds rescan_every = std::chrono::seconds(2));

  /// The changes since the last poll (or the construction, which takes the baseline): `run`
  /// {"run", "status", "heartbeat"} when a run's shown status changed, `series` {"run",
  /// "name", "bytes"} when a series file grew or appeared, `log` {"run", "bytes"} when a log
  /// changed size, `runs` {"archive_total"} when runs were added or removed.
  std::vector<Event> poll();

  /// How many times the archive at `root` was scanned for change watchers in this process
  /// (what tests and benchmarks count: a poll with nothing changed scans nothing).
  static std::size_t scans(const std::filesystem::path& root);

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
    archive::RunSummary summary; // of the meta when last read
    std::string problem;         // why that meta could not be read; empty when it could
    std::string status;          // as shown
    std::chrono::steady_clock::time_point status_checked;
    std::uint64_t log_bytes = 0;
    std::map<std::string, Stamp> folders;        // of .track, by path relative to it ("" itself)
    std::map<std::string, std::uint64_t> series; // bytes by series name
  };

  static Stamp stamp(const std::filesystem::path& path);
  void check_archive(std::vector<Event>* events);
  void follow(const ArchiveView& view);
  void watch(const std::string& id);
  static void read_meta_of(Watched& watched);
  /// Whether the run's meta says running (shown `running` or `lost`): it is watched for that.
  static bool recorded_running(const Watched& watched);
  static std::string shown_status(const Watched& watched, double now);
  void check(const std::string& id, Watched& watched, double now, std::vector<Event>& events);
  void look_into(Watched& watched, const std::string& relative, const std::string& id,
                 std::vector<Event>* events);

  std::filesystem::path m_root;
  std::set<std::string> m_named;
  std::chrono::milliseconds m_rescan_every;
  std::chrono::steady_clock::time_point m_archive_checked;
  std::shared_ptr<const ArchiveView> m_view; // the archive as last scanned; null before
  std::map<std::string, Watched> m_watched;
};

} // namespace xrun::ui
