#include "util/process.hpp"

#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>

#include <csignal>
#include <pthread.h>

#include <cerrno>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace xrun::util {

std::optional<std::string> capture_output(const std::vector<std::string>& argv) {
  int out[2];
  if (argv.empty() || ::pipe2(out, O_CLOEXEC) != 0) {
    return std::nullopt;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  std::vector<char*> args;
  for (const auto& arg : argv) {
    args.push_back(const_cast<char*>(arg.c_str()));
  }
  args.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  if (spawned != 0) {
    ::close(out[0]);
    return std::nullopt;
  }
  std::string output;
  char buffer[65536];
  for (;;) {
    const ssize_t got = ::read(out[0], buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got <= 0) {
      break;
    }
    output.append(buffer, static_cast<size_t>(got));
  }
  ::close(out[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return std::nullopt;
  }
  return output;
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
