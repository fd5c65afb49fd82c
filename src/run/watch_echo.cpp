#include "run/watch_echo.hpp"

#include "util/fs.hpp"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace xrun::run {

namespace {

// What is kept for a console that does not keep up, beyond what its pipe or terminal holds.
constexpr std::size_t k_kept_limit = 1 << 20;
constexpr std::string_view k_dropped_note =
    "\n[xrun: output left out here, the console did not keep up; the run's log has it all]\n";

} // namespace

ConsoleEcho::ConsoleEcho(int fd) : m_original(fd), m_fd(fd) {
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    m_gone = true;
    return;
  }
  if (S_ISSOCK(info.st_mode)) {
    m_socket = true;
  } else if (S_ISFIFO(info.st_mode) || S_ISCHR(info.st_mode)) {
    // O_NONBLOCK on the descriptor itself would change it for every process sharing it (the
    // shell): a description of its own is opened instead.
    const int own = ::open(fmt::format("/proc/self/fd/{}", fd).c_str(),
                           O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (own >= 0) {
      m_fd = own;
      m_own = true;
    }
  }
}

ConsoleEcho::~ConsoleEcho() {
  if (m_own) {
    ::close(m_fd);
  }
}

std::size_t ConsoleEcho::write_now(std::string_view data) {
  std::size_t written = 0;
  while (written < data.size()) {
    const auto rest = data.substr(written);
    const ssize_t n = m_socket ? ::send(m_fd, rest.data(), rest.size(), MSG_DONTWAIT | MSG_NOSIGNAL)
                               : ::write(m_fd, rest.data(), rest.size());
    if (n > 0) {
      written += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    } else {
      // The console went away (a closed ssh session): the log and the run go on.
      m_gone = true;
      m_pending.clear();
      return data.size();
    }
  }
  return written;
}

void ConsoleEcho::write(std::string_view data) {
  if (m_gone) {
    return;
  }
  if (m_pending.empty()) {
    data.remove_prefix(write_now(data));
    m_dropping = false;
  }
  const auto kept = std::min(data.size(), k_kept_limit - std::min(k_kept_limit, m_pending.size()));
  m_pending.append(data.substr(0, kept));
  if (kept < data.size() && !m_dropping) {
    m_dropping = true;
    m_pending.append(k_dropped_note);
  }
}

void ConsoleEcho::flush() {
  if (!m_gone && !m_pending.empty()) {
    m_pending.erase(0, write_now(m_pending));
  }
}

void ConsoleEcho::finish() {
  if (m_gone || m_pending.empty()) {
    return;
  }
  try {
    util::write_all(m_original, m_pending, "the terminal");
  } catch (const std::system_error&) {
    // Gone meanwhile: nothing to do.
  }
  m_pending.clear();
}

} // namespace xrun::run
