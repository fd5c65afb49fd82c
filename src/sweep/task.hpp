// One task of a sweep's Slurm job array (`xrun sweep task FOLDER INDEX`), run by the job's
// batch script on the task's node: its variation's run, recorded with the task's Slurm facts,
// and what happens when Slurm warns that the task's time is nearly up.
#pragma once

#include "sweep/manifest.hpp"

#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace xrun::sweep {

/// What a task asks of the run of its variation.
struct TaskRun {
  const Manifest& manifest;
  const Row& row;
  nlohmann::json sweep_record; // the meta's `sweep`: {"id", "index", "slurm": {"job_id", ...}}
  std::map<int, std::string> interrupt_reasons;                // why Slurm's signals end the run
  std::function<void(const std::filesystem::path&)> on_folder; // the run folder, once it exists
};

/// Starts the run of a task (as `xrun run` does, in this process) and returns its exit code.
using TaskRunner = std::function<int(const TaskRun& task)>;

/// Runs the variation `index` of the sweep in `folder` through `run`, in the folder the sweep
/// was started in. With `requeue`, a run interrupted by Slurm's time-limit warning (SIGUSR1)
/// has the task requeued, so that the variation runs again as a new run (at most
/// slurm::k_most_requeues times). Returns the run's exit code. Throws UsageError for an index
/// the sweep does not have or a folder this node cannot enter, ArchiveError for the manifest.
int run_task(const std::filesystem::path& folder, int index, bool requeue, const TaskRunner& run);

} // namespace xrun::sweep
