// Signals turned into bytes on a pipe, for a poll loop (one SignalPipe in a process at a time).
#pragma once

#include <initializer_list>
#include <optional>
#include <vector>

#include <csignal>
#include <sys/types.h>

namespace xrun::util {

struct CaughtSignal {
  int number = 0;
  bool sent_by_process = false; // kill() from a process, rather than the terminal or the kernel
};

/// Installs handlers for `signals` for its lifetime (SIGPIPE ignored); each signal caught is
/// written to a non-blocking pipe whose read end `fd()` a poll loop watches.
class SignalPipe {
public:
  explicit SignalPipe(std::vector<int> signals);
  SignalPipe(std::initializer_list<int> signals) : SignalPipe(std::vector<int>(signals)) {}
  SignalPipe(const SignalPipe&) = delete;
  SignalPipe& operator=(const SignalPipe&) = delete;
  ~SignalPipe();

  int fd() const;
  /// The next signal caught, if any.
  std::optional<CaughtSignal> next();
  /// The pipe's two descriptors, for a forked process to close.
  static std::vector<int> descriptors();

private:
  std::vector<int> m_signals;
  std::vector<struct sigaction> m_saved;
  struct sigaction m_saved_pipe {};
};

/// Holds `signals` blocked in the calling thread from construction until release() (or the
/// end of its life): one that arrives meanwhile waits, and is handled when they are unblocked.
class BlockedSignals {
public:
  explicit BlockedSignals(std::initializer_list<int> signals);
  BlockedSignals(const BlockedSignals&) = delete;
  BlockedSignals& operator=(const BlockedSignals&) = delete;
  ~BlockedSignals() { release(); }
  void release();

private:
  sigset_t m_previous{};
  bool m_held = false;
};

/// fork() with every signal blocked across it, so that no handler of this process runs in the
/// child: there, the `reset` signals get their default action before the mask is restored.
/// Returns fork()'s result (with errno on failure).
pid_t fork_quietly(const std::vector<int>& reset);

} // namespace xrun::util
