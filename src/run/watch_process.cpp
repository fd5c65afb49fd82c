#include "run/watch_process.hpp"

#include "util/process.hpp"
#include "xrun/error.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fmt/format.h>
#include <poll.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace xrun::run {

WatchedProcess::WatchedProcess(pid_t pid) : m_pid(pid) {
  m_pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (m_pidfd >= 0) {
    return;
  }
  // No pidfds (a kernel before 5.3, a seccomp filter): its end is then seen by polling.
  if (errno == ESRCH || ::kill(pid, 0) != 0) {
    throw SystemError(fmt::format("cannot watch process {}: no such process", pid));
  }
}

WatchedProcess::~WatchedProcess() {
  release();
  if (m_pidfd >= 0) {
    ::close(m_pidfd);
  }
}

std::optional<std::string> WatchedProcess::trace() {
  if (m_traced) {
    return std::nullopt;
  }
  // No options: no events but stops, and the process goes on untraced should this one die.
  if (::ptrace(PTRACE_SEIZE, m_pid, nullptr, nullptr) != 0) {
    return fmt::format("ptrace refused: {}", std::strerror(errno));
  }
  m_traced = true;
  return std::nullopt;
}

void WatchedProcess::release() {
  if (!m_traced) {
    return;
  }
  m_traced = false;
  // Detaching needs the tracee in a ptrace-stop: interrupt it, wait for that stop (passing on
  // any signal that comes first), then detach, leaving a group stop in place.
  if (::ptrace(PTRACE_INTERRUPT, m_pid, nullptr, nullptr) != 0) {
    return; // gone already
  }
  for (;;) {
    int status = 0;
    const pid_t got = ::waitpid(m_pid, &status, __WALL);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got != m_pid || !WIFSTOPPED(status)) {
      return; // ended meanwhile
    }
    const int event = status >> 16;
    const int signal = WSTOPSIG(status);
    if (event == 0) { // a signal on its way: detach passes it on
      ::ptrace(PTRACE_DETACH, m_pid, nullptr, reinterpret_cast<void*>(static_cast<long>(signal)));
      return;
    }
    ::ptrace(PTRACE_DETACH, m_pid, nullptr, nullptr);
    return;
  }
}

namespace {

bool stop_signal(int signal) {
  return signal == SIGSTOP || signal == SIGTSTP || signal == SIGTTIN || signal == SIGTTOU;
}

/// Whether process `pid` has ended, asked without a pidfd: gone, or a zombie its parent has
/// not reaped yet (then still there for kill()).
bool ended_without_pidfd(pid_t pid) {
  return (::kill(pid, 0) != 0 && errno == ESRCH) || util::process_is_zombie(pid);
}

} // namespace

std::optional<int> WatchedProcess::poll() {
  while (m_traced) {
    int status = 0;
    const pid_t got = ::waitpid(m_pid, &status, WNOHANG | __WALL);
    if (got == 0) {
      return std::nullopt;
    }
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      m_traced = false; // no longer ours to wait for: the pidfd tells its end
      break;
    }
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      return status;
    }
    if (!WIFSTOPPED(status)) {
      continue;
    }
    const int event = status >> 16;
    const int signal = WSTOPSIG(status);
    if (event == 0) {
      // A signal about to be delivered: deliver it, as if nobody traced the process.
      ::ptrace(PTRACE_CONT, m_pid, nullptr, reinterpret_cast<void*>(static_cast<long>(signal)));
    } else if (event == PTRACE_EVENT_STOP && stop_signal(signal)) {
      // A group stop (Ctrl-Z, SIGSTOP): the process stays stopped until SIGCONT, as without
      // a tracer, and its parent (the shell) sees it stop.
      ::ptrace(PTRACE_LISTEN, m_pid, nullptr, nullptr);
    } else {
      ::ptrace(PTRACE_CONT, m_pid, nullptr, nullptr);
    }
  }
  if (m_pidfd < 0) {
    return ended_without_pidfd(m_pid) ? std::optional<int>(0) : std::nullopt;
  }
  pollfd ended{m_pidfd, POLLIN, 0};
  if (::poll(&ended, 1, 0) > 0 && (ended.revents & (POLLIN | POLLHUP))) {
    return 0;
  }
  return std::nullopt;
}

} // namespace xrun::run
