#include "core/liveness.hpp"

#include "util/host.hpp"
#include "util/process.hpp"

#include <cerrno>
#include <csignal>
#include <limits>
#include <string>
#include <unistd.h>

namespace xrun::core {

Liveness liveness_here(const RecordedProcess& process) {
  static const std::string host = util::host_name();
  static const std::string pids = util::pid_namespace();
  if (process.host != host || process.pid <= 0 ||
      (!process.pid_namespace.empty() && process.pid_namespace != pids)) {
    return Liveness::unknown;
  }
  if (process.pid > std::numeric_limits<pid_t>::max()) {
    return Liveness::gone; // names no process (and cast to pid_t, kill() would mean others)
  }
  if (process.pid == ::getpid() ||
      (::kill(static_cast<pid_t>(process.pid), 0) != 0 && errno != EPERM) ||
      util::process_is_zombie(process.pid)) {
    return Liveness::gone; // a zombie is dead, though nobody (a container's init) reaped it
  }
  // A dead process's pid may have gone to another process since (even another xrun): the
  // recorded one runs xrun (by the program's own name: a link to it that the user named
  // otherwise resolves to it) and had started by `running_by`. What /proc hides (another
  // user's) is taken to be it.
  if (const auto program = util::process_executable(process.pid);
      program && !program->filename().string().starts_with("xrun")) {
    return Liveness::gone;
  }
  const auto started = util::process_start_time(process.pid);
  return !started || process.running_by <= 0 || *started <= process.running_by + 1.0
             ? Liveness::alive
             : Liveness::gone;
}

bool lost_given(Liveness supervisor, double heartbeat, double now) {
  switch (supervisor) {
  case Liveness::alive:
    return false; // perhaps suspended: its heartbeat may be as old as it likes
  case Liveness::gone:
    return true;
  case Liveness::unknown:
    break;
  }
  return now - heartbeat > k_lost_after_seconds;
}

bool is_lost(const RecordedRun& run, double now) {
  return run.status == RunStatus::running &&
         lost_given(liveness_here(run.supervisor), run.heartbeat, now);
}

} // namespace xrun::core
