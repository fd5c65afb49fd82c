// Where a sweep's variations run: the launcher's flags (`--launcher slurm`, `--partition`, ...)
// and how they combine with a config's `launcher:` section.
#pragma once

#include "sweep/runner.hpp"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace xrun::cli {

/// One of the launcher's flags.
struct LauncherFlag {
  std::string name;        // --partition
  std::string key;         // the `launcher:` setting it gives: partition
  bool takes_value = true; // else a switch, set to true (--requeue)
  std::string description;
};

/// The launcher's flags, in the order help lists them.
const std::vector<LauncherFlag>& launcher_flags();

/// Keeps `flag` (with its `value`; a switch takes none) in `launcher` as its `launcher:`
/// setting (`--sbatch-arg` adds up).
void set_launcher_flag(nlohmann::json& launcher, const std::string& flag,
                       const std::string& value = {});

/// Declares `flag` on `command` (before its file), in the Slurm group, kept in `launcher`.
void add_launcher_option(CLI::App& command, const LauncherFlag& flag, nlohmann::json& launcher);

/// Every launcher flag on `command`, kept in `launcher`.
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
