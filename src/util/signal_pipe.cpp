#include "util/signal_pipe.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <system_error>
#include <unistd.h>

namespace xrun::util {

namespace {

int g_pipe[2] = {-1, -1};

void on_signal(int number, siginfo_t* info, void*) {
  const int saved = errno;
  const unsigned char message[2] = {static_cast<unsigned char>(number),
                                    static_cast<unsigned char>(info && info->si_code <= 0)};
  [[maybe_unused]] const auto ignored = ::write(g_pipe[1], message, sizeof message);
  errno = saved;
}

} // namespace

SignalPipe::SignalPipe(std::vector<int> signals) : m_signals(std::move(signals)) {
  if (::pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    throw std::system_error(errno, std::generic_category(), "cannot create a pipe");
  }
  struct sigaction action {};
  action.sa_sigaction = on_signal;
  action.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&action.sa_mask);
  m_saved.resize(m_signals.size());
  for (std::size_t i = 0; i < m_signals.size(); ++i) {
    ::sigaction(m_signals[i], &action, &m_saved[i]);
  }
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, &m_saved_pipe);
}

SignalPipe::~SignalPipe() {
  for (std::size_t i = 0; i < m_signals.size(); ++i) {
    ::sigaction(m_signals[i], &m_saved[i], nullptr);
  }
  ::sigaction(SIGPIPE, &m_saved_pipe, nullptr);
  ::close(g_pipe[0]);
  ::close(g_pipe[1]);
  g_pipe[0] = g_pipe[1] = -1;
}

int SignalPipe::fd() const {
  return g_pipe[0];
}

std::optional<CaughtSignal> SignalPipe::next() {
  unsigned char message[2];
  if (::read(g_pipe[0], message, sizeof message) != sizeof message) {
    return std::nullopt;
  }
  return CaughtSignal{message[0], message[1] != 0};
}

std::vector<int> SignalPipe::descriptors() {
  return {g_pipe[0], g_pipe[1]};
}

BlockedSignals::BlockedSignals(std::initializer_list<int> signals) {
  sigset_t set;
  sigemptyset(&set);
  for (int number : signals) {
    sigaddset(&set, number);
  }
  m_held = ::pthread_sigmask(SIG_BLOCK, &set, &m_previous) == 0;
}

void BlockedSignals::release() {
  if (m_held) {
    m_held = false;
    ::pthread_sigmask(SIG_SETMASK, &m_previous, nullptr);
  }
}

pid_t fork_quietly(const std::vector<int>& reset) {
  sigset_t all;
  sigset_t previous;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &previous);
  const pid_t pid = ::fork();
  const int error = errno;
  if (pid == 0) {
    struct sigaction fallback {};
    fallback.sa_handler = SIG_DFL;
    for (int number : reset) {
      ::sigaction(number, &fallback, nullptr);
    }
  }
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  errno = error;
  return pid;
}

} // namespace xrun::util
