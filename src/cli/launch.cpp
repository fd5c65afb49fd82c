#include "cli/launch.hpp"

#include "sweep/request.hpp"

namespace xrun::cli {

namespace {

using Json = nlohmann::json;

/// The experiment process as `xrun run` starts it for `request` (see sweep::Request) with a
/// variation's settings: a config's get them among its parameters (so experiment_config.yml
/// holds what ran), a module's after its command-line values.
python::ChildOptions child_for(const sweep::Request& request, const Json& settings,
                               ResolvedConfig& resolved) {
  python::ChildOptions child;
  child.file = request.file;
  child.function = request.function;
  if (request.cache.is_boolean()) {
    child.cache = request.cache.get<bool>();
  }
  child.rerun = request.rerun;
  child.args = request.args;
  child.plugins = request.plugins;
  if (request.config.is_object()) {
    auto config = config::Config::from_json(request.config);
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

} // namespace

ResolvedConfig resolved_config(config::Config config) {
  return [config = std::move(config)](const core::protocol::PrepareRequest& prepared) {
    // Absolute, as the meta records it: the experiment may give `.`.
    const std::filesystem::path base = prepared.base_path;
    return config.resolved_yaml(base.empty() ? base
                                             : std::filesystem::absolute(base).lexically_normal(),
                                prepared.parameters);
  };
}

int supervise_child(python::ChildOptions child, run::RunRequest& request) {
  child.mode = python::ChildMode::run;
  request.child = [child](int control_in, int control_out) mutable {
    child.control_in = control_in;
    child.control_out = control_out;
    return python::run_child(child);
  };
  // The meta does not hold the values of secret plugin settings: the finisher gets them here.
  request.finisher = [plugins = child.plugins](const std::filesystem::path& folder, int control_in,
                                               int control_out) {
    python::ChildOptions finish;
    finish.mode = python::ChildMode::finish;
    finish.file = folder;
    finish.plugins = plugins;
    finish.control_in = control_in;
    finish.control_out = control_out;
    return python::run_child(finish);
  };
  return run::supervise(request);
}

int run_variation(const Json& request, const Json& settings, const Json& sweep_record,
                  const std::vector<std::string>& command_line, run::RunRequest& run) {
  const auto given = sweep::Request::from_json(request);
  auto child = child_for(given, settings, run.resolved_config);
  run.file = child.file;
  run.function = child.function;
  run.args = child.args;
  run.command_line = command_line;
  run.config = given.config_path;
  run.meta_extra["sweep"] = nlohmann::ordered_json::parse(sweep_record.dump());
  run.meta_extra.update(nlohmann::ordered_json::parse(given.labels.dump())); // --tag, --note
  return supervise_child(child, run);
}

sweep::Launcher python_launcher(const std::vector<std::string>& command_line) {
  sweep::Launcher launcher;
  launcher.plan = [](const Json& request, const Json& variations, int control_out) {
    ResolvedConfig ignored;
    auto child = child_for(sweep::Request::from_json(request), Json::array(), ignored);
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

} // namespace xrun::cli
