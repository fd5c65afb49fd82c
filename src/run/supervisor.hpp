// The supervisor of `xrun run`: owns the truth about a run whatever happens to the experiment.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace xrun::run {

struct RunRequest {
  std::filesystem::path file;            // the experiment module
  std::vector<std::string> args;         // `--NAME value` parameter arguments
  std::vector<std::string> command_line; // as typed, recorded in the meta
};

/// Runs the experiment in a child process (this binary's hidden `__child` command) and records
/// it: creates the run folder when the child has resolved its parameters, writes the meta with
/// a heartbeat while the child lives, copies everything the child prints to the terminal and to
/// experiment_out.log, forwards Ctrl-C/SIGTERM (a second Ctrl-C kills), and writes the final
/// status from the child's exit, also when the child was killed. Returns the exit code of
/// `xrun run`. Throws UsageError for a missing or unusable file (nothing created).
int supervise(const RunRequest& request);

} // namespace xrun::run
