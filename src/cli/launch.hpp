// Starting experiments under a supervisor: one run (`xrun run`, `xrun reproduce`) or the runs of
// a sweep (`xrun run` with a sweep, `xrun sweep resume`).
#pragma once

#include "config/config.hpp"
#include "python/child.hpp"
#include "run/supervisor.hpp"
#include "sweep/runner.hpp"

#include <CLI/CLI.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace xrun::cli {

/// Runs `child` (run mode) under a supervisor recording `request`; returns the exit code.
int supervise_child(python::ChildOptions child, run::RunRequest& request);

/// RunRequest::resolved_config for a run of `config`: its experiment_config.yml with what ran.
std::function<std::string(const nlohmann::json&)> resolved_config(config::Config config);

/// Plans variations and runs one in the embedded interpreter, under a supervisor.
sweep::Launcher python_launcher(const std::vector<std::string>& command_line);

/// The launcher's flags that take a value (`--launcher`, `--partition`, ...).
std::vector<std::string> launcher_flags();

/// Whether `flag` is one of launcher_flags().
bool is_launcher_flag(const std::string& flag);

/// Keeps `FLAG value` of a launcher flag in `launcher` as its `launcher:` setting
/// (`--sbatch-arg` adds up).
void set_launcher_flag(nlohmann::json& launcher, const std::string& flag,
                       const std::string& value);

/// The launcher's flags (before the file) of `command`, kept in `launcher`.
void add_launcher_options(CLI::App& command, nlohmann::json& launcher);

/// `options.slurm` and its options from a config's `launcher:` settings and those `given` on
/// the command line (which win; `--sbatch-arg`s add to the config's). Throws UsageError for a
/// value that does not fit, or a Slurm option without the Slurm launcher.
void set_launcher(sweep::Options& options, const nlohmann::json& from_config,
                  const nlohmann::json& given);

/// The options of a sweep run here into `options` (after set_launcher): `jobs` workers (0:
/// one a core), `--fail-fast` and `-v`. Given for a sweep Slurm runs, they are refused with
/// `hint` (UsageError).
void set_local_options(sweep::Options& options, int jobs, bool fail_fast, bool verbose,
                       const std::string& hint);

} // namespace xrun::cli
