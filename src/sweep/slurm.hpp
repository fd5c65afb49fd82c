// Sweeps on a Slurm cluster: one job array per submission, a task per variation, each task a
// whole `xrun` run on its node. No process of xrun's stays alive meanwhile: the tasks write
// their run folders, and whoever asks (`xrun sweep status`, on any node of the shared
// filesystem) reads them and joins what Slurm knows.
#pragma once

#include "config/launcher.hpp"
#include "sweep/manifest.hpp"

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace xrun::sweep::slurm {

/// What a sweep asks of Slurm: the launcher settings (config/launcher.hpp).
using Options = config::SlurmOptions;
using config::launcher_keys;

/// `0-3,7,9-12`: row indices as sbatch's --array takes them (ascending, no repeats).
std::string array_ranges(std::vector<int> indices);

/// The indices of an array expression as scontrol shows them (`4`, `5-19%2`, `1,3,5-7`);
/// nullopt for anything else (a list scontrol shortened with `...`).
std::optional<std::vector<int>> parse_array_ranges(const std::string& text);

/// The sbatch command that submits `script` as the job array `array` of the sweep, with the
/// options on the command line (where SBATCH_* variables of the environment do not override
/// them).
std::vector<std::string> submit_command(const Manifest& manifest, const Options& options,
                                        const std::string& array, const std::string& script);

/// The batch script of a submission made by `command`: that command as a comment, and one
/// `xrun sweep task` of the variation whose index is the task's.
std::string batch_script(const Manifest& manifest, const Options& options,
                         const std::filesystem::path& executable,
                         const std::vector<std::string>& command);

/// Whether the row's variation is Slurm's to run still (queued, starting, running, ending).
bool in_slurms_hands(const Row& row);

/// Writes the batch script of the manifest's next submission and submits `rows` as one job
/// array; returns the submission's record ({"job_id", "array", "script", "submitted",
/// "rows"}) without touching the manifest. Throws UsageError with sbatch's own message when
/// sbatch is missing or refuses the job (nothing is left submitted).
nlohmann::json submit(const Manifest& manifest, const Options& options,
                      const std::vector<int>& rows);

/// What Slurm says of one task.
struct TaskState {
  std::string state;  // PENDING, RUNNING, COMPLETED, FAILED, TIMEOUT, CANCELLED, ...
  std::string reason; // why it is pending, or why it ended (None when there is nothing to say)
  int restarts = 0;   // times it was requeued
  std::string exit_code;
};

/// What Slurm knows of the tasks of array job `job_id`: task index -> state. nullopt when Slurm
/// cannot be asked (`why` says so); an empty map when it no longer knows the job.
std::optional<std::map<int, TaskState>> query(const std::string& job_id, std::string& why);

/// Rows brought up to date from their run folders (reconcile) and, for rows submitted to
/// Slurm, from what Slurm knows: queued tasks are `pending` (or `requeued`), started ones
/// without a folder yet `starting`, a run that ended while Slurm still ends its task `ending`,
/// a run with a stale heartbeat whose task goes on `running`; tasks that ended without a run,
/// or whose run's supervisor Slurm has ended, `lost` with the reason in `note`. Returns what
/// could not be asked of Slurm (empty when every job was answered).
std::string observe(Manifest& manifest);

/// Cancels every Slurm job of the sweep with scancel. Throws UsageError with scancel's message.
void cancel(const Manifest& manifest);

/// How often a task warned of its time limit is requeued, at most.
inline constexpr int k_most_requeues = 3;

/// Asks Slurm to requeue this task (SLURM_JOB_ID), so that it runs again from its start.
/// Returns an empty string, or why it could not.
std::string requeue_this_task();

} // namespace xrun::sweep::slurm
