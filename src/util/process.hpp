// Running short helper programs.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace xrun::util {

/// What a helper program did: whether it started, its exit code (128 + N when killed by signal
/// N) and what it printed.
struct ProgramResult {
  bool started = false;
  int exit_code = -1;
  std::string out;
  std::string err;

  bool ok() const { return started && exit_code == 0; }
};

/// Runs `argv` (looked up on PATH) with stdin on /dev/null, and collects its output.
ProgramResult run_program(const std::vector<std::string>& argv);

/// Runs `argv` (looked up on PATH) with stdin on /dev/null and returns what it printed on
/// stdout when it exits with 0; nullopt when it cannot start or fails.
std::optional<std::string> capture_output(const std::vector<std::string>& argv);

/// When process `pid` started, in seconds since the epoch (to within a second: the kernel
/// counts from the boot time, which it gives in whole seconds); nullopt when that cannot be
/// read (no such process, /proc hidden).
std::optional<double> process_start_time(long pid);

/// Whether process `pid` has ended and waits to be reaped (a zombie: its parent, or an init
/// that does not reap, has not waited for it yet), or is being reaped (dead).
bool process_is_zombie(long pid);

/// The program process `pid` runs (/proc/PID/exe, links resolved); nullopt when that cannot
/// be read (no such process, another user's).
std::optional<std::filesystem::path> process_executable(long pid);

/// Whether `name` is an executable file in a folder of PATH.
bool on_path(const std::string& name);

/// The nearest folder at or above `start` that holds `name` (a file or folder), if any.
std::optional<std::filesystem::path> find_upwards(const std::filesystem::path& start,
                                                  const std::string& name);

/// Starts `body` on a new thread with every signal blocked, so that signals sent to the
/// process (Ctrl-C, SIGTERM) are handled by a thread that has them unblocked: the main thread,
/// where a sleeping Python must be woken by them.
std::thread start_thread_without_signals(std::function<void()> body);

/// In a process forked without exec: closes every descriptor marked close-on-exec, as exec
/// would have, so that what the parent opened for itself does not reach the new program.
void close_exec_descriptors();

} // namespace xrun::util
