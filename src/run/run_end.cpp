#include "run/supervision.hpp"

#include "core/atomic_file.hpp"
#include "core/diagnostics.hpp"
#include "core/run_files.hpp"
#include "util/time.hpp"
#include "xrun/error.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <iostream>
#include <sys/wait.h>

namespace xrun::run {

namespace {

/// The series of a run whose experiment died before reporting them: `.track/<name>.csv`
/// files and `.track/<name>_NNN.png` image series.
std::vector<std::string> tracked_on_disk(const std::filesystem::path& track) {
  std::vector<std::string> names;
  std::error_code error;
  for (std::filesystem::recursive_directory_iterator it(track, error), end; !error && it != end;
       it.increment(error)) {
    const auto relative = it->path().lexically_relative(track);
    auto name = (relative.parent_path() / relative.stem()).generic_string();
    if (relative.extension() == ".png" && name.size() > 4 && name[name.size() - 4] == '_') {
      name.resize(name.size() - 4);
    } else if (relative.extension() != ".csv") {
      continue;
    }
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      names.push_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

} // namespace

int Supervision::finish(int wait_status) {
  if (!m_folder) {
    // The experiment never got a run folder: bad input (already reported by the child),
    // --help-like exits, an interrupt or a crash while loading, or a start that could not be
    // recorded. Nothing was created.
    if (m_watched) {
      return 0; // a script's start() that failed raised its error in the script
    }
    if (!m_start_error.empty()) {
      throw RecordError(
          fmt::format("cannot record the run, so it did not start: {}", m_start_error),
          "nothing was created or left; make room or fix the folder, then run again");
    }
    // A function run that reuses a done run (--cache) ends at once, with no run of its own.
    const auto end =
        end_before_start(wait_status, m_interruption, m_request.file.string(),
                         m_request.function.empty() ? QuietExit::defect : QuietExit::reused_run);
    if (end.say == NoRunEnd::Say::line) {
      std::cerr << "xrun: " << end.message << '\n';
    } else if (end.say == NoRunEnd::Say::error) {
      core::print_error(end.message);
    }
    return end.exit_code;
  }

  if (!m_record_error.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(m_folder->path, ignored);
    for (auto it = m_created_dirs.rbegin(); it != m_created_dirs.rend(); ++it) {
      std::filesystem::remove(*it, ignored);
    }
    throw RecordError(fmt::format("cannot record the run, so it was stopped: {}", m_record_error));
  }

  if (m_phase >= Phase::ended) {
    // Recorded from the experiment's report; what its process did afterwards (the plugins'
    // after_end hooks) does not change how the run ended.
    if (WIFSIGNALED(wait_status) && m_interruption != Interruption::killed) {
      const auto note = fmt::format("xrun: the experiment process was killed by {} after the "
                                    "run had ended",
                                    signal_name(WTERMSIG(wait_status)));
      log_line(note);
      std::cerr << note << '\n';
    }
    return end_run();
  }
  record_end();
  if (m_watched && !m_watched->status_known() && !m_outcome) {
    apply(end_unknown(m_untraced));
  } else {
    apply(end_from_exit(wait_status, m_interruption, reported()));
  }
  return end_run();
}

/// What the experiment reported of its end, as far as the status goes.
Report Supervision::reported() const {
  if (!m_outcome) {
    return {};
  }
  return {.interrupted = m_outcome->interrupted,
          .error_type = m_outcome->error_type,
          .error_message = m_outcome->error_message};
}

/// Puts the run's end into the meta, and its note into the log (and on stderr, if it says so).
void Supervision::apply(const RunEnd& end) {
  m_meta.status = end.status;
  m_meta.exit_code = end.exit_code;
  if (end.signal != 0) {
    m_meta.signal = end.signal;
  }
  m_meta.error_type = end.error_type;
  m_meta.error_message = end.error_message;
  if (!end.note.empty()) {
    log_line(end.note);
    if (end.note_on_stderr) {
      std::cerr << end.note << '\n';
    }
  }
}

/// The end time, errors, series and hooks of the run, from the experiment's report when it
/// made one (its own end: the plugins' after_end hooks after it are not the run's time).
void Supervision::record_end() {
  m_phase = Phase::ended;
  const double now = util::to_epoch_seconds(util::Clock::now());
  const double reported = m_outcome ? m_outcome->end_time : now;
  m_meta.end_time = reported >= m_meta.start_time && reported <= now ? reported : now;
  m_meta.duration = *m_meta.end_time - m_meta.start_time;
  m_meta.heartbeat = *m_meta.end_time;
  if (!m_outcome) { // the experiment's process died before its report: its series are on disk
    m_meta.tracked = tracked_on_disk(m_folder->path / core::k_track_folder);
    return;
  }
  m_meta.tracked = m_outcome->tracked;
  if (m_metrics) { // written by this process, not reported by the experiment
    for (auto& name : m_metrics->series()) {
      if (std::find(m_meta.tracked.begin(), m_meta.tracked.end(), name) == m_meta.tracked.end()) {
        m_meta.tracked.push_back(std::move(name));
      }
    }
  }
  m_meta.hooks = m_outcome->hooks;
  // A signal sent to the experiment process itself, not to xrun.
  if (m_interrupted_by.is_null() && m_outcome->signal) {
    m_interrupted_by = {{"signal", signal_name(*m_outcome->signal)},
                        {"reason", "sent to the experiment process"}};
  }
}

/// The final status as the experiment reported it, written at once: from here on, nothing its
/// process does (a plugin calling os._exit, a kill during the after_end hooks) can change it.
void Supervision::record_outcome() {
  if (m_phase != Phase::running || !m_record_error.empty()) {
    return;
  }
  record_end();
  apply(end_from_report(reported()));
  note_interruption();
  try {
    if (m_watched) {
      // The attached script waits for this record: the rename is synced after its release.
      core::write_file_atomic(m_folder->path / k_meta_file, serialize_meta(m_meta),
                              core::FolderSync::by_caller);
      m_end_unsynced = true;
    } else {
      write_meta(m_folder->path, m_meta);
    }
    m_phase = Phase::recorded;
  } catch (const Error& error) {
    core::print_error(error.what());
  }
}

/// Keeps in the meta why an interrupted run was interrupted.
void Supervision::note_interruption() {
  if (!m_interrupted_by.is_null() &&
      (m_meta.status == RunStatus::interrupted || m_interruption == Interruption::killed)) {
    m_meta.extra["interrupted_by"] = nlohmann::ordered_json::parse(m_interrupted_by.dump());
  }
}

/// Writes the final meta (again: plugin records may have come since) and reports the end.
int Supervision::end_run() {
  note_interruption();
  try {
    write_meta(m_folder->path, m_meta);
  } catch (const Error& error) {
    if (m_phase == Phase::recorded) { // the status is on record; only later plugin records are not
      core::print_warning(error.what());
      std::cerr << fmt::format("xrun: run {} after {:.2f} s: {}\n", to_string(m_meta.status),
                               m_meta.duration, m_folder->path.string());
      return m_meta.exit_code.value_or(1);
    }
    // The run ended, but its end may not be on record (a full disk, say): the folder says
    // `running` (shown as lost), or the new meta was renamed into place but not synced. Either
    // way a script must not take it for done, nor for a run that failed: the exit code of a
    // run that could not be recorded.
    core::print_error(error.what());
    std::cerr << fmt::format("xrun: the run {} after {:.2f} s, but its record could not be "
                             "written; it shows as lost unless its end reached the disk: {}\n",
                             to_string(m_meta.status), m_meta.duration, m_folder->path.string());
    return k_exit_unrecorded;
  }
  if (!m_watched) { // a watcher is silent: the script ended, and the terminal is the user's
    std::cerr << fmt::format("xrun: run {} after {:.2f} s: {}\n", to_string(m_meta.status),
                             m_meta.duration, m_folder->path.string());
  }
  return m_meta.exit_code.value_or(1);
}

} // namespace xrun::run
