#include "archive/inspect.hpp"
#include "cli/commands.hpp"
#include "cli/launch.hpp"
#include "config/config.hpp"
#include "config/reproduction.hpp"
#include "core/diagnostics.hpp"
#include "core/run_labels.hpp"
#include "python/child.hpp"
#include "run/supervisor.hpp"
#include "sweep/expand.hpp"
#include "util/strings.hpp"
#include "xrun/error.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <iostream>
#include <map>
#include <memory>
#include <optional>

namespace xrun::cli {

namespace {

struct RunOptions {
  std::string file;
  std::vector<std::string> rest; // parameters as given, and xrun's own flags among them
  bool dry_run = false;
  bool help = false;
  bool strict = false;
  std::vector<std::string> command_line;
  std::vector<std::string> plugin;    // --plugin NAME[:SETTING=VALUE] before the file
  std::vector<std::string> no_plugin; // --no-plugin NAME before the file
  std::vector<std::pair<std::string, std::string>> plugin_flags; // both, in the order given
  nlohmann::json plugins = nlohmann::json::array();              // the choices, in the order given
  std::vector<std::string> tail;   // the words after the file, which CLI11 does not see
  std::vector<std::string> sweeps; // --sweep NAME=V1,V2
  int jobs = 0;                    // 0: the number of cores
  bool fail_fast = false;
  bool keep_going = false;
  bool skip_done = false;
  bool verbose = false;
  nlohmann::json launcher = nlohmann::json::object(); // --launcher and the Slurm options given
  std::vector<std::string> tags;  // --tag NAME (repeatable)
  std::optional<std::string> note; // --note TEXT (the last one given)
};

/// `-j N`, `-jN`, `--jobs N` or `--jobs=N` given after the file.
int jobs_value(const std::string& text) {
  try {
    std::size_t used = 0;
    const int jobs = std::stoi(text, &used);
    if (used == text.size() && jobs >= 1) {
      return jobs;
    }
  } catch (const std::exception&) {
  }
  throw UsageError(fmt::format("-j {}: the number of parallel runs is a whole number from 1",
                               util::shorten(text)));
}

/// `--plugin NAME`, `--plugin NAME:SETTING=VALUE` or `--no-plugin NAME` as a plugin choice for
/// the experiment process.
nlohmann::json plugin_choice(const std::string& flag, const std::string& word) {
  const bool enable = flag == "--plugin";
  const auto colon = word.find(':');
  const auto name = word.substr(0, colon);
  const auto where = fmt::format("{} {}", flag, util::shorten(word));
  const bool identifier = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0])) &&
                          std::all_of(name.begin(), name.end(),
                                      [](unsigned char c) { return std::isalnum(c) || c == '_'; });
  if (!identifier) {
    throw UsageError(fmt::format("{}: '{}' is not a plugin name", where, util::shorten(name)),
                     "name a plugin as `xrun plugins list` shows it, e.g. --plugin notify");
  }
  nlohmann::json choice = {{"name", name}, {"enabled", enable}, {"where", where}};
  if (colon != std::string::npos) {
    const auto setting = word.substr(colon + 1);
    const auto equals = setting.find('=');
    if (!enable || equals == std::string::npos || equals == 0) {
      throw UsageError(fmt::format("{}: a setting is given as NAME:SETTING=VALUE", where),
                       "e.g. --plugin notify:file=runs.log");
    }
    choice["settings"] = {{setting.substr(0, equals), setting.substr(equals + 1)}};
  }
  return choice;
}

/// Warns once for each parameter given more than once: the last value is used (as most
/// command lines do), but the earlier one was probably meant too.
void warn_repeated(const std::vector<std::string>& parameters) {
  std::vector<std::string> order;
  std::map<std::string, std::pair<int, std::string>> given; // name: times, the last value
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    const auto& arg = parameters[i];
    if (!arg.starts_with("--") || arg.size() == 2) {
      continue; // a value (split_flags never takes a word starting with `--` as one)
    }
    const auto equals = arg.find('=');
    const auto name = arg.substr(2, equals == std::string::npos ? std::string::npos : equals - 2);
    auto value = equals != std::string::npos ? arg.substr(equals + 1)
                 : i + 1 < parameters.size() && !parameters[i + 1].starts_with("--")
                     ? parameters[i + 1]
                     : std::string("true"); // a bare flag
    auto& [times, last] = given[name];
    if (times++ == 0) {
      order.push_back(name);
    }
    last = std::move(value);
  }
  for (const auto& name : order) {
    const auto& [times, last] = given[name];
    if (times > 1) {
      core::print_warning(fmt::format(
          "--{} given {}; using {}", util::shorten(name),
          times == 2 ? std::string("twice") : fmt::format("{} times", times), util::shorten(last)));
    }
  }
}

/// Splits xrun's own flags from the experiment's `--NAME value` parameters. Parameters come
/// after the file and may carry any value, so this is done by hand rather than by CLI11.
void split_flags(RunOptions& options, std::vector<std::string>& parameters) {
  // Values reach Python as str and the run's record as JSON: both hold text, not bytes.
  const auto check_text = [](const std::string& word, const std::string& before) {
    if (util::valid_utf8(word)) {
      return;
    }
    const auto shown = [](const std::string& text) {
      return util::shorten(util::escape_non_utf8(text));
    };
    throw UsageError(fmt::format("'{}'{} is not UTF-8 text", shown(word),
                                 before.starts_with("--")
                                     ? fmt::format(" (the value of {})", shown(before))
                                     : std::string()),
                     "xrun takes values as text (UTF-8), as they are recorded in JSON");
  };
  for (std::size_t i = 0; i < options.rest.size(); ++i) {
    check_text(options.rest[i], i > 0 ? options.rest[i - 1] : std::string());
  }
  for (const auto& [flag, word] : options.plugin_flags) {
    check_text(word, flag);
  }
  for (const auto& [flag, word] : options.plugin_flags) {
    options.plugins.push_back(plugin_choice(flag, word));
  }
  for (std::size_t i = 0; i < options.rest.size(); ++i) {
    const auto& arg = options.rest[i];
    const auto flag = arg.substr(0, arg.find('='));
    // The word after a parameter's `--NAME` is its value (`--OFFSET -v`), unless it is an
    // option itself (`--FLAG --dry-run`: a bare bool).
    const bool value_of_parameter = !parameters.empty() && !arg.starts_with("--") &&
                                    parameters.back().starts_with("--") &&
                                    parameters.back().find('=') == std::string::npos;
    if (value_of_parameter) {
      parameters.push_back(arg);
    } else if (flag == "--tag" || flag == "--note") {
      std::string value;
      if (flag.size() < arg.size()) {
        value = arg.substr(flag.size() + 1);
      } else if (i + 1 < options.rest.size()) {
        value = options.rest[++i];
      } else {
        throw UsageError(fmt::format("{} needs a value", flag),
                         "e.g. --tag baseline or --note 'first try with the new loss'");
      }
      if (flag == "--tag") {
        options.tags.push_back(std::move(value));
      } else {
        options.note = std::move(value);
      }
    } else if (flag == "--plugin" || flag == "--no-plugin") {
      if (flag.size() < arg.size()) {
        options.plugins.push_back(plugin_choice(flag, arg.substr(flag.size() + 1)));
      } else if (i + 1 < options.rest.size()) {
        options.plugins.push_back(plugin_choice(flag, options.rest[++i]));
      } else {
        throw UsageError(fmt::format("{} needs a plugin name", flag),
                         "e.g. --plugin notify:file=runs.log or --no-plugin plot_track");
      }
    } else if (is_launcher_flag(flag) || flag == "--sweep" || flag == "--jobs" || arg == "-j") {
      std::string value;
      if (flag.size() < arg.size()) {
        value = arg.substr(flag.size() + 1);
      } else if (i + 1 < options.rest.size()) {
        value = options.rest[++i];
      } else {
        throw UsageError(fmt::format("{} needs a value", arg),
                         "e.g. --sweep LR=0.1,0.01, -j 4 or --launcher slurm");
      }
      if (is_launcher_flag(flag)) {
        set_launcher_flag(options.launcher, flag, value);
      } else if (flag == "--sweep") {
        options.sweeps.push_back(value);
      } else {
        options.jobs = jobs_value(value);
      }
    } else if (arg == "--requeue") {
      options.launcher["requeue"] = true;
    } else if (arg.starts_with("-j") && arg.size() > 2 && !arg.starts_with("--")) {
      options.jobs = jobs_value(arg.substr(2));
    } else if (arg == "--fail-fast") {
      options.fail_fast = true;
    } else if (arg == "--keep-going") {
      options.keep_going = true;
    } else if (arg == "--skip-done") {
      options.skip_done = true;
    } else if (arg == "-v" || arg == "--verbose") {
      options.verbose = true;
    } else if (arg == "--dry-run") {
      options.dry_run = true;
    } else if (arg == "--strict") {
      options.strict = true;
    } else if (arg == "-h" || arg == "--help") {
      options.help = true;
    } else {
      parameters.push_back(arg);
    }
  }
  warn_repeated(parameters);
}

/// The run's labels for its meta: the config's tags (if any) and then those of --tag, each
/// once; --note, else the config's note. Throws UsageError for a bad tag or note.
nlohmann::ordered_json run_labels(const RunOptions& options, const config::Config* config) {
  std::vector<std::string> tags = config ? config->tags : std::vector<std::string>{};
  for (const auto& tag : options.tags) {
    if (const auto problem = core::tag_problem(tag)) {
      throw UsageError(fmt::format("--tag '{}': {}", tag, *problem));
    }
    core::add_tag(tags, tag);
  }
  auto note = options.note ? *options.note : config ? config->note : std::string();
  if (const auto problem = core::note_problem(note); problem && options.note) {
    throw UsageError(fmt::format("--note: {}", *problem));
  }
  nlohmann::ordered_json labels = nlohmann::ordered_json::object();
  if (!tags.empty()) {
    labels["tags"] = tags;
  }
  if (!note.empty()) {
    labels["note"] = note;
  }
  return labels;
}

/// Runs the experiment as `xrun run` does, or only shows its parameters (--help, --dry-run).
int launch(const RunOptions& options, python::ChildOptions child, run::RunRequest& request) {
  if (options.help || options.dry_run) {
    // Nothing is recorded: no supervisor needed, the module is read in this process.
    child.mode = options.help ? python::ChildMode::help : python::ChildMode::dry_run;
    return python::run_child(child);
  }
  for (const auto& choice : options.plugins) {
    child.plugins.push_back(choice);
  }
  return supervise_child(std::move(child), request);
}

} // namespace

std::function<std::string(const nlohmann::json&)> resolved_config(config::Config config) {
  return [config = std::move(config)](const nlohmann::json& prepared) {
    // Absolute, as the meta records it: the experiment may give `.`.
    const std::filesystem::path base = prepared.value("base_path", "");
    return config.resolved_yaml(base.empty() ? base
                                             : std::filesystem::absolute(base).lexically_normal(),
                                prepared.value("parameters", nlohmann::json::array()));
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

namespace {

/// `xrun run` of a sweep: the config's `sweep:` section and the `--sweep` lists (a grid).
int sweep_command(const RunOptions& options, const std::vector<std::string>& parameters,
                  const python::ChildOptions& child, const std::optional<config::Config>& config) {
  if (options.fail_fast && options.keep_going) {
    throw UsageError("--fail-fast and --keep-going contradict each other");
  }
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
  const auto swept = sweep::swept_names(spec);
  for (const auto& name : swept) {
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
  nlohmann::json variations = nlohmann::json::array();
  for (const auto& variation : sweep::expand(spec)) {
    nlohmann::json settings = nlohmann::json::array();
    for (const auto& setting : variation) {
      settings.push_back(setting.to_json(setting.where.line > 0 ? "config" : "cli"));
    }
    variations.push_back(std::move(settings));
  }
  auto plugins = child.plugins;
  for (const auto& choice : options.plugins) {
    plugins.push_back(choice);
  }
  const auto labels = run_labels(options, config ? &*config : nullptr);
  // Absolute: `xrun sweep resume` may be started anywhere.
  const auto absolute = [](const std::filesystem::path& path) {
    return std::filesystem::absolute(path).lexically_normal().string();
  };
  const nlohmann::json request = {{"file", absolute(child.file)},
                                  {"config", config ? child.config : nlohmann::json()},
                                  {"config_path", config ? absolute(options.file) : std::string()},
                                  {"args", parameters},
                                  {"plugins", plugins},
                                  {"labels", labels}};
  sweep::Options sweep_options;
  sweep_options.skip_done = options.skip_done;
  sweep_options.dry_run = options.dry_run;
  set_launcher(sweep_options, config ? config->launcher : nlohmann::json::object(),
               options.launcher);
  set_local_options(sweep_options, options.jobs, options.fail_fast, options.verbose,
                    "Slurm runs the variations; --array-limit K caps how many at once");
  return sweep::run_sweep(request, swept, variations, options.command_line, sweep_options,
                          python_launcher(options.command_line));
}

int run_command(RunOptions& options) {
  std::vector<std::string> parameters;
  split_flags(options, parameters);
  const std::filesystem::path given = options.file;
  std::error_code error;
  if (!std::filesystem::exists(given, error)) {
    throw UsageError(fmt::format("experiment file {} does not exist", given.string()));
  }
  if (!std::filesystem::is_regular_file(given, error)) {
    throw UsageError(fmt::format("{} is not a file", given.string()));
  }
  config::check_file_name(std::filesystem::absolute(given), {});

  python::ChildOptions child{python::ChildMode::run, given, parameters, -1, -1, nullptr};
  run::RunRequest request;
  request.file = given;
  request.args = parameters;
  request.command_line = options.command_line;
  std::optional<config::Config> config;
  const auto extension = given.extension().string();
  if (extension == ".yml" || extension == ".yaml") {
    config = config::load_config(given, options.strict);
    for (const auto& warning : config->warnings) {
      core::print_warning(warning);
    }
    child.file = request.file = config->experiment;
    child.config = config->to_json();
    child.plugins = child.config["plugins"];
    request.config = given;
    request.resolved_config = resolved_config(*config);
  } else if (extension != ".py") {
    throw UsageError(
        fmt::format("{} is neither a Python module (.py) nor a config (.yml)", given.string()));
  }
  const auto type = options.launcher.value(
      "type", config ? config->launcher.value("type", "local") : std::string("local"));
  if (!options.sweeps.empty() || (config && !config->sweep.empty()) || type == "slurm") {
    if (options.help) {
      child.mode = python::ChildMode::help;
      return python::run_child(child);
    }
    return sweep_command(options, parameters, child, config);
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

int reproduce_command(RunOptions& options, const std::string& archive) {
  std::vector<std::string> parameters;
  split_flags(options, parameters);
  const auto folder = archive::resolve_run(archive, options.file);
  const auto plan = config::plan_reproduction(folder, parameters);
  for (const auto& warning : plan.warnings) {
    core::print_warning(warning);
  }
  python::ChildOptions child{
      python::ChildMode::run, plan.config.experiment, parameters, -1, -1, nullptr};
  child.config = plan.config.to_json();
  child.plugins = child.config["plugins"];
  run::RunRequest request;
  request.file = plan.config.experiment;
  request.args = parameters;
  request.command_line = options.command_line;
  request.meta_extra["reproduces"] = plan.reproduces;
  request.meta_extra.update(run_labels(options, nullptr)); // the recorded run's are its own
  // Kept in the new run like a config's, so that it can be reproduced in turn.
  request.resolved_config = resolved_config(plan.config);
  std::string where;
  std::error_code error;
  if (!plan.working_directory.empty() &&
      !std::filesystem::equivalent(plan.working_directory, ".", error)) {
    // Relative paths among the parameters (a data file, an output folder) mean what they
    // meant when the run ran.
    std::filesystem::current_path(plan.working_directory, error);
    where = error ? fmt::format(" (not in {}, the folder it ran in: {})",
                                plan.working_directory.string(), error.message())
                  : fmt::format(" in {}, the folder it ran in", plan.working_directory.string());
  }
  if (!options.help && (!options.dry_run || !where.empty())) {
    std::cerr << fmt::format("xrun: reproducing {}{}\n", folder.string(), where);
  }
  return launch(options, child, request);
}

/// --tag and --note before the file (after it, split_flags takes them).
void add_label_options(CLI::App& command, RunOptions& options) {
  command
      .add_option("--tag", options.tags,
                  "Tag the run (repeatable): recorded in its meta, for --where 'tags ~ ...'")
      ->allow_extra_args(false);
  command.add_option("--note", options.note, "A note on the run, recorded in its meta");
}

void add_plugin_options(CLI::App& command, RunOptions& options) {
  command
      .add_option("--plugin", options.plugin,
                  "Turn a plugin on for this run, or give it a setting: NAME or "
                  "NAME:SETTING=VALUE (repeatable)")
      ->allow_extra_args(false);
  command
      .add_option("--no-plugin", options.no_plugin, "Turn a plugin off for this run (repeatable)")
      ->allow_extra_args(false);
}

/// The action of a command taking a file or run and then the experiment's parameters:
/// `command` with one, else this help (`--help`) or a usage error.
void on_command(CLI::App* sub, const std::shared_ptr<RunOptions>& options, Action& action,
                const char* missing, const char* usage, Action command) {
  sub->callback([sub, options, &action, missing, usage, command] {
    options->rest = sub->remaining();
    options->rest.insert(options->rest.end(), options->tail.begin(), options->tail.end());
    // --plugin and --no-plugin before the file, in the order given (a later one wins).
    std::map<const CLI::Option*, std::size_t> taken;
    for (const auto* option : sub->parse_order()) {
      const auto name = option->get_name();
      if (name == "--plugin" || name == "--no-plugin") {
        const auto& results = option->results();
        if (const auto index = taken[option]++; index < results.size()) {
          options->plugin_flags.emplace_back(name, results[index]);
        }
      }
    }
    if (!options->file.empty()) {
      action = command;
      return;
    }
    action = [sub, options, missing, usage] {
      if (options->help) {
        std::cout << sub->help();
        return 0;
      }
      throw UsageError(missing, usage);
    };
  });
}

} // namespace

/// For `xrun run|reproduce [OPTIONS] FILE ...`: how many words CLI11 parses (up to the file),
/// with the words after the file in `tail`. After the file everything is the experiment's (a
/// parameter's value may be `-v`), and split_flags tells xrun's own options from its words.
int words_to_parse(int argc, char** argv, std::vector<std::string>& tail) {
  if (argc < 2) {
    return argc;
  }
  const std::string_view command = argv[1];
  if (command != "run" && command != "reproduce") {
    return argc;
  }
  std::vector<std::string> with_value{"--plugin", "--no-plugin", "--sweep", "-j",
                                      "--jobs",   "--path",      "--tag",   "--note"};
  for (const auto& flag : launcher_flags()) {
    with_value.push_back(flag);
  }
  for (int i = 2; i < argc; ++i) {
    const std::string_view word = argv[i];
    if (word == "--") {
      return argc;
    }
    if (!word.starts_with("-") || word == "-") {
      tail.assign(argv + i + 1, argv + argc);
      return i + 1;
    }
    if (std::find(with_value.begin(), with_value.end(), word) != with_value.end()) {
      ++i; // its value
    }
  }
  return argc;
}

int add_run_command(CLI::App& app, Action& action, int argc, char** argv) {
  auto options = std::make_shared<RunOptions>();
  options->command_line.assign(argv, argv + argc);
  const int parsed = words_to_parse(argc, argv, options->tail);
  auto* run = app.add_subcommand(
      "run", "Run a Python experiment module or YAML config and record it in a run folder");
  // `--help` after the file lists the experiment's parameters, so CLI11 must not take it.
  run->set_help_flag();
  // Everything after the file is the experiment's: CLI11 stops at the first unknown argument.
  run->prefix_command();
  run->add_option("file", options->file, "The experiment module (.py) or config (.yml)");
  run->add_flag("--dry-run", options->dry_run,
                "Print the resolved, typed parameters and where each comes from; create nothing");
  run->add_flag("--strict", options->strict, "Unknown keys in a config are errors, not warnings");
  add_plugin_options(*run, *options);
  add_label_options(*run, *options);
  run->add_option("--sweep", options->sweeps,
                  "Sweep a parameter: NAME=V1,V2,... (repeatable: the grid of them; values with "
                  "commas in quotes)")
      ->allow_extra_args(false);
  run->add_option("-j,--jobs", options->jobs,
                  "A sweep's variations run at once (default: the number of cores)")
      ->check(CLI::Range(1, 100000));
  run->add_flag("--keep-going", options->keep_going,
                "A sweep goes on after a variation fails (the default)");
  run->add_flag("--fail-fast", options->fail_fast,
                "A sweep stops at the first variation that fails");
  run->add_flag("--skip-done", options->skip_done,
                "Skip variations whose run hash has a done run in the archive");
  run->add_flag("-v,--verbose", options->verbose,
                "Show every run of a sweep's output, each line prefixed by its variation");
  add_launcher_options(*run, options->launcher);
  run->add_flag("-h,--help", options->help,
                "Without FILE: this help. With FILE: the experiment's parameters");
  run->footer("Give the experiment's parameters after FILE as --NAME VALUE or --NAME=VALUE. A "
              "config's sweep: section or --sweep runs many variations (--dry-run lists them).");
  on_command(run, options, action, "run needs an experiment file",
             "xrun run exp.py [--NAME VALUE ...]", [options] { return run_command(*options); });

  auto again = std::make_shared<RunOptions>();
  again->command_line = options->command_line;
  again->tail = options->tail;
  auto archive = std::make_shared<std::string>("results");
  auto* reproduce = app.add_subcommand(
      "reproduce", "Run a recorded run's archived code again with its parameters, as a new run");
  reproduce->set_help_flag();
  reproduce->prefix_command();
  reproduce->add_option("--path", *archive, "The archive folder (to find RUN by its id)")
      ->capture_default_str();
  reproduce->add_option("run", again->file, "A run folder, or a run id (or a unique part of one)");
  reproduce->add_flag("--dry-run", again->dry_run,
                      "Print the parameters the new run would have; create nothing");
  add_plugin_options(*reproduce, *again);
  add_label_options(*reproduce, *again);
  reproduce->add_flag("-h,--help", again->help,
                      "Without RUN: this help. With RUN: the experiment's parameters");
  reproduce->footer("Parameters given after RUN as --NAME VALUE replace the recorded values. "
                    "The new run records the one it reproduces in its meta (`reproduces`).");
  on_command(reproduce, again, action, "reproduce needs a run",
             "xrun reproduce RUN [--NAME VALUE ...]",
             [again, archive] { return reproduce_command(*again, *archive); });
  return parsed;
}

} // namespace xrun::cli
