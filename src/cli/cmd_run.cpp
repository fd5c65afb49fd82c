// `xrun run FILE [--NAME VALUE ...]`: one run of an experiment module or config, or the runs
// of a sweep.
#include "cli/commands.hpp"
#include "cli/experiment_options.hpp"
#include "cli/launch.hpp"
#include "cli/launcher_options.hpp"
#include "cli/run_flags.hpp"
#include "config/config.hpp"
#include "core/diagnostics.hpp"
#include "core/function_target.hpp"
#include "core/module_scan.hpp"
#include "sweep/expand.hpp"
#include "sweep/request.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"
#include "xrun/error.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <memory>
#include <optional>

namespace xrun::cli {

namespace {

/// The config's `sweep:` section and the `--sweep` lists (a grid), checked: no parameter swept
/// twice, none of the special ones, none also given on the command line. Throws UsageError.
config::SweepSpec sweep_spec(const RunOptions& options, const std::vector<std::string>& parameters,
                             const std::optional<config::Config>& config) {
  auto spec = config ? config->sweep : config::SweepSpec{};
  for (const auto& text : options.sweeps) {
    auto list = sweep::parse_command_line_sweep(text);
    for (const auto& name : sweep::swept_names(spec)) {
      if (name == list.name) {
        throw UsageError(fmt::format("--sweep {}: {} is swept already", util::shorten(text), name));
      }
    }
    spec.grid.push_back(std::move(list));
  }
  for (const auto& name : sweep::swept_names(spec)) {
    if (name.starts_with("__")) {
      throw UsageError(fmt::format("{} cannot be swept: special parameters say where and how a "
                                   "run goes, not what it computes",
                                   name));
    }
    for (const auto& arg : parameters) {
      if (arg.starts_with("--") && arg.substr(2, arg.find('=') - 2) == name) {
        throw UsageError(fmt::format("{} is both swept and given as {}", name, util::shorten(arg)),
                         "leave out one of them");
      }
    }
  }
  return spec;
}

/// Each variation of `spec`: its located settings, as the experiment process takes them.
nlohmann::json variation_settings(const config::SweepSpec& spec) {
  nlohmann::json variations = nlohmann::json::array();
  for (const auto& variation : sweep::expand(spec)) {
    nlohmann::json settings = nlohmann::json::array();
    for (const auto& setting : variation) {
      settings.push_back(setting.to_json(setting.where.line > 0 ? "config" : "cli"));
    }
    variations.push_back(std::move(settings));
  }
  return variations;
}

/// `xrun run` of a sweep: the config's `sweep:` section and the `--sweep` lists (a grid).
int sweep_command(const RunOptions& options, const std::vector<std::string>& parameters,
                  const python::ChildOptions& child, const std::optional<config::Config>& config) {
  if (options.fail_fast && options.keep_going) {
    throw UsageError("--fail-fast and --keep-going contradict each other");
  }
  const auto spec = sweep_spec(options, parameters, config);
  sweep::NewSweep sweep;
  sweep.swept = sweep::swept_names(spec);
  sweep.variations = variation_settings(spec);
  sweep.command_line = options.command_line;
  // Absolute: `xrun sweep resume` may be started anywhere.
  const auto absolute = [](const std::filesystem::path& path) {
    return std::filesystem::absolute(path).lexically_normal().string();
  };
  auto& request = sweep.request;
  request.plugins = child.plugins;
  for (const auto& choice : options.plugins) {
    request.plugins.push_back(choice);
  }
  request.labels = run_labels(options, config ? &*config : nullptr);
  request.file = absolute(child.file);
  request.function = child.function;
  request.cache = child.cache ? nlohmann::json(*child.cache) : nlohmann::json();
  request.rerun = child.rerun;
  request.config = config ? child.config : nlohmann::json();
  request.config_path = config ? absolute(options.file) : std::string();
  request.args = parameters;
  sweep::Options sweep_options;
  sweep_options.skip_done = options.skip_done;
  sweep_options.dry_run = options.dry_run;
  set_launcher(sweep_options, config ? config->launcher : nlohmann::json::object(),
               options.launcher);
  set_local_options(sweep_options, options.jobs, options.fail_fast, options.verbose,
                    "Slurm runs the variations; --array-limit K caps how many at once");
  return sweep::run_sweep(sweep, sweep_options, python_launcher(options.command_line));
}

/// The seconds of `--system-metrics SECONDS`; throws UsageError for anything but a number >= 0.
double system_metrics_interval(const std::string& given) {
  std::size_t used = 0;
  double seconds = -1;
  try {
    seconds = std::stod(given, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != given.size() || !(seconds >= 0) || seconds > 86400) {
    throw UsageError(fmt::format("--system-metrics: '{}' is not a number of seconds from 0 "
                                 "(none) to 86400",
                                 given));
  }
  return seconds;
}

/// The function run's --cache and --rerun into `child`; for a module run (no function named)
/// either is a UsageError.
void set_function_flags(const RunOptions& options, python::ChildOptions& child) {
  if (child.function.empty()) {
    for (const auto& [given, flag] :
         {std::pair{options.cache, "--cache"}, std::pair{options.rerun, "--rerun"}}) {
      if (given) {
        throw UsageError(fmt::format("{} is for function runs (FILE.py:NAME)", flag),
                         "e.g. xrun run mod.py:train --cache");
      }
    }
    return;
  }
  if (options.cache) {
    child.cache = true;
  }
  child.rerun = options.rerun;
}

/// Refuses a function whose argument has the name of one of xrun's flags taken after FILE
/// (`--tag`, `--note`, `--cache`, ...): xrun would take the word, the argument never see it.
void check_argument_names(const std::filesystem::path& module, const std::string& function) {
  std::optional<std::string> source;
  try {
    source = util::read_file(module);
  } catch (const std::exception&) {
    return; // Python reports an unreadable module
  }
  std::vector<core::FunctionParameter> parameters;
  for (const auto& definition : core::scan_module(source.value_or("")).functions) {
    if (definition.name == function) {
      parameters = definition.parameters; // a later definition is the one Python keeps
    }
  }
  for (const auto& parameter : parameters) {
    for (const auto& flag : run_flags()) {
      for (const auto& name : util::split(flag.names, ',')) {
        if (flag.after_file && name == "--" + parameter.name) {
          throw UsageError(fmt::format("{}:{}: argument {} has the name of xrun's own flag {}, "
                                       "which takes the word after the function",
                                       module.string(), function, parameter.name, name),
                           "rename the argument");
        }
      }
    }
  }
}

int run_command(RunOptions& options) {
  const auto parameters = split_flags(options);
  // `mod.py:train`: the function `train` of mod.py; the checks below are the module's.
  const auto target = core::split_function_target(options.file);
  const std::filesystem::path given = target.file;
  std::error_code error;
  if (!std::filesystem::exists(given, error)) {
    const auto colon = options.file.rfind(".py:");
    if (colon != std::string::npos &&
        std::filesystem::exists(options.file.substr(0, colon + 3), error)) {
      throw UsageError(fmt::format("{}: '{}' is not a function name", options.file,
                                   util::shorten(options.file.substr(colon + 4))),
                       "name a function as FILE.py:NAME, NAME a Python identifier");
    }
    throw UsageError(fmt::format("experiment file {} does not exist", given.string()));
  }
  if (!std::filesystem::is_regular_file(given, error)) {
    throw UsageError(fmt::format("{} is not a file", given.string()));
  }
  config::check_file_name(std::filesystem::absolute(given), {});
  if (!target.function.empty()) {
    check_argument_names(given, target.function);
  }

  python::ChildOptions child;
  child.file = given;
  child.function = target.function;
  child.args = parameters;
  run::RunRequest request;
  request.file = given;
  request.args = parameters;
  request.function = target.function;
  request.command_line = options.command_line;
  std::optional<config::Config> config;
  const auto extension = given.extension().string();
  if (extension == ".yml" || extension == ".yaml") {
    config = config::load_config(given, options.strict);
    for (const auto& warning : config->warnings) {
      core::print_warning(warning);
    }
    child.file = request.file = config->experiment;
    child.function = request.function = config->function;
    child.config = config->to_json();
    child.plugins = child.config["plugins"];
    request.config = given;
    request.resolved_config = resolved_config(*config);
  } else if (extension != ".py") {
    throw UsageError(
        fmt::format("{} is neither a Python module (.py) nor a config (.yml)", given.string()));
  }
  set_function_flags(options, child);
  const auto type = options.launcher.value(
      "type", config ? config->launcher.value("type", "local") : std::string("local"));
  if (!options.sweeps.empty() || (config && !config->sweep.empty()) || type == "slurm") {
    if (options.system_metrics) {
      throw UsageError("--system-metrics is for single runs (a sweep's runs sample every 10 s)");
    }
    if (options.help) {
      child.mode = python::ChildMode::help;
      return python::run_child(child);
    }
    return sweep_command(options, parameters, child, config);
  }
  if (options.system_metrics) {
    request.system_metrics = system_metrics_interval(*options.system_metrics);
  }
  if (options.jobs > 0 || options.skip_done || options.fail_fast || options.verbose) {
    throw UsageError("-j, --skip-done, --fail-fast and -v are for sweeps",
                     "sweep with --sweep NAME=V1,V2 or a config's sweep: section");
  }
  if (!options.launcher.empty()) {
    sweep::Options checked; // Slurm's options without Slurm are refused
    set_launcher(checked, config ? config->launcher : nlohmann::json::object(), options.launcher);
  }
  request.meta_extra.update(run_labels(options, config ? &*config : nullptr));
  return launch(options, child, request);
}

} // namespace

ExperimentWords experiment_words(int argc, char** argv) {
  ExperimentWords words;
  words.command_line.assign(argv, argv + argc);
  words.parsed = words_to_parse(argc, argv, words.tail);
  return words;
}

void add_run_command(CLI::App& app, Action& action, const ExperimentWords& words) {
  add_experiment_command(
      app, action, words,
      {ExperimentCommand::run, "run",
       "Run a Python experiment module or YAML config and record it in a run folder", "file",
       "The experiment module (.py), a function in one (FILE.py:NAME) or a config (.yml)",
       "Give the experiment's parameters after FILE as --NAME VALUE or --NAME=VALUE. A "
       "config's sweep: section or --sweep runs many variations (--dry-run lists them).",
       "run needs an experiment file",
       "xrun run exp.py [--NAME VALUE ...] or xrun run mod.py:train [--name value ...]",
       run_command});
}

} // namespace xrun::cli
