// The watcher's echo of a script's output to its console (`xrun watch`): a console that does
// not keep up (a paused pager, a slow pipe) must not hold up the watcher's loop, which passes
// the traced script's signals on; what it cannot take is dropped there, never from the log.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace xrun::run {

class ConsoleEcho {
public:
  /// Echoes to descriptor `fd` (the watcher's stdout or stderr) without blocking where it can
  /// (a pipe, a terminal, a socket); a file is written as it is (it does not block long).
  explicit ConsoleEcho(int fd);
  ConsoleEcho(const ConsoleEcho&) = delete;
  ConsoleEcho& operator=(const ConsoleEcho&) = delete;
  ~ConsoleEcho();

  /// Writes what the console takes now and keeps the rest, up to a bound beyond which the
  /// console is told that output was left out.
  void write(std::string_view data);
  /// Writes more of what is kept (the console can take some: poll said so).
  void flush();
  /// The descriptor to wait on for room (POLLOUT) while output is kept, else -1.
  int waiting_fd() const { return m_pending.empty() ? -1 : m_fd; }
  /// At the end: writes what is kept, waiting for the console to take it.
  void finish();

private:
  std::size_t write_now(std::string_view data);

  int m_original;
  int m_fd;
  bool m_own = false;    // m_fd is a description of its own, opened non-blocking
  bool m_socket = false; // sent with MSG_DONTWAIT instead
  bool m_gone = false;   // the console is gone: nothing more is echoed
  bool m_dropping = false;
  std::string m_pending;
};

} // namespace xrun::run
