// A sweep's launcher settings: `--launcher slurm` with its options, or a config's `launcher:`
// section. Read and checked here, where configs are read; the sweep layer submits with them.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace xrun::config {

/// What a sweep asks of Slurm: `--launcher slurm` with its options, or a config's `launcher:`
/// section (keys as the JSON names below).
struct SlurmOptions {
  std::string partition;                // --partition
  std::string time;                     // --time, as Slurm writes it (02:00:00, 1-12, 90)
  std::string mem;                      // --mem (8G)
  std::string gpus;                     // --gpus (1, or a100:2)
  int cpus_per_task = 0;                // --cpus-per-task; 0: Slurm's default
  int array_limit = 0;                  // at most this many tasks at once (%K); 0: no limit
  std::vector<std::string> sbatch_args; // passed to sbatch as they are
  bool requeue = false;                 // a task warned of its time limit is requeued
  int signal_before = 120;              // seconds before the time limit that the warning comes

  /// As sbatch takes them: --signal=B:USR1@120, --no-requeue, --partition=gpu, ...
  std::vector<std::string> sbatch_options() const;
  /// {"partition": ..., ...}: the options that are set.
  nlohmann::json to_json() const;
  /// The options of `json` (keys as to_json writes them, plus "type"). Throws UsageError for
  /// an unknown key or a value that does not fit, naming it as `where(key)` says.
  static SlurmOptions from_json(const nlohmann::json& json,
                                const std::function<std::string(const std::string&)>& where);
};

/// The keys a `launcher:` section may have.
const std::vector<std::string>& launcher_keys();

} // namespace xrun::config
