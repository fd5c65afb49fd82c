#include "sweep/task.hpp"

#include "core/diagnostics.hpp"
#include "sweep/slurm.hpp"
#include "xrun/error.hpp"
#include "xrun/meta.hpp"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <fmt/format.h>
#include <iostream>
#include <utility>
#include <vector>

namespace xrun::sweep {

namespace {

/// The meta's `sweep` record of a task: the sweep, the row, and what Slurm says of the task.
nlohmann::json task_record(const Manifest& manifest, int index) {
  nlohmann::json record = {{"id", manifest.id}, {"index", index}};
  nlohmann::json slurm = nlohmann::json::object();
  for (const auto& [variable, key] :
       std::vector<std::pair<const char*, const char*>>{{"SLURM_JOB_ID", "job_id"},
                                                        {"SLURM_ARRAY_JOB_ID", "array_job_id"},
                                                        {"SLURM_ARRAY_TASK_ID", "task_id"},
                                                        {"SLURM_RESTART_COUNT", "restarts"},
                                                        {"SLURMD_NODENAME", "node"}}) {
    if (const char* value = std::getenv(variable); value != nullptr && *value != '\0') {
      slurm[key] = value;
    }
  }
  if (!slurm.empty()) {
    record["slurm"] = slurm;
  }
  return record;
}

/// Requeues the task when its run was interrupted by Slurm's time-limit warning, unless it
/// was requeued too often already; says what it did on stderr. Never throws: the run is
/// recorded whatever becomes of the task.
void requeue_if_warned(const Manifest& manifest, int index,
                       const std::filesystem::path& run_folder) {
  try {
    const auto meta = read_meta(run_folder);
    const auto by = meta.extra.find("interrupted_by");
    if (meta.status != RunStatus::interrupted || by == meta.extra.end() || !by->is_object() ||
        by->value("signal", "") != "SIGUSR1") {
      return;
    }
    const char* restarts = std::getenv("SLURM_RESTART_COUNT");
    if (restarts != nullptr && std::atoi(restarts) >= slurm::k_most_requeues) {
      std::cerr << fmt::format("xrun: variation {} of sweep {} is not requeued again: it "
                               "ran out of time {} times\n",
                               index, manifest.id, std::atoi(restarts) + 1);
    } else if (const auto why = slurm::requeue_this_task(); why.empty()) {
      std::cerr << fmt::format("xrun: variation {} of sweep {} is requeued: it runs again "
                               "as a new run\n",
                               index, manifest.id);
    } else {
      core::print_error(fmt::format("cannot requeue the task: {}", why));
    }
  } catch (const Error& failure) {
    core::print_error(failure.what());
  }
}

} // namespace

int run_task(const std::filesystem::path& folder, int index, bool requeue, const TaskRunner& run) {
  // Slurm's warning may come at any time; outside the supervisor it must not end xrun.
  std::signal(SIGUSR1, SIG_IGN);
  const auto manifest = Manifest::load(folder);
  const auto row = std::find_if(manifest.rows.begin(), manifest.rows.end(),
                                [index](const Row& r) { return r.index == index; });
  if (row == manifest.rows.end()) {
    throw UsageError(fmt::format("sweep {} has no variation with index {}", manifest.id, index));
  }
  std::error_code error;
  if (!manifest.working_directory.empty()) {
    std::filesystem::current_path(manifest.working_directory, error);
    if (error) {
      throw UsageError(fmt::format("sweep {} runs in {}, which this node cannot enter: {}",
                                   manifest.id, manifest.working_directory, error.message()));
    }
  }
  std::filesystem::path run_folder;
  const TaskRun task{
      manifest,
      *row,
      task_record(manifest, index),
      {{SIGUSR1, "Slurm's warning: the task's time limit is near"},
       {SIGTERM, "SIGTERM from Slurm: the task was cancelled, preempted or out of time"}},
      [&run_folder](const std::filesystem::path& path) { run_folder = path; }};
  const int code = run(task);
  if (requeue && !run_folder.empty()) {
    requeue_if_warned(manifest, index, run_folder);
  }
  return code;
}

} // namespace xrun::sweep
