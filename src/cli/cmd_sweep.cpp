#include "cli/commands.hpp"
#include "cli/launch.hpp"
#include "config/config.hpp"
#include "core/diagnostics.hpp"
#include "python/child.hpp"
#include "run/supervisor.hpp"
#include "sweep/manifest.hpp"

#include "sweep/slurm.hpp"
#include "util/color.hpp"
#include "xrun/error.hpp"
#include "xrun/meta.hpp"

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdlib>
#include <fmt/format.h>
#include <iostream>
#include <memory>

namespace xrun::cli {

namespace {

using Json = nlohmann::json;

/// The experiment process as `xrun run` starts it for `request` (see sweep::run_sweep) with a
/// variation's settings: a config's get them among its parameters (so experiment_config.yml
/// holds what ran), a module's after its command-line values.
python::ChildOptions child_for(const Json& request, const Json& settings,
                               std::function<std::string(const Json&)>& resolved) {
  python::ChildOptions child;
  child.file = request.value("file", "");
  child.args = request.value("args", std::vector<std::string>{});
  child.plugins = request.value("plugins", Json::array());
  if (request.contains("config") && request["config"].is_object()) {
    auto config = config::Config::from_json(request["config"]);
    for (const auto& setting : settings) {
      if (setting.value("source", "config") == "config") {
        config.set(config::ParameterSetting::from_json(setting));
      } else {
        child.variation.push_back(setting);
      }
    }
    child.config = config.to_json();
    resolved = resolved_config(config);
  } else {
    child.variation = settings;
  }
  return child;
}

/// Runs one variation as `xrun run` does, under a supervisor in this process.
int run_variation(const Json& request, const Json& settings, const Json& sweep_record,
                  const std::vector<std::string>& command_line, run::RunRequest& run) {
  auto child = child_for(request, settings, run.resolved_config);
  run.file = child.file;
  run.args = child.args;
  run.command_line = command_line;
  run.config = request.value("config_path", "");
  run.meta_extra["sweep"] = nlohmann::ordered_json::parse(sweep_record.dump());
  if (const auto labels = request.find("labels"); labels != request.end() && labels->is_object()) {
    run.meta_extra.update(nlohmann::ordered_json::parse(labels->dump())); // --tag, --note
  }
  return supervise_child(child, run);
}

/// `xrun sweep task FOLDER INDEX [--requeue]`: one array task of a sweep on Slurm, run by its
/// batch script on the task's node. A task warned of its time limit, submitted with
/// `--requeue`, asks Slurm to run it again once its run is recorded as interrupted (at most
/// k_most_requeues times).
int run_task(const std::string& folder, int index, bool requeue) {
  // Slurm's warning may come at any time; outside the supervisor it must not end xrun.
  std::signal(SIGUSR1, SIG_IGN);
  const auto manifest = sweep::Manifest::load(folder);
  const auto row = std::find_if(manifest.rows.begin(), manifest.rows.end(),
                                [index](const sweep::Row& r) { return r.index == index; });
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
  Json record = {{"id", manifest.id}, {"index", index}};
  Json slurm = Json::object();
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
  run::RunRequest run;
  run.interrupt_reasons = {
      {SIGUSR1, "Slurm's warning: the task's time limit is near"},
      {SIGTERM, "SIGTERM from Slurm: the task was cancelled, preempted or out of time"}};
  std::filesystem::path run_folder;
  run.on_folder = [&run_folder](const std::filesystem::path& path) { run_folder = path; };
  const int code = run_variation(manifest.request, row->settings, record, manifest.command_line, run);
  if (requeue && !run_folder.empty()) {
    try {
      const auto meta = read_meta(run_folder);
      const auto by = meta.extra.find("interrupted_by");
      if (meta.status == RunStatus::interrupted && by != meta.extra.end() && by->is_object() &&
          by->value("signal", "") == "SIGUSR1") {
        const char* restarts = std::getenv("SLURM_RESTART_COUNT");
        if (restarts != nullptr && std::atoi(restarts) >= sweep::slurm::k_most_requeues) {
          std::cerr << fmt::format("xrun: variation {} of sweep {} is not requeued again: it "
                                   "ran out of time {} times\n",
                                   index, manifest.id, std::atoi(restarts) + 1);
        } else if (const auto why = sweep::slurm::requeue_this_task(); why.empty()) {
          std::cerr << fmt::format("xrun: variation {} of sweep {} is requeued: it runs again "
                                   "as a new run\n",
                                   index, manifest.id);
        } else {
          core::print_error(fmt::format("cannot requeue the task: {}", why));
        }
      }
    } catch (const Error& failure) {
      core::print_error(failure.what());
    }
  }
  return code;
}

} // namespace

sweep::Launcher python_launcher(const std::vector<std::string>& command_line) {
  sweep::Launcher launcher;
  launcher.plan = [](const Json& request, const Json& variations, int control_out) {
    std::function<std::string(const Json&)> ignored;
    auto child = child_for(request, Json::array(), ignored);
    child.mode = python::ChildMode::plan;
    child.variations = variations;
    child.control_out = control_out;
    return python::run_child(child);
  };
  launcher.run =
      [command_line](const Json& request, const Json& settings, const Json& sweep_record,
                     const std::function<void(const std::filesystem::path&)>& on_folder) {
        run::RunRequest run;
        run.on_folder = on_folder;
        return run_variation(request, settings, sweep_record, command_line, run);
      };
  return launcher;
}

void add_sweep_command(CLI::App& app, Action& action) {
  auto* sweep =
      app.add_subcommand("sweep", "The sweeps of an archive: list, status, resume, cancel");
  sweep->require_subcommand(1);
  struct Settings {
    std::string path = "results";
    std::string id;
    int jobs = 0;
    bool fail_fast = false;
    bool verbose = false;
    Json launcher = Json::object(); // --launcher and Slurm's options
    int index = -1;                 // of `sweep task`
    bool requeue = false;           // of `sweep task`
  };
  const auto settings = std::make_shared<Settings>();
  const auto add_path = [&](CLI::App* command) {
    command->add_option("--path", settings->path, "The archive folder to look for sweeps in")
        ->capture_default_str();
  };
  // A command on one sweep: --path and its id; `load` reads its manifest.
  const auto add_sweep_id = [&](CLI::App* command) {
    add_path(command);
    command->add_option("id", settings->id, "The sweep id (or a unique part of it)")->required();
  };
  const auto load = [](const Settings& given) {
    return sweep::Manifest::load(sweep::resolve_sweep(given.path, given.id));
  };
  auto* list = sweep->add_subcommand("list", "Every sweep under --path: id, progress, state");
  add_path(list);
  list->callback([&action, settings] {
    action = [settings] {
      sweep::print_list(settings->path, std::cout);
      return 0;
    };
  });
  auto* status = sweep->add_subcommand(
      "status", "A sweep's variations and what became of each (read from their run folders)");
  add_sweep_id(status);
  status->callback([&action, settings, load] {
    action = [settings, load] {
      auto manifest = load(*settings);
      sweep::print_status(manifest, std::cout, util::color_enabled(STDOUT_FILENO));
      return 0;
    };
  });
  for (const bool retry : {false, true}) {
    auto* command = sweep->add_subcommand(
        retry ? "retry" : "resume",
        retry ? "Run a sweep's failed, killed, interrupted or lost variations again"
              : "Run what a sweep has not done yet (anything not done), each as a new run");
    add_sweep_id(command);
    command
        ->add_option("-j,--jobs", settings->jobs,
                     "How many variations run at once (default: the number of cores)")
        ->check(CLI::Range(1, 100000));
    command->add_flag("--fail-fast", settings->fail_fast,
                      "Stop at the first variation that fails (default: keep going)");
    command->add_flag("-v,--verbose", settings->verbose,
                      "Show every run's output, each line prefixed by its variation");
    if (retry) {
      command->add_flag("--failed")->description(
          "Only the variations that failed, were killed, interrupted, lost or cancelled (the "
          "default)");
    }
    add_launcher_options(*command, settings->launcher);
    command->callback([&action, settings, retry, load] {
      action = [settings, retry, load] {
        auto manifest = load(*settings);
        sweep::Options options;
        auto given = settings->launcher;
        if (!given.contains("type")) {
          given["type"] = manifest.on_slurm() ? "slurm" : "local"; // where it ran before
        }
        set_launcher(options, Json::object(), given);
        set_local_options(options, settings->jobs, settings->fail_fast, settings->verbose,
                          "resume here with --launcher local");
        return sweep::resume_sweep(manifest, retry, options,
                                   python_launcher(manifest.command_line));
      };
    });
  }
  auto* cancel = sweep->add_subcommand(
      "cancel", "Stop a sweep: cancel its Slurm jobs, or stop its process on this machine");
  add_sweep_id(cancel);
  cancel->callback([&action, settings, load] {
    action = [settings, load] {
      auto manifest = load(*settings);
      return sweep::cancel_sweep(manifest, std::cout);
    };
  });
  // Run by the batch script of a sweep on Slurm, on the task's node; not for people.
  auto* task = sweep->add_subcommand("task", "One Slurm array task of a sweep");
  task->group("");
  task->add_option("folder", settings->id, "The sweep folder")->required();
  task->add_option("index", settings->index, "The variation's index (the array task id)")
      ->required();
  task->add_flag("--requeue", settings->requeue, "Requeue the task when warned of its limit");
  task->callback([&action, settings] {
    action = [settings] { return run_task(settings->id, settings->index, settings->requeue); };
  });
}

} // namespace xrun::cli
