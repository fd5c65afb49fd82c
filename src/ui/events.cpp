#include "ui/events.hpp"

#include "archive/index.hpp"
#include "core/run_files.hpp"
#include "util/time.hpp"
#include "xrun/error.hpp"
#include "xrun/meta.hpp"

#include <algorithm>
#include <dirent.h>
#include <fcntl.h>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sys/stat.h>
#include <system_error>

namespace xrun::ui {

namespace {

using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

constexpr std::string_view k_series_extension = ".csv";
/// A folder whose time is this close to now may still change within the same time stamp.
constexpr std::int64_t k_recent_ns = 2'000'000'000;
/// Whether a running run's supervisor lives is asked at most this often.
constexpr auto k_status_interval = std::chrono::seconds(1);
/// Folders above the runs are followed this deep at most.
constexpr int k_most_folder_depth = 32;

Event event(std::string type, const json& data) {
  return {std::move(type), data.dump(-1, ' ', false, json::error_handler_t::replace)};
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(util::Clock::now().time_since_epoch())
      .count();
}

/// A folder as lstat tells it: adding or removing an entry changes its time.
struct FolderStamp {
  std::uint64_t inode = 0;
  std::int64_t modified_ns = 0;
  bool operator==(const FolderStamp&) const = default;
};

std::optional<FolderStamp> folder_stamp(const std::filesystem::path& folder) {
  struct stat info {};
  if (::lstat(folder.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
    return std::nullopt;
  }
  return FolderStamp{static_cast<std::uint64_t>(info.st_ino),
                     std::int64_t{info.st_mtim.tv_sec} * 1'000'000'000 + info.st_mtim.tv_nsec};
}

/// The names of the sub-folders of `folder` that a scan looks into (not those starting with
/// '.', nor links), sorted; nullopt when it cannot be read.
std::optional<std::vector<std::string>> sub_folders(const std::filesystem::path& folder) {
  DIR* dir = ::opendir(folder.c_str());
  if (dir == nullptr) {
    return std::nullopt;
  }
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') {
      continue;
    }
    struct stat info {};
    if (entry->d_type == DT_DIR ||
        (entry->d_type == DT_UNKNOWN &&
         ::fstatat(::dirfd(dir), entry->d_name, &info, AT_SYMLINK_NOFOLLOW) == 0 &&
         S_ISDIR(info.st_mode))) {
      names.emplace_back(entry->d_name);
    }
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

} // namespace

/// What a folder whose time is not trusted counts as.
enum class Unsure { changed, unchanged };

/// The archive as one scan saw it, and the folders whose change would tell that it is no
/// longer so. Never changed once made: watchers of the archive share it.
struct ArchiveView {
  std::vector<std::string> ids;     // every run, sorted
  std::vector<std::string> running; // the runs whose meta says running
  /// The root's sub-folders before the scan. The root is compared by these, not by its time,
  /// which every write of the archive's index changes.
  std::optional<std::vector<std::string>> top;
  /// Every other folder above runs (namespaces and the folders between), with its stamp after
  /// the scan; nullopt when it changed so shortly before that a later change in the same
  /// clock tick would not show (it counts as changed, as the index treats such times).
  std::vector<std::pair<std::filesystem::path, std::optional<FolderStamp>>> folders;

  bool holds(const std::string& id) const { return std::binary_search(ids.begin(), ids.end(), id); }

  /// Whether a folder above the runs changed since the scan: a run added or removed. A folder
  /// whose time was not trusted counts as changed unless `unsure` says otherwise.
  bool changed(const std::filesystem::path& root, Unsure unsure = Unsure::changed) const {
    if (sub_folders(root) != top) {
      return true;
    }
    return std::any_of(folders.begin(), folders.end(), [&](const auto& folder) {
      if (!folder.second) {
        return unsure == Unsure::changed;
      }
      return folder_stamp(folder.first) != folder.second;
    });
  }
};

namespace {

/// Adds `relative` (a folder under `root` that is not a run) and the folders below it that are
/// not runs either to `view`.
void add_folders(const std::filesystem::path& root, const std::string& relative,
                 std::int64_t scan_started_ns, int depth, ArchiveView& view) {
  if (view.holds(relative)) {
    return; // a run: what happens inside it is no change of the archive's runs
  }
  const auto folder = root / relative;
  auto stamp = folder_stamp(folder);
  if (stamp && stamp->modified_ns >= scan_started_ns - k_recent_ns) {
    stamp.reset();
  }
  view.folders.emplace_back(folder, stamp);
  if (depth >= k_most_folder_depth) {
    return;
  }
  for (const auto& name : sub_folders(folder).value_or(std::vector<std::string>())) {
    add_folders(root, relative + "/" + name, scan_started_ns, depth + 1, view);
  }
}

std::shared_ptr<const ArchiveView> scan(const std::filesystem::path& root) {
  auto view = std::make_shared<ArchiveView>();
  const auto started = now_ns();
  view->top = sub_folders(root); // before the scan: a folder made since then differs
  for (const auto& run : archive::scan_archive(root)) {
    view->ids.emplace_back(run.relative());
    if (run.readable() && run.summary.status == RunStatus::running) {
      view->running.emplace_back(run.relative());
    }
  }
  std::sort(view->ids.begin(), view->ids.end());
  for (const auto& name : view->top.value_or(std::vector<std::string>())) {
    add_folders(root, name, started, 1, *view);
  }
  return view;
}

/// The views kept of each archive (by root) and how many scans made them.
struct SharedViews {
  std::mutex mutex;
  std::map<std::string, std::shared_ptr<const ArchiveView>> kept;
  std::map<std::string, std::size_t> scans;
};

SharedViews& shared_views() {
  static SharedViews views;
  return views;
}

/// The archive at `root` as it is: the view kept for it when that is newer than `stale` (the
/// caller's, in which a folder changed) and none of its folders changed since, else a new
/// scan. One scan at a time: a watcher that needs one while another scans waits and takes
/// it. A folder of the kept view whose time is not trusted does not make a new scan here:
/// the caller's next look at the folders, then of that view, does. Throws ArchiveError when
/// `root` is not a folder.
std::shared_ptr<const ArchiveView> current_view(const std::filesystem::path& root,
                                                const ArchiveView* stale) {
  auto& views = shared_views();
  const std::lock_guard lock(views.mutex);
  auto& kept = views.kept[root.string()];
  if (kept && kept.get() != stale && !kept->changed(root, Unsure::unchanged)) {
    return kept;
  }
  kept = scan(root);
  ++views.scans[root.string()];
  return kept;
}

} // namespace

ChangeWatcher::ChangeWatcher(std::filesystem::path root, std::vector<std::string> runs,
                             std::chrono::milliseconds rescan_every)
    : m_root(std::move(root)), m_named(runs.begin(), runs.end()), m_rescan_every(rescan_every) {
  // The baseline: a change made between the construction and the first poll is reported.
  check_archive(nullptr);
}

std::vector<Event> ChangeWatcher::poll() {
  std::vector<Event> events;
  const double now = util::to_epoch_seconds(util::Clock::now());
  // The runs watched already first: a run that ended since is reported, and then let go
  // unless it was asked for.
  for (auto it = m_watched.begin(); it != m_watched.end();) {
    check(it->first, it->second, now, events);
    if (recorded_running(it->second) || m_named.contains(it->first)) {
      ++it;
    } else {
      it = m_watched.erase(it);
    }
  }
  if (SteadyClock::now() - m_archive_checked >= m_rescan_every) {
    check_archive(&events);
  }
  return events;
}

std::size_t ChangeWatcher::scans(const std::filesystem::path& root) {
  auto& views = shared_views();
  const std::lock_guard lock(views.mutex);
  const auto found = views.scans.find(root.string());
  return found == views.scans.end() ? 0 : found->second;
}

void ChangeWatcher::check_archive(std::vector<Event>* events) {
  m_archive_checked = SteadyClock::now();
  std::shared_ptr<const ArchiveView> view;
  try {
    if (m_view && !m_view->changed(m_root)) {
      return;
    }
    view = current_view(m_root, m_view.get());
  } catch (const Error&) {
    return; // the archive folder is gone or unreadable for now: nothing to compare
  }
  if (view == m_view) {
    return;
  }
  const bool others = m_view ? view->ids != m_view->ids : !view->ids.empty();
  if (events != nullptr && others) {
    events->push_back(event("runs", {{"archive_total", view->ids.size()}}));
  }
  follow(*view);
  m_view = std::move(view);
}

void ChangeWatcher::follow(const ArchiveView& view) {
  std::erase_if(m_watched, [&](const auto& watched) { return !view.holds(watched.first); });
  for (const auto& id : view.running) {
    if (!m_watched.contains(id)) {
      watch(id);
    }
  }
  for (const auto& id : m_named) {
    if (!m_watched.contains(id) && view.holds(id)) {
      watch(id);
    }
  }
}

void ChangeWatcher::watch(const std::string& id) {
  Watched watched;
  watched.folder = m_root / id;
  watched.meta = stamp(watched.folder / k_meta_file);
  read_meta_of(watched);
  watched.status = shown_status(watched, util::to_epoch_seconds(util::Clock::now()));
  watched.status_checked = SteadyClock::now();
  watched.log_bytes = stamp(watched.folder / core::k_log_file).size;
  look_into(watched, "", id, nullptr);
  m_watched.insert_or_assign(id, std::move(watched));
}

void ChangeWatcher::read_meta_of(Watched& watched) {
  // The meta alone: what Run::load reads besides (data, summary) says nothing of status.
  watched.problem.clear();
  try {
    watched.summary = archive::RunSummary::of(read_meta(watched.folder));
  } catch (const Error& problem) {
    watched.summary = {};
    watched.problem = problem.what();
  }
}

bool ChangeWatcher::recorded_running(const Watched& watched) {
  return watched.problem.empty() && watched.summary.status == RunStatus::running;
}

std::string ChangeWatcher::shown_status(const Watched& watched, double now) {
  archive::Run run;
  run.path = watched.folder.string();
  run.summary = watched.summary;
  run.problem = watched.problem;
  return run.status(now);
}

ChangeWatcher::Stamp ChangeWatcher::stamp(const std::filesystem::path& path) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) {
    return {};
  }
  return {static_cast<std::uint64_t>(info.st_ino), static_cast<std::uint64_t>(info.st_size),
          std::int64_t{info.st_mtim.tv_sec} * 1000000000 + info.st_mtim.tv_nsec, true};
}

void ChangeWatcher::check(const std::string& id, Watched& watched, double now,
                          std::vector<Event>& events) {
  // A supervisor that died leaves its meta as it was: only asking again says `lost`.
  const auto meta = stamp(watched.folder / k_meta_file);
  const bool rewritten = meta != watched.meta;
  if (rewritten || (recorded_running(watched) &&
                    SteadyClock::now() - watched.status_checked >= k_status_interval)) {
    if (rewritten) {
      watched.meta = meta;
      read_meta_of(watched);
    }
    auto status = shown_status(watched, now);
    watched.status_checked = SteadyClock::now();
    if (status != watched.status) {
      watched.status = std::move(status);
      events.push_back(event(
          "run",
          {{"run", id}, {"status", watched.status}, {"heartbeat", watched.summary.heartbeat}}));
    }
  }
  if (const auto log = stamp(watched.folder / core::k_log_file).size; log != watched.log_bytes) {
    watched.log_bytes = log;
    events.push_back(event("log", {{"run", id}, {"bytes", log}}));
  }
  // A new series file changes the time of its folder; only then is the folder listed.
  const auto track = watched.folder / core::k_track_folder;
  std::vector<std::string> changed;
  for (const auto& [relative, seen] : watched.folders) {
    if (stamp(relative.empty() ? track : track / relative) != seen) {
      changed.push_back(relative);
    }
  }
  if (watched.folders.empty()) {
    changed.emplace_back(); // .track may appear after the run started
  }
  for (const auto& relative : changed) {
    look_into(watched, relative, id, &events);
  }
  for (auto it = watched.series.begin(); it != watched.series.end();) {
    const auto file = stamp(track / (it->first + std::string(k_series_extension)));
    if (!file.exists) {
      it = watched.series.erase(it);
      continue;
    }
    if (file.size != it->second) {
      it->second = file.size;
      events.push_back(event("series", {{"run", id}, {"name", it->first}, {"bytes", file.size}}));
    }
    ++it;
  }
}

void ChangeWatcher::look_into(Watched& watched, const std::string& relative, const std::string& id,
                              std::vector<Event>* events) {
  const auto track = watched.folder / core::k_track_folder;
  const auto folder = relative.empty() ? track : track / relative;
  const auto seen = stamp(folder);
  struct stat info {};
  if (!seen.exists || ::lstat(folder.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
    watched.folders.erase(relative);
    return;
  }
  // A file made in the same clock tick as this look would leave the folder's time as seen:
  // a folder changed this recently is listed again at the next poll.
  auto kept = seen;
  if (now_ns() - seen.modified_ns < k_recent_ns) {
    kept.modified_ns = -1;
  }
  watched.folders[relative] = kept;
  std::error_code error;
  for (std::filesystem::directory_iterator it(folder, error), end; !error && it != end;
       it.increment(error)) {
    const auto kind = it->symlink_status(error).type();
    const auto name = it->path().filename().string();
    const auto inside = relative.empty() ? name : relative + "/" + name;
    if (kind == std::filesystem::file_type::directory) {
      if (!watched.folders.contains(inside)) {
        look_into(watched, inside, id, events);
      }
    } else if (kind == std::filesystem::file_type::regular && name.ends_with(k_series_extension)) {
      const auto series = inside.substr(0, inside.size() - k_series_extension.size());
      if (!watched.series.contains(series)) {
        const auto bytes = it->file_size(error);
        watched.series[series] = bytes;
        if (events != nullptr) {
          events->push_back(event("series", {{"run", id}, {"name", series}, {"bytes", bytes}}));
        }
      }
    }
  }
}

} // namespace xrun::ui
