#include "util/process.hpp"

#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>

#include <csignal>
#include <pthread.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <sstream>
#include <poll.h>
#include <spawn.h>
#include <string_view>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace xrun::util {

ProgramResult run_program(const std::vector<std::string>& argv) {
  ProgramResult result;
  int out[2];
  int err[2];
  if (argv.empty() || ::pipe2(out, O_CLOEXEC) != 0) {
    return result;
  }
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    return result;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
  std::vector<char*> args;
  for (const auto& arg : argv) {
    args.push_back(const_cast<char*>(arg.c_str()));
  }
  args.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  ::close(err[1]);
  if (spawned != 0) {
    ::close(out[0]);
    ::close(err[0]);
    result.err = std::strerror(spawned);
    return result;
  }
  result.started = true;
  std::array<pollfd, 2> fds{{{out[0], POLLIN, 0}, {err[0], POLLIN, 0}}};
  std::array<std::string*, 2> sinks{&result.out, &result.err};
  char buffer[65536];
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      break;
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
        continue;
      }
      const ssize_t got = ::read(fds[i].fd, buffer, sizeof buffer);
      if (got < 0 && errno == EINTR) {
        continue;
      }
      if (got <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        continue;
      }
      sinks[i]->append(buffer, static_cast<size_t>(got));
    }
  }
  for (const auto& entry : fds) {
    if (entry.fd >= 0) {
      ::close(entry.fd);
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::optional<std::string> capture_output(const std::vector<std::string>& argv) {
  auto result = run_program(argv);
  if (!result.ok()) {
    return std::nullopt;
  }
  return std::move(result.out);
}

bool process_is_zombie(long pid) {
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  std::string text;
  if (!std::getline(stat, text) || text.rfind(')') == std::string::npos) {
    return false;
  }
  // The state is the first field after the name in parentheses (which may hold anything).
  const auto state = text.find_first_not_of(' ', text.rfind(')') + 1);
  return state != std::string::npos && (text[state] == 'Z' || text[state] == 'X');
}

std::optional<double> process_start_time(long pid) {
  static const std::optional<double> boot = [] {
    std::ifstream stat("/proc/stat");
    for (std::string word; stat >> word;) {
      if (word == "btime") {
        double seconds = 0;
        stat >> seconds;
        return std::optional(seconds);
      }
    }
    return std::optional<double>();
  }();
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  std::string text;
  if (!boot || !std::getline(stat, text) || text.rfind(')') == std::string::npos) {
    return std::nullopt;
  }
  // After the name in parentheses (which may hold anything): field 3 (the state) onwards;
  // field 22 is the start time in clock ticks since boot.
  std::istringstream fields(text.substr(text.rfind(')') + 1));
  std::string field;
  for (int number = 3; number <= 22 && fields >> field; ++number) {
    if (number == 22) {
      char* end = nullptr;
      const double ticks = std::strtod(field.c_str(), &end);
      return end != field.c_str() ? std::optional(*boot + ticks / static_cast<double>(
                                                              ::sysconf(_SC_CLK_TCK)))
                                  : std::nullopt;
    }
  }
  return std::nullopt;
}

std::optional<std::filesystem::path> process_executable(long pid) {
  std::error_code error;
  auto program = std::filesystem::read_symlink(fmt::format("/proc/{}/exe", pid), error);
  return error ? std::nullopt : std::optional(std::move(program));
}

bool on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string_view folders = path ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!folders.empty()) {
    const auto colon = folders.find(':');
    const auto folder = folders.substr(0, colon);
    const auto candidate = std::filesystem::path(folder.empty() ? "." : folder) / name;
    if (::access(candidate.c_str(), X_OK) == 0) {
      return true;
    }
    folders = colon == std::string_view::npos ? std::string_view() : folders.substr(colon + 1);
  }
  return false;
}

std::optional<std::filesystem::path> find_upwards(const std::filesystem::path& start,
                                                  const std::string& name) {
  std::error_code error;
  auto dir = std::filesystem::absolute(start, error);
  if (error) {
    return std::nullopt;
  }
  for (;;) {
    if (std::filesystem::exists(dir / name, error)) {
      return dir;
    }
    if (!dir.has_parent_path() || dir.parent_path() == dir) {
      return std::nullopt;
    }
    dir = dir.parent_path();
  }
}

std::thread start_thread_without_signals(std::function<void()> body) {
  sigset_t all;
  sigset_t previous;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &previous); // the new thread inherits this mask
  try {
    std::thread thread(std::move(body));
    ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    return thread;
  } catch (...) {
    ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    throw;
  }
}

void close_exec_descriptors() {
  DIR* folder = ::opendir("/proc/self/fd");
  if (folder == nullptr) {
    return;
  }
  const int own = ::dirfd(folder);
  std::vector<int> marked;
  while (const dirent* entry = ::readdir(folder)) {
    const int fd = std::atoi(entry->d_name);
    if (fd > 2 && fd != own && (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0) {
      marked.push_back(fd);
    }
  }
  ::closedir(folder);
  for (const int fd : marked) {
    ::close(fd);
  }
}

} // namespace xrun::util
