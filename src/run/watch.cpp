#include "run/watch.hpp"

#include "run/supervisor.hpp"
#include "run/watch_process.hpp"
#include "util/fs.hpp"
#include "xrun/error.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <set>
#include <string_view>
#include <unistd.h>
#include <vector>

namespace xrun::run {

namespace {

/// Closes every descriptor but the standard three and the script's pipes: the watcher must not
/// keep open what the script's other programs hold (their pipes would never end).
void close_other_descriptors(const WatchOptions& options) {
  const std::set<int> keep{STDIN_FILENO,        STDOUT_FILENO, STDERR_FILENO, options.control_in,
                           options.control_out, options.out,   options.err};
  std::vector<int> open;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    open.push_back(std::atoi(entry.path().filename().c_str()));
  }
  for (const int fd : open) {
    if (keep.count(fd) == 0) {
      ::close(fd); // the directory's own descriptor among them: already closed, harmless
    }
  }
}

int watch_script(const WatchOptions& options) {
  close_other_descriptors(options);
  RunRequest request;
  request.file = options.file;
  request.command_line = options.command_line;
  request.system_metrics = options.system_metrics;
  request.redrawn_lines = options.tqdm_mode == "all"    ? util::CarriageReturn::each_state
                          : options.tqdm_mode == "none" ? util::CarriageReturn::dropped
                                                        : util::CarriageReturn::starts_over;
  const char* no_trace = std::getenv(k_no_trace_variable);
  request.attached = AttachedProcess{.pid = options.pid,
                                     .control_in = options.control_in,
                                     .control_out = options.control_out,
                                     .out = options.out,
                                     .err = options.err,
                                     .trace = no_trace == nullptr || *no_trace == '\0' ||
                                              std::string_view(no_trace) == "0"};
  return supervise(request);
}

} // namespace

int watch(const WatchOptions& options) {
  const pid_t watcher = ::fork();
  if (watcher < 0) {
    throw SystemError(fmt::format("cannot start the watcher: fork: {}", std::strerror(errno)));
  }
  if (watcher > 0) {
    // The script's child, which it waits for: the watcher is then nobody's child but init's
    // (or a subreaper's), and the script's own waits never meet it.
    if (options.pid_fd >= 0) {
      try {
        util::write_all(options.pid_fd, fmt::format("{}\n", watcher), "the watcher's pid pipe");
      } catch (const std::system_error&) {
        // The script is gone; the watcher finds that out itself.
      }
      ::close(options.pid_fd);
    }
    return 0;
  }
  if (options.pid_fd >= 0) {
    ::close(options.pid_fd);
  }
  ::setsid();
  return watch_script(options);
}

} // namespace xrun::run
