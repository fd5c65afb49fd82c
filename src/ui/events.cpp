#include "ui/events.hpp"

#include "archive/runs.hpp"
#include "core/run_files.hpp"
#include "ui/run_ref.hpp"
#include "util/time.hpp"
#include "xrun/meta.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace xrun::ui {

namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

/// Folders above the runs are looked at no more often than this, and a scan is shared for as
/// long.
constexpr auto k_archive_interval = std::chrono::seconds(2);
/// A running run's supervisor is asked whether it lives at most this often.
constexpr auto k_liveness_interval = std::chrono::seconds(1);
/// A run's `.track` folder is walked this deep, and this many series at most.
constexpr int k_most_series_depth = 8;
constexpr std::size_t k_most_series = 2000;

/// A file's modification time and size as lstat tells them (a link is not followed); nullopt
/// when there is nothing of that name.
struct Stamp {
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
  std::int64_t size = 0;
  bool regular = false;

  bool operator==(const Stamp&) const = default;
};

/// A stamp no file has: a folder whose time cannot be trusted is kept with it.
constexpr Stamp k_unknown{-1, -1, -1, false};

std::optional<Stamp> stamp_of(const std::filesystem::path& path) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) {
    return std::nullopt;
  }
  const auto ns = [](const timespec& time) {
    return std::int64_t{time.tv_sec} * 1'000'000'000 + time.tv_nsec;
  };
  return Stamp{ns(info.st_mtim), ns(info.st_ctim), info.st_size, S_ISREG(info.st_mode)};
}

double epoch_now() {
  return util::to_epoch_seconds(util::Clock::now());
}

/// Every tracked series under `folder` (a run's `.track`) with its file's size, never
/// following a link.
void find_series(int fd, const std::string& prefix, int depth,
                 std::map<std::string, std::int64_t>& series) {
  DIR* dir = ::fdopendir(::dup(fd));
  if (!dir) {
    return;
  }
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') {
      names.emplace_back(entry->d_name);
    }
  }
  ::closedir(dir);
  for (const auto& name : names) {
    if (series.size() >= k_most_series) {
      return;
    }
    struct stat info {};
    if (::fstatat(fd, name.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0) {
      continue;
    }
    if (S_ISREG(info.st_mode) && name.size() > 4 && name.ends_with(".csv")) {
      series[prefix + name.substr(0, name.size() - 4)] = info.st_size;
    } else if (S_ISDIR(info.st_mode) && depth < k_most_series_depth) {
      const int child = ::openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (child >= 0) {
        find_series(child, prefix + name + "/", depth + 1, series);
        ::close(child);
      }
    }
  }
}

std::map<std::string, std::int64_t> series_sizes(const std::filesystem::path& folder) {
  std::map<std::string, std::int64_t> series;
  const int fd = ::open((folder / core::k_track_folder).c_str(),
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) {
    find_series(fd, "", 0, series);
    ::close(fd);
  }
  return series;
}

std::int64_t log_size(const std::filesystem::path& folder) {
  const auto stamp = stamp_of(folder / core::k_log_file);
  return stamp && stamp->regular ? stamp->size : -1;
}

} // namespace

/// The archive as one scan saw it: what the watchers of the archive share.
struct ArchiveView {
  std::size_t total = 0;
  std::vector<std::string> running; // ids of the runs shown `running`
  /// The folders that hold runs, or folders that do, down from the root, with their stamps
  /// when scanned: a run added or removed changes one of them.
  std::vector<std::pair<std::filesystem::path, std::optional<Stamp>>> folders;
  Clock::time_point when;
};

namespace {

/// The view of `root`, scanned again when the kept one is older than k_archive_interval or
/// `stale` (one of its folders changed since). Shared by every watcher of the archive.
std::shared_ptr<const ArchiveView> archive_view(const std::filesystem::path& root,
                                                const ArchiveView* stale) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const ArchiveView>> views;
  const std::lock_guard lock(mutex);
  auto& kept = views[root.string()];
  if (kept && kept.get() != stale && Clock::now() - kept->when < k_archive_interval) {
    return kept;
  }
  auto view = std::make_shared<ArchiveView>();
  const double started = epoch_now();
  auto runs = archive::find_runs(root);
  const double now = epoch_now();
  std::set<std::string> folders{""};
  for (auto& run : runs) {
    std::string_view relative = run.relative();
    if (run.status(now) == "running") {
      view->running.emplace_back(relative);
    }
    for (auto slash = relative.rfind('/'); slash != std::string_view::npos;
         slash = relative.rfind('/')) {
      relative = relative.substr(0, slash);
      if (!folders.emplace(relative).second) {
        break; // its parents are in already
      }
    }
  }
  view->total = runs.size();
  for (const auto& folder : folders) {
    const auto path = folder.empty() ? root : root / folder;
    auto stamp = stamp_of(path);
    // A folder changed during the scan, or so shortly before that a change in the same clock
    // tick would not show, may hold what the scan missed: it counts as changed at the next
    // look (as the index treats such times).
    if (stamp && static_cast<double>(stamp->mtime_ns) / 1e9 >= started - 2.0) {
      stamp = k_unknown;
    }
    view->folders.emplace_back(path, stamp);
  }
  view->when = Clock::now();
  kept = std::move(view);
  return kept;
}

/// Whether a folder of `view` changed since it was scanned (a run added or removed).
bool folders_changed(const ArchiveView& view) {
  for (const auto& [path, stamp] : view.folders) {
    if (stamp_of(path) != stamp) {
      return true;
    }
  }
  return false;
}

} // namespace

struct ChangeWatcher::Watched {
  std::filesystem::path folder;
  bool requested = false;    // named by the client: watched as long as the stream lasts
  std::optional<Stamp> meta; // of experiment_meta.json when last read
  std::optional<archive::RunSummary> summary; // nullopt: corrupt
  std::string status;                         // shown
  Clock::time_point liveness_checked;
  std::int64_t log = -1;
  std::map<std::string, std::int64_t> series;
};

namespace {

/// The shown status of a run from its summary: `lost` for a running one whose supervisor is
/// gone (or silent too long).
std::string shown_status(const std::optional<archive::RunSummary>& summary, double now) {
  if (!summary) {
    return "corrupt";
  }
  if (archive::is_lost(*summary, now)) {
    return "lost";
  }
  return std::string(to_string(summary->status));
}

void read_meta_of(ChangeWatcher::Watched& run, double now) {
  run.meta = stamp_of(run.folder / k_meta_file);
  const auto loaded = archive::Run::load(run.folder);
  run.summary = loaded.readable() ? std::optional(loaded.summary) : std::nullopt;
  run.status = shown_status(run.summary, now);
  run.liveness_checked = Clock::now();
}

} // namespace

ChangeWatcher::ChangeWatcher(std::filesystem::path root, std::vector<std::string> runs)
    : m_root(std::move(root)) {
  for (const auto& id : runs) {
    Response refusal;
    if (const auto folder = resolve_run(m_root, id, refusal)) {
      watch(id, *folder, true);
    }
  }
}

ChangeWatcher::ChangeWatcher(ChangeWatcher&&) noexcept = default;
ChangeWatcher& ChangeWatcher::operator=(ChangeWatcher&&) noexcept = default;
ChangeWatcher::~ChangeWatcher() = default;

void ChangeWatcher::watch(const std::string& id, const std::filesystem::path& folder,
                          bool requested) {
  auto& run = m_runs[id];
  if (run) {
    run->requested = run->requested || requested;
    return;
  }
  run = std::make_unique<Watched>();
  run->folder = folder;
  run->requested = requested;
  read_meta_of(*run, epoch_now());
  run->log = log_size(folder);
  run->series = series_sizes(folder);
}

std::vector<Event> ChangeWatcher::poll() {
  std::vector<Event> events;
  check_archive(events);
  const double now = epoch_now();
  for (auto it = m_runs.begin(); it != m_runs.end();) {
    check_run(it->first, *it->second, now, events);
    // A run watched only because it ran is let go once it no longer does; a deleted one too.
    if ((!it->second->requested && it->second->status != "running") || it->second->status.empty()) {
      it = m_runs.erase(it);
    } else {
      ++it;
    }
  }
  return events;
}

void ChangeWatcher::check_run(const std::string& id, Watched& run, double now,
                              std::vector<Event>& events) {
  const auto before = run.status;
  if (const auto meta = stamp_of(run.folder / k_meta_file); meta != run.meta) {
    if (!meta) {
      run.status.clear(); // the run was deleted: the `runs` event tells
      return;
    }
    read_meta_of(run, now);
  } else if (run.status == "running" &&
             Clock::now() - run.liveness_checked >= k_liveness_interval) {
    run.status = shown_status(run.summary, now);
    run.liveness_checked = Clock::now();
  }
  if (run.status != before) {
    events.push_back(
        {"run", Json{{"run", id},
                     {"status", run.status},
                     {"heartbeat", run.summary ? Json(run.summary->heartbeat) : Json(nullptr)}}
                    .dump(-1, ' ', false, Json::error_handler_t::replace)});
  }
  for (const auto& [name, bytes] : series_sizes(run.folder)) {
    auto known = run.series.find(name);
    if (known == run.series.end() || known->second < bytes) {
      events.push_back({"series", Json{{"run", id}, {"name", name}, {"bytes", bytes}}.dump(
                                      -1, ' ', false, Json::error_handler_t::replace)});
    }
    run.series[name] = bytes;
  }
  const auto log = log_size(run.folder);
  if (log >= 0 && log != run.log) {
    events.push_back({"log", Json{{"run", id}, {"bytes", log}}.dump(
                                 -1, ' ', false, Json::error_handler_t::replace)});
  }
  run.log = log;
}

void ChangeWatcher::check_archive(std::vector<Event>& events) {
  const auto now = Clock::now();
  if (m_view && now - m_archive_checked < k_archive_interval) {
    return;
  }
  m_archive_checked = now;
  std::shared_ptr<const ArchiveView> view;
  try {
    if (!m_view) {
      view = archive_view(m_root, nullptr);
    } else if (folders_changed(*m_view)) {
      view = archive_view(m_root, m_view.get());
    } else {
      return;
    }
  } catch (const std::exception&) {
    return; // the archive cannot be read just now: the next check tries again
  }
  if (m_view && view->total != m_view->total) {
    events.push_back({"runs", Json{{"archive_total", view->total}}.dump()});
  }
  for (const auto& id : view->running) {
    Response refusal;
    if (const auto folder = resolve_run(m_root, id, refusal)) {
      watch(id, *folder, false);
    }
  }
  m_view = std::move(view);
}

} // namespace xrun::ui
