// Processes forked without exec: this program, already loaded, running one function.
#pragma once

#include <array>
#include <functional>
#include <string_view>
#include <vector>

#include <sys/types.h>

namespace xrun::core {

/// A pipe whose two descriptors (close-on-exec) are closed with it. Throws ArchiveError when
/// it cannot be made.
class Pipe {
public:
  Pipe();
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  ~Pipe();

  int read_end() const { return m_fds[0]; }
  int write_end() const { return m_fds[1]; }
  void close_read();
  void close_write();
  /// The read end, now the caller's to close.
  int release_read();

private:
  std::array<int, 2> m_fds{-1, -1};
};

/// What the exit code of a forked process is when an exception escapes its body: an xrun
/// Error's own exit code (and its hint printed), or always k_exit_usage.
enum class EscapedError { own_exit_code, usage };

/// Forks a process that runs `body` and ends with the code it returns, never returning here:
/// buffered output is flushed before the fork and before the end, the handlers of this
/// process's `reset_signals` never run in the new one, an escaping exception is printed as
/// `xrun: error:`, and the end is `_exit` (what fork copied of this process is not the new
/// one's to destroy). Returns the new process's id to the caller; throws ArchiveError
/// "cannot start <what>: <why>" when there can be none.
pid_t fork_child(std::string_view what, const std::vector<int>& reset_signals,
                 const std::function<int()>& body,
                 EscapedError escaped = EscapedError::own_exit_code);

/// The exit code a wait status stands for: the process's own, or 128 + N for signal N.
int exit_code_of(int wait_status);

} // namespace xrun::core
