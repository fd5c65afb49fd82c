// `xrun sweep list|status|resume|retry|cancel`, and `task`, run by a sweep's Slurm batch script.
#include "cli/commands.hpp"
#include "cli/launch.hpp"
#include "cli/launcher_options.hpp"
#include "sweep/manifest.hpp"
#include "sweep/task.hpp"
#include "util/color.hpp"

#include <CLI/CLI.hpp>
#include <functional>
#include <iostream>
#include <memory>
#include <unistd.h>

namespace xrun::cli {

namespace {

using Json = nlohmann::json;

struct SweepArgs {
  std::string path = "results";
  std::string id;
  int jobs = 0;
  bool fail_fast = false;
  bool verbose = false;
  Json launcher = Json::object(); // --launcher and Slurm's options
  int index = -1;                 // of `sweep task`
  bool requeue = false;           // of `sweep task`

  sweep::Manifest load() const { return sweep::Manifest::load(sweep::resolve_sweep(path, id)); }
};

void add_path(CLI::App& command, SweepArgs& args) {
  command.add_option("--path", args.path, "The archive folder to look for sweeps in")
      ->capture_default_str();
}

/// A command on one sweep: --path and its id.
void add_sweep_id(CLI::App& command, SweepArgs& args) {
  add_path(command, args);
  command.add_option("id", args.id, "The sweep id (or a unique part of it)")->required();
}

/// A subcommand on one sweep (--path and its id) that does `work` with its manifest.
void add_on_one_sweep(CLI::App& group, Action& action, const std::shared_ptr<SweepArgs>& args,
                      const char* name, const char* description,
                      std::function<int(sweep::Manifest&)> work) {
  auto* command = group.add_subcommand(name, description);
  add_sweep_id(*command, *args);
  command->callback([&action, args, work] {
    action = [args, work] {
      auto manifest = args->load();
      return work(manifest);
    };
  });
}

void add_list_and_status(CLI::App& group, Action& action, const std::shared_ptr<SweepArgs>& args) {
  auto* list = group.add_subcommand("list", "Every sweep under --path: id, progress, state");
  add_path(*list, *args);
  list->callback([&action, args] {
    action = [args] {
      sweep::print_list(args->path, std::cout);
      return 0;
    };
  });
  add_on_one_sweep(group, action, args, "status",
                   "A sweep's variations and what became of each (read from their run folders)",
                   [](sweep::Manifest& manifest) {
                     sweep::print_status(manifest, std::cout,
                                         util::color_enabled(STDOUT_FILENO));
                     return 0;
                   });
}

/// What runs again: every variation not done (`resume`), or those that failed (`retry`).
enum class Again { not_done, failed };

/// Resumes or retries the sweep of `args`, where it ran unless told otherwise.
int resume(const SweepArgs& args, Again again) {
  auto manifest = args.load();
  sweep::Options options;
  auto given = args.launcher;
  if (!given.contains("type")) {
    given["type"] = manifest.on_slurm() ? "slurm" : "local"; // where it ran before
  }
  set_launcher(options, Json::object(), given);
  set_local_options(options, args.jobs, args.fail_fast, args.verbose,
                    "resume here with --launcher local");
  return sweep::resume_sweep(manifest, again == Again::failed, options,
                             python_launcher(manifest.command_line));
}

void add_resume(CLI::App& group, Action& action, const std::shared_ptr<SweepArgs>& args,
                Again again) {
  const bool retry = again == Again::failed;
  auto* command = group.add_subcommand(
      retry ? "retry" : "resume",
      retry ? "Run a sweep's failed, killed, interrupted or lost variations again"
            : "Run what a sweep has not done yet (anything not done), each as a new run");
  add_sweep_id(*command, *args);
  command
      ->add_option("-j,--jobs", args->jobs,
                   "How many variations run at once (default: the number of cores)")
      ->check(CLI::Range(1, 100000));
  command->add_flag("--fail-fast", args->fail_fast,
                    "Stop at the first variation that fails (default: keep going)");
  command->add_flag("-v,--verbose", args->verbose,
                    "Show every run's output, each line prefixed by its variation");
  if (retry) {
    command->add_flag("--failed")
        ->description(
            "Only the variations that failed, were killed, interrupted, lost or cancelled (the "
            "default)");
  }
  add_launcher_options(*command, args->launcher);
  command->callback(
      [&action, args, again] { action = [args, again] { return resume(*args, again); }; });
}

/// The run of a Slurm task's variation, as `xrun run` would start it here.
int run_task_variation(const sweep::TaskRun& task) {
  run::RunRequest run;
  run.interrupt_reasons = task.interrupt_reasons;
  run.on_folder = task.on_folder;
  return run_variation(task.manifest.request, task.row.settings, task.sweep_record,
                       task.manifest.command_line, run);
}

void add_cancel_and_task(CLI::App& group, Action& action, const std::shared_ptr<SweepArgs>& args) {
  add_on_one_sweep(group, action, args, "cancel",
                   "Stop a sweep: cancel its Slurm jobs, or stop its process on this machine",
                   [](sweep::Manifest& manifest) { return sweep::cancel_sweep(manifest, std::cout); });
  // Run by the batch script of a sweep on Slurm, on the task's node; not for people.
  auto* task = group.add_subcommand("task", "One Slurm array task of a sweep");
  task->group("");
  task->add_option("folder", args->id, "The sweep folder")->required();
  task->add_option("index", args->index, "The variation's index (the array task id)")->required();
  task->add_flag("--requeue", args->requeue, "Requeue the task when warned of its limit");
  task->callback([&action, args] {
    action = [args] {
      return sweep::run_task(args->id, args->index, args->requeue, run_task_variation);
    };
  });
}

} // namespace

void add_sweep_command(CLI::App& app, Action& action) {
  auto* group =
      app.add_subcommand("sweep", "The sweeps of an archive: list, status, resume, cancel");
  group->require_subcommand(1);
  const auto args = std::make_shared<SweepArgs>();
  add_list_and_status(*group, action, args);
  add_resume(*group, action, args, Again::not_done);
  add_resume(*group, action, args, Again::failed);
  add_cancel_and_task(*group, action, args);
}

} // namespace xrun::cli
