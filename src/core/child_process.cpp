#include "core/child_process.hpp"

#include "core/diagnostics.hpp"
#include "util/signal_pipe.hpp"
#include "xrun/error.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <iostream>
#include <sys/wait.h>
#include <unistd.h>

namespace xrun::core {

namespace {

void close_fd(int& fd) {
  if (fd >= 0) {
    ::close(fd);
    fd = -1;
  }
}

void flush_output() {
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
}

} // namespace

Pipe::Pipe() {
  if (::pipe2(m_fds.data(), O_CLOEXEC) != 0) {
    throw SystemError(fmt::format("cannot create a pipe: {}", std::strerror(errno)));
  }
}

Pipe::~Pipe() {
  close_read();
  close_write();
}

void Pipe::close_read() {
  close_fd(m_fds[0]);
}

void Pipe::close_write() {
  close_fd(m_fds[1]);
}

int Pipe::release_read() {
  const int fd = m_fds[0];
  m_fds[0] = -1;
  return fd;
}

pid_t fork_child(std::string_view what, const std::vector<int>& reset_signals,
                 const std::function<int()>& body, EscapedError escaped) {
  // Output still buffered here would otherwise be written twice, by both processes.
  flush_output();
  const pid_t pid = util::fork_quietly(reset_signals);
  if (pid < 0) {
    throw SystemError(fmt::format("cannot start {}: {}", what, std::strerror(errno)));
  }
  if (pid > 0) {
    return pid;
  }
  int code = 127;
  try {
    code = body();
  } catch (const Error& error) {
    if (escaped == EscapedError::own_exit_code) {
      print_error(error.what(), error.hint());
      code = error.exit_code();
    } else {
      print_error(error.what());
      code = k_exit_usage;
    }
  } catch (const std::exception& error) {
    print_error(error.what());
    code = k_exit_usage;
  }
  flush_output();
  // Not exit(): the objects of the process this one was forked from are not its to destroy.
  ::_exit(code);
}

int exit_code_of(int wait_status) {
  return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
}

} // namespace xrun::core
