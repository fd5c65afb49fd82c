#include "ui/events.hpp"

#include "archive/index.hpp"
#include "archive/runs.hpp"
#include "core/run_files.hpp"
#include "util/time.hpp"
#include "xrun/error.hpp"
#include "xrun/meta.hpp"

#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <system_error>

namespace xrun::ui {

namespace {

using nlohmann::json;

constexpr std::string_view k_series_extension = ".csv";
/// A folder whose time is this close to now may still change within the same time stamp.
constexpr std::int64_t k_recent_ns = 2'000'000'000;

Event event(std::string type, const json& data) {
  return {std::move(type), data.dump(-1, ' ', false, json::error_handler_t::replace)};
}

} // namespace

ChangeWatcher::ChangeWatcher(std::filesystem::path root, std::vector<std::string> runs,
                             std::chrono::milliseconds rescan_every)
    : m_root(std::move(root)), m_named(runs.begin(), runs.end()), m_rescan_every(rescan_every) {
  // The baseline: a change made between the construction and the first poll is reported.
  std::vector<Event> none;
  m_last_scan = std::chrono::steady_clock::now();
  rescan(util::to_epoch_seconds(util::Clock::now()), none);
  m_started = true;
}

std::vector<Event> ChangeWatcher::poll() {
  std::vector<Event> events;
  const double now = util::to_epoch_seconds(util::Clock::now());
  // The runs watched already first: a run that ended since is reported before a rescan stops
  // watching it.
  for (auto& [id, watched] : m_watched) {
    check(id, watched, now, events);
  }
  const auto tick = std::chrono::steady_clock::now();
  if (tick - m_last_scan >= m_rescan_every) {
    m_last_scan = tick;
    rescan(now, events);
  }
  return events;
}

ChangeWatcher::Stamp ChangeWatcher::stamp(const std::filesystem::path& path) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) {
    return {};
  }
  return {static_cast<std::uint64_t>(info.st_ino), static_cast<std::uint64_t>(info.st_size),
          std::int64_t{info.st_mtim.tv_sec} * 1000000000 + info.st_mtim.tv_nsec, true};
}

void ChangeWatcher::rescan(double now, std::vector<Event>& events) {
  std::vector<archive::Run> runs;
  try {
    runs = archive::scan_archive(m_root);
  } catch (const Error&) {
    return; // the archive folder is gone or unreadable for now: nothing to compare
  }
  std::set<std::string> ids;
  for (auto& run : runs) {
    std::string id(run.relative());
    ids.insert(id);
    const bool running = run.readable() && run.summary.status == RunStatus::running;
    const auto found = m_watched.find(id);
    if (!m_named.contains(id) && !running) {
      if (found != m_watched.end()) {
        m_watched.erase(found); // it ended, which its meta's change reported
      }
      continue;
    }
    // A supervisor that died leaves its meta as it was: only a new look says `lost`.
    auto status = run.status(now);
    if (found == m_watched.end()) {
      watch(id, std::move(status), run.summary.heartbeat);
    } else if (status != found->second.status) {
      found->second.status = status;
      found->second.heartbeat = run.summary.heartbeat;
      events.push_back(
          event("run", {{"run", id}, {"status", status}, {"heartbeat", run.summary.heartbeat}}));
    }
  }
  std::erase_if(m_watched, [&](const auto& watched) { return !ids.contains(watched.first); });
  if (m_started && ids != m_runs) {
    events.push_back(event("runs", {{"archive_total", ids.size()}}));
  }
  m_runs = std::move(ids);
}

void ChangeWatcher::watch(const std::string& id, std::string status, double heartbeat) {
  Watched watched;
  watched.folder = m_root / id;
  watched.meta = stamp(watched.folder / k_meta_file);
  watched.status = std::move(status);
  watched.heartbeat = heartbeat;
  watched.log_bytes = stamp(watched.folder / core::k_log_file).size;
  look_into(watched, "", id, nullptr);
  m_watched.insert_or_assign(id, std::move(watched));
}

void ChangeWatcher::check(const std::string& id, Watched& watched, double now,
                          std::vector<Event>& events) {
  if (const auto meta = stamp(watched.folder / k_meta_file); meta != watched.meta) {
    watched.meta = meta;
    // The meta alone: what Run::load reads besides (data, summary) says nothing of status.
    archive::Run run;
    run.path = watched.folder.string();
    try {
      run.summary = archive::RunSummary::of(read_meta(watched.folder));
    } catch (const Error& problem) {
      run.problem = problem.what();
    }
    auto status = run.status(now);
    watched.heartbeat = run.summary.heartbeat;
    if (status != watched.status) {
      watched.status = std::move(status);
      events.push_back(event(
          "run", {{"run", id}, {"status", watched.status}, {"heartbeat", watched.heartbeat}}));
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
  const auto now =
      std::chrono::duration_cast<std::chrono::nanoseconds>(util::Clock::now().time_since_epoch())
          .count();
  auto kept = seen;
  if (now - seen.modified_ns < k_recent_ns) {
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
