// Whether a run recorded as `running` is still going: the rule `xrun archive list`, a sweep's
// status, the web viewer and the Python package's RunView all show a run's status by.
#pragma once

#include "xrun/status.hpp"

#include <string_view>

namespace xrun::core {

/// A running run of another host whose heartbeat is older than this is `lost` (its
/// supervisor died). On the supervisor's own host its process tells at once.
inline constexpr double k_lost_after_seconds = 60.0;

/// A process that a record names: a run's supervisor, a sweep's process.
struct RecordedProcess {
  std::string_view host;
  long pid = 0;
  std::string_view pid_namespace; // "" when not recorded (taken to be this process's)
  double running_by = 0;          // a time by which it surely ran; 0 when not known
};

/// Whether a recorded process lives, as far as this machine can tell.
enum class Liveness { alive, gone, unknown };

/// On the process's own host and in its pid namespace: alive when its pid is a live xrun
/// process that started by `running_by` (a pid reused by a later process is gone), else gone.
/// Elsewhere unknown, to be judged by a heartbeat.
Liveness liveness_here(const RecordedProcess& process);

/// What the lost rule reads of a run's meta.
struct RecordedRun {
  RunStatus status = RunStatus::running;
  RecordedProcess supervisor; // its `running_by` is the run's start: it started before the run
  double heartbeat = 0;       // 0 when none was recorded
};

/// Whether a running run whose supervisor is `supervisor` (as liveness_here() found it) and
/// whose last heartbeat is `heartbeat` is lost at `now`. A live supervisor with a stale
/// heartbeat is suspended (Ctrl-Z), not lost.
bool lost_given(Liveness supervisor, double heartbeat, double now);

/// Whether `run` is recorded as `running` and is lost at `now`: its supervisor is gone from
/// this host, or (on another host) its heartbeat is older than k_lost_after_seconds.
bool is_lost(const RecordedRun& run, double now);

} // namespace xrun::core
