// `xrun watch`: the watcher of a run started from plain python3 (`xrun.start()`), a process of
// its own that holds no Python. The script talks to it over the protocol of `xrun run`'s
// supervisor; the watcher records the run's start, heartbeat, system metrics and end, also
// when the script dies without reporting it.
#pragma once

#include <filesystem>
#include <string>
#include <sys/types.h>
#include <vector>

namespace xrun::run {

struct WatchOptions {
  pid_t pid = 0;                         // the script's process
  std::filesystem::path file;            // the script, archived as the run's code
  int control_in = -1;                   // replies to the script (write end)
  int control_out = -1;                  // its messages (read end)
  int out = -1;                          // its captured stdout (read end), -1: not captured
  int err = -1;                          // its captured stderr, likewise
  int pid_fd = -1;                       // where the watcher's pid is written, then closed
  double system_metrics = 10;            // seconds between samples; 0: none
  std::string tqdm_mode = "smart";       // the log keeps a redrawn line's last state, all, none
  std::vector<std::string> command_line; // the script's, recorded in the meta
};

/// Becomes the watcher: forks a process in a session of its own (the terminal's Ctrl-C and
/// hang-up are the script's, not its), which writes its pid to `pid_fd` and watches the
/// script until it has ended and its run is recorded. The calling process returns 0 at once
/// (the script waits for it and reads the pid). Throws SystemError when it cannot fork.
int watch(const WatchOptions& options);

} // namespace xrun::run
