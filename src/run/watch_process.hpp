// A process this one did not start and watches to learn how it ends: a script in plain python3
// that started a run (`xrun watch`). Traced with ptrace where the system allows it (the exit
// status, as waitpid gives a parent), else waited on through a pidfd (the end, not its cause),
// or where there are no pidfds by asking whether it is gone or a zombie at each poll().
#pragma once

#include <optional>
#include <string>
#include <sys/types.h>

namespace xrun::run {

class WatchedProcess {
public:
  /// Watches process `pid` through a pidfd (its end only), or by polling where pidfds are not
  /// supported; throws SystemError when there is no such process.
  explicit WatchedProcess(pid_t pid);
  WatchedProcess(const WatchedProcess&) = delete;
  WatchedProcess& operator=(const WatchedProcess&) = delete;
  ~WatchedProcess();

  /// Traces the process (PTRACE_SEIZE) to learn its exit status; the process has allowed it
  /// (prctl PR_SET_PTRACER). Returns why it could not be traced, nullopt when it is.
  std::optional<std::string> trace();

  /// Lets the traced process go (nothing more to learn); watched by its pidfd only.
  void release();

  /// Handles what happened to the process since the last call: a signal it is sent is
  /// passed on as it would be without a tracer, a stop (Ctrl-Z, SIGSTOP) is kept. Returns its
  /// wait status once it has ended, else nullopt; once ended without a known status
  /// (status_known() false) the status returned means nothing.
  std::optional<int> poll();

  /// Whether the end poll() reports comes with the exit status (traced) or not (pidfd only).
  bool status_known() const { return m_traced; }

  pid_t pid() const { return m_pid; }

private:
  pid_t m_pid;
  int m_pidfd = -1; // -1: no pidfds here, poll() looks at the process instead
  bool m_traced = false;
};

/// The environment variable that keeps xrun from tracing a script (so that a debugger can
/// attach to it; its end is then known without its exit status).
inline constexpr const char* k_no_trace_variable = "XRUN_NO_PTRACE";

} // namespace xrun::run
