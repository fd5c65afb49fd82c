// Starting experiments under a supervisor: one run (`xrun run`, `xrun reproduce`) or the runs of
// a sweep (`xrun run` with a sweep, `xrun sweep resume`).
#pragma once

#include "python/child.hpp"
#include "run/supervisor.hpp"
#include "sweep/runner.hpp"

#include <string>
#include <vector>

namespace xrun::cli {

/// Runs `child` (run mode) under a supervisor recording `request`; returns the exit code.
int supervise_child(python::ChildOptions child, run::RunRequest& request);

/// Plans variations and runs one in the embedded interpreter, under a supervisor.
sweep::Launcher python_launcher(const std::vector<std::string>& command_line);

} // namespace xrun::cli
