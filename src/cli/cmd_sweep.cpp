#include "cli/commands.hpp"
#include "cli/launch.hpp"
#include "config/config.hpp"
#include "python/child.hpp"
#include "run/supervisor.hpp"
#include "sweep/manifest.hpp"

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <thread>

namespace xrun::cli {

namespace {

using Json = nlohmann::json;

/// The experiment process as `xrun run` starts it for `request` (see sweep::run_sweep) with a
/// variation's settings: a config's get them among its parameters (so experiment_config.yml
/// holds what ran), a module's after its command-line values.
python::ChildOptions child_for(const Json& request, const Json& settings,
                               std::string& resolved_config) {
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
    resolved_config = config.resolved_yaml();
  } else {
    child.variation = settings;
  }
  return child;
}

} // namespace

sweep::Launcher python_launcher(const std::vector<std::string>& command_line) {
  sweep::Launcher launcher;
  launcher.plan = [](const Json& request, const Json& variations, int control_out) {
    std::string ignored;
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
        auto child = child_for(request, settings, run.resolved_config);
        run.file = child.file;
        run.args = child.args;
        run.command_line = command_line;
        run.config = request.value("config_path", "");
        run.meta_extra["sweep"] = nlohmann::ordered_json::parse(sweep_record.dump());
        run.on_folder = on_folder;
        return supervise_child(child, run);
      };
  return launcher;
}

void add_sweep_command(CLI::App& app, Action& action) {
  auto* sweep = app.add_subcommand("sweep", "The sweeps of an archive: list, status, resume");
  sweep->require_subcommand(1);
  struct Settings {
    std::string path = "results";
    std::string id;
    int jobs = 0;
    bool fail_fast = false;
    bool verbose = false;
  };
  const auto settings = std::make_shared<Settings>();
  const auto add_path = [&](CLI::App* command) {
    command->add_option("--path", settings->path, "The archive folder to look for sweeps in")
        ->capture_default_str();
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
  add_path(status);
  status->add_option("id", settings->id, "The sweep id (or a unique part of it)")->required();
  status->callback([&action, settings] {
    action = [settings] {
      auto manifest = sweep::Manifest::load(sweep::resolve_sweep(settings->path, settings->id));
      sweep::print_status(manifest, std::cout);
      return 0;
    };
  });
  for (const bool retry : {false, true}) {
    auto* command = sweep->add_subcommand(
        retry ? "retry" : "resume",
        retry ? "Run a sweep's failed, killed, interrupted or lost variations again"
              : "Run what a sweep has not done yet (anything not done), each as a new run");
    add_path(command);
    command->add_option("id", settings->id, "The sweep id (or a unique part of it)")->required();
    command
        ->add_option("-j,--jobs", settings->jobs,
                     "How many variations run at once (default: the number of cores)")
        ->check(CLI::Range(1, 100000));
    command->add_flag("--fail-fast", settings->fail_fast,
                      "Stop at the first variation that fails (default: keep going)");
    command->add_flag("-v,--verbose", settings->verbose,
                      "Show every run's output, each line prefixed by its variation");
    if (retry) {
      command->add_flag("--failed")->description("Only the variations that failed (the default)");
    }
    command->callback([&action, settings, retry] {
      action = [settings, retry] {
        auto manifest = sweep::Manifest::load(sweep::resolve_sweep(settings->path, settings->id));
        sweep::Options options;
        options.jobs = settings->jobs > 0
                           ? settings->jobs
                           : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
        options.fail_fast = settings->fail_fast;
        options.verbose = settings->verbose;
        return sweep::resume_sweep(manifest, retry, options,
                                   python_launcher(manifest.command_line));
      };
    });
  }
}

} // namespace xrun::cli
