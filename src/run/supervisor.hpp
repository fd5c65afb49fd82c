// The supervisor of `xrun run`: owns the truth about a run whatever happens to the experiment.
#pragma once

#include "core/protocol.hpp"
#include "util/line_reader.hpp"

#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace xrun::run {

/// A process started elsewhere that the supervisor watches instead of forking one: a script in
/// plain python3 that started a run and, with it, `xrun watch`. Its descriptors are the
/// watcher's to close.
struct AttachedProcess {
  pid_t pid = 0;
  int control_in = -1;  // replies to it (write end)
  int control_out = -1; // its messages (read end)
  int out = -1;         // its stdout, when captured (read end; -1: not captured)
  int err = -1;         // its stderr, likewise
  bool trace = true;    // trace it for its exit status (off: a debugger may attach instead)
};

struct RunRequest {
  std::filesystem::path file;            // the experiment module
  std::string function;                  // `FILE.py:NAME`: the function run; "" for a module
  std::vector<std::string> args;         // `--NAME value` parameter arguments
  std::vector<std::string> command_line; // as typed, recorded in the meta
  std::filesystem::path config;          // the YAML config run, if any
  /// The resolved config (of a config run or a reproduction) for experiment_config.yml, made
  /// from the experiment process's request for its run folder (its base path and parameters).
  std::function<std::string(const core::protocol::PrepareRequest& prepared)> resolved_config;
  /// Runs the experiment in the forked child process, talking to the supervisor over the two
  /// descriptors (control_in: replies from the supervisor, control_out: messages to it);
  /// returns the child's exit code.
  std::function<int(int control_in, int control_out)> child;
  /// Runs the plugins' after_end hooks for the run folder given, in a forked process, when the
  /// experiment process died before it could (killed by a signal); returns its exit code.
  std::function<int(const std::filesystem::path& run_folder, int control_in, int control_out)>
      finisher;
  nlohmann::ordered_json meta_extra = nlohmann::ordered_json::object(); // more meta fields
  /// Called with the run folder once its start is recorded (a sweep keeps it in its manifest).
  std::function<void(const std::filesystem::path& run_folder)> on_folder;
  /// Why a signal interrupts the run, recorded in the meta (`interrupted_by`): replaces the
  /// plain signal name of SIGINT, SIGTERM or SIGHUP, and makes any other signal listed here
  /// interrupt the run as a first Ctrl-C does (a batch system's warning before a time limit).
  std::map<int, std::string> interrupt_reasons;
  /// Set: watch this process instead of forking `child` (`xrun watch`).
  std::optional<AttachedProcess> attached;
  /// Seconds between two samples of the system metrics (`.track/sys/`); 0: none.
  double system_metrics = 10;
  /// What the log keeps of a line redrawn with `\r` (a progress bar): its last state.
  util::CarriageReturn redrawn_lines = util::CarriageReturn::starts_over;
};

/// Runs the experiment in a child process (`request.child`, in a fork of this one) and records
/// it: creates the run folder when the child has resolved its parameters, writes the meta with
/// a heartbeat while the child lives, copies everything the child prints to the terminal and to
/// experiment_out.log, forwards Ctrl-C/SIGTERM (a second Ctrl-C kills) with the first signal's
/// reason kept in the meta (`interrupted_by`: {"signal", "reason"}), and writes the final
/// status from the child's exit, also when the child was killed. Returns the exit code of
/// `xrun run`. The caller has checked that the file exists.
int supervise(const RunRequest& request);

} // namespace xrun::run
