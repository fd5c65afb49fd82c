// Starting experiments under a supervisor: one run (`xrun run`, `xrun reproduce`) or the runs of
// a sweep (`xrun run` with a sweep, `xrun sweep resume`, a Slurm task).
#pragma once

#include "config/config.hpp"
#include "python/child.hpp"
#include "run/supervisor.hpp"
#include "sweep/runner.hpp"

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace xrun::cli {

/// Runs `child` (run mode) under a supervisor recording `request`; returns the exit code.
int supervise_child(python::ChildOptions child, run::RunRequest& request);

using ResolvedConfig = decltype(run::RunRequest::resolved_config);

/// RunRequest::resolved_config for a run of `config`: its experiment_config.yml with what ran.
ResolvedConfig resolved_config(config::Config config);

/// Runs one variation of a sweep as `xrun run` does, under a supervisor in this process:
/// `request` as the manifest keeps it (sweep::Request), the variation's `settings`, the meta's
/// `sweep_record`; `run` may carry on_folder and interrupt_reasons. Returns the exit code.
int run_variation(const nlohmann::json& request, const nlohmann::json& settings,
                  const nlohmann::json& sweep_record,
                  const std::vector<std::string>& command_line, run::RunRequest& run);

/// Plans variations and runs one in the embedded interpreter, under a supervisor.
sweep::Launcher python_launcher(const std::vector<std::string>& command_line);

} // namespace xrun::cli
