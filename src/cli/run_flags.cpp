// xrun's own flags of `run` and `reproduce`, declared once in a table. Before the FILE or RUN,
// CLI11 parses them from the table's declarations; after it, the words are the experiment's
// and the same table tells xrun's flags from its parameters (split_flags); words_to_parse
// takes from it which flags take a value, to find where the FILE or RUN is.
#include "cli/experiment_options.hpp"
#include "cli/launcher_options.hpp"
#include "core/diagnostics.hpp"
#include "util/strings.hpp"
#include "xrun/error.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <map>
#include <variant>

namespace xrun::cli {

namespace {

/// What a flag does with what it is given.
enum class Kind {
  toggle,   // takes no value: sets a bool
  list,     // a value, repeatable: added to a list
  text,     // a value: the last one given is kept
  jobs,     // a value: a whole number from 1 (a sweep's workers)
  plugin,   // a value: a plugin choice, NAME or NAME:SETTING=VALUE
  archive,  // a value: the archive folder (before RUN only)
  launcher, // a `launcher:` setting: a value, or none for a switch (LauncherFlag says)
};

/// Where a flag keeps what it is given: a member of RunOptions, or a launcher setting.
using Field = std::variant<bool RunOptions::*, std::vector<std::string> RunOptions::*,
                           std::optional<std::string> RunOptions::*, int RunOptions::*,
                           std::string RunOptions::*, const LauncherFlag*>;

/// One flag of `run` and `reproduce`.
struct RunFlag {
  std::string names; // as CLI11 takes them: "-j,--jobs"
  Kind kind;
  Field field;
  std::string run_help = {};       // its description before `xrun run`'s FILE; empty: not there
  std::string reproduce_help = {}; // the same for `xrun reproduce`'s RUN
  bool after_file = true;          // taken among the experiment's words after FILE or RUN too
  std::string missing = "a value"; // a missing value, as the error names it
  std::string example = {};        // and the error's hint
};

bool takes_value(const RunFlag& flag) {
  if (flag.kind == Kind::launcher) {
    return std::get<const LauncherFlag*>(flag.field)->takes_value;
  }
  return flag.kind != Kind::toggle;
}

const std::vector<RunFlag>& run_flags() {
  static const std::vector<RunFlag> flags = [] {
    const std::string labels = "e.g. --tag baseline or --note 'first try with the new loss'";
    const std::string sweeps = "e.g. --sweep LR=0.1,0.01, -j 4 or --launcher slurm";
    const std::string plugins = "e.g. --plugin notify:file=runs.log or --no-plugin plot_track";
    const std::string plugin_help = "Turn a plugin on for this run, or give it a setting: NAME or "
                                    "NAME:SETTING=VALUE (repeatable)";
    const std::string no_plugin_help = "Turn a plugin off for this run (repeatable)";
    const std::string tag_help =
        "Tag the run (repeatable): recorded in its meta, for --where 'tags ~ ...'";
    const std::string note_help = "A note on the run, recorded in its meta";
    std::vector<RunFlag> table{
        {.names = "--path",
         .kind = Kind::archive,
         .field = &RunOptions::archive,
         .reproduce_help = "The archive folder (to find RUN by its id)",
         .after_file = false},
        {.names = "--dry-run",
         .kind = Kind::toggle,
         .field = &RunOptions::dry_run,
         .run_help =
             "Print the resolved, typed parameters and where each comes from; create nothing",
         .reproduce_help = "Print the parameters the new run would have; create nothing"},
        {.names = "--strict",
         .kind = Kind::toggle,
         .field = &RunOptions::strict,
         .run_help = "Unknown keys in a config are errors, not warnings"},
        {.names = "--plugin",
         .kind = Kind::plugin,
         .field = &RunOptions::plugin,
         .run_help = plugin_help,
         .reproduce_help = plugin_help,
         .missing = "a plugin name",
         .example = plugins},
        {.names = "--no-plugin",
         .kind = Kind::plugin,
         .field = &RunOptions::no_plugin,
         .run_help = no_plugin_help,
         .reproduce_help = no_plugin_help,
         .missing = "a plugin name",
         .example = plugins},
        {.names = "--tag",
         .kind = Kind::list,
         .field = &RunOptions::tags,
         .run_help = tag_help,
         .reproduce_help = tag_help,
         .example = labels},
        {.names = "--note",
         .kind = Kind::text,
         .field = &RunOptions::note,
         .run_help = note_help,
         .reproduce_help = note_help,
         .example = labels},
        {.names = "--sweep",
         .kind = Kind::list,
         .field = &RunOptions::sweeps,
         .run_help = "Sweep a parameter: NAME=V1,V2,... (repeatable: the grid of them; values "
                     "with commas in quotes)",
         .example = sweeps},
        {.names = "-j,--jobs",
         .kind = Kind::jobs,
         .field = &RunOptions::jobs,
         .run_help = "A sweep's variations run at once (default: the number of cores)",
         .example = sweeps},
        {.names = "--keep-going",
         .kind = Kind::toggle,
         .field = &RunOptions::keep_going,
         .run_help = "A sweep goes on after a variation fails (the default)"},
        {.names = "--fail-fast",
         .kind = Kind::toggle,
         .field = &RunOptions::fail_fast,
         .run_help = "A sweep stops at the first variation that fails"},
        {.names = "--skip-done",
         .kind = Kind::toggle,
         .field = &RunOptions::skip_done,
         .run_help = "Skip variations whose run hash has a done run in the archive"},
        {.names = "-v,--verbose",
         .kind = Kind::toggle,
         .field = &RunOptions::verbose,
         .run_help = "Show every run of a sweep's output, each line prefixed by its variation"},
    };
    for (const auto& flag : launcher_flags()) {
      table.push_back({.names = flag.name,
                       .kind = Kind::launcher,
                       .field = &flag,
                       .run_help = flag.description,
                       .example = sweeps});
    }
    table.push_back(
        {.names = "-h,--help",
         .kind = Kind::toggle,
         .field = &RunOptions::help,
         .run_help = "Without FILE: this help. With FILE: the experiment's parameters",
         .reproduce_help = "Without RUN: this help. With RUN: the experiment's parameters"});
    return table;
  }();
  return flags;
}

/// Declares `flag` on `app` with the description `help`, kept in `options`.
void declare(CLI::App& app, const RunFlag& flag, const std::string& help, RunOptions& options) {
  using List = std::vector<std::string> RunOptions::*;
  switch (flag.kind) {
  case Kind::toggle:
    app.add_flag(flag.names, options.*std::get<bool RunOptions::*>(flag.field), help);
    break;
  case Kind::list:
  case Kind::plugin:
    app.add_option(flag.names, options.*std::get<List>(flag.field), help)
        ->allow_extra_args(false);
    break;
  case Kind::text:
    app.add_option(flag.names, options.*std::get<std::optional<std::string> RunOptions::*>(
                                            flag.field),
                   help);
    break;
  case Kind::jobs:
    app.add_option(flag.names, options.*std::get<int RunOptions::*>(flag.field), help)
        ->check(CLI::Range(1, 100000));
    break;
  case Kind::archive:
    app.add_option(flag.names, options.*std::get<std::string RunOptions::*>(flag.field), help)
        ->capture_default_str();
    break;
  case Kind::launcher:
    add_launcher_option(app, *std::get<const LauncherFlag*>(flag.field), options.launcher);
    break;
  }
}

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

/// Keeps `value` of `flag` (named `name`) given after the file in `options`.
void take(RunOptions& options, const RunFlag& flag, const std::string& name,
          std::string value) {
  switch (flag.kind) {
  case Kind::toggle:
    options.*std::get<bool RunOptions::*>(flag.field) = true;
    break;
  case Kind::list:
    (options.*std::get<std::vector<std::string> RunOptions::*>(flag.field))
        .push_back(std::move(value));
    break;
  case Kind::text:
    options.*std::get<std::optional<std::string> RunOptions::*>(flag.field) = std::move(value);
    break;
  case Kind::jobs:
    options.*std::get<int RunOptions::*>(flag.field) = jobs_value(value);
    break;
  case Kind::plugin:
    options.plugins.push_back(plugin_choice(name, value));
    break;
  case Kind::archive: // not a flag after the file: run_flags() says so
    break;
  case Kind::launcher:
    set_launcher_flag(options.launcher, name, value);
    break;
  }
}

/// A word after the file naming one of xrun's flags: the flag, the name used, and the value
/// given in the same word (`--tag=x`, `-j4`).
struct FlagWord {
  const RunFlag* flag = nullptr;
  std::string name;
  std::optional<std::string> value;
};

/// The flag `word` names, if any. A flag without a value must be the whole word; a long one
/// with a value may be followed by `=VALUE`, a short one directly by its value.
FlagWord find_flag(const std::string& word) {
  const auto before_equals = word.substr(0, word.find('='));
  for (const auto& flag : run_flags()) {
    if (!flag.after_file) {
      continue;
    }
    for (const auto& name : util::split(flag.names, ',')) {
      if (word == name) {
        return {&flag, name, std::nullopt};
      }
      if (!takes_value(flag)) {
        continue;
      }
      if (name.starts_with("--") && before_equals == name) {
        return {&flag, name, word.substr(name.size() + 1)};
      }
      if (!name.starts_with("--") && word.starts_with(name)) {
        return {&flag, name, word.substr(name.size())};
      }
    }
  }
  return {};
}

/// Values reach Python as str and the run's record as JSON: both hold text, not bytes.
void check_text(const std::string& word, const std::string& before) {
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

} // namespace

void add_run_flags(CLI::App& app, ExperimentCommand command, RunOptions& options) {
  for (const auto& flag : run_flags()) {
    const auto& help = command == ExperimentCommand::run ? flag.run_help : flag.reproduce_help;
    if (!help.empty()) {
      declare(app, flag, help, options);
    }
  }
}

std::vector<std::string> split_flags(RunOptions& options) {
  for (std::size_t i = 0; i < options.rest.size(); ++i) {
    check_text(options.rest[i], i > 0 ? options.rest[i - 1] : std::string());
  }
  for (const auto& [flag, word] : options.plugin_flags) {
    check_text(word, flag);
  }
  for (const auto& [flag, word] : options.plugin_flags) {
    options.plugins.push_back(plugin_choice(flag, word));
  }
  std::vector<std::string> parameters;
  for (std::size_t i = 0; i < options.rest.size(); ++i) {
    const auto& arg = options.rest[i];
    // The word after a parameter's `--NAME` is its value (`--OFFSET -v`), unless it is an
    // option itself (`--FLAG --dry-run`: a bare bool).
    const bool value_of_parameter = !parameters.empty() && !arg.starts_with("--") &&
                                    parameters.back().starts_with("--") &&
                                    parameters.back().find('=') == std::string::npos;
    const auto found = value_of_parameter ? FlagWord{} : find_flag(arg);
    if (found.flag == nullptr) {
      parameters.push_back(arg);
      continue;
    }
    auto value = found.value;
    if (!value && takes_value(*found.flag)) {
      if (i + 1 == options.rest.size()) {
        throw UsageError(fmt::format("{} needs {}", arg, found.flag->missing),
                         found.flag->example);
      }
      value = options.rest[++i];
    }
    take(options, *found.flag, found.name, value.value_or(std::string()));
  }
  warn_repeated(parameters);
  return parameters;
}

int words_to_parse(int argc, char** argv, std::vector<std::string>& tail) {
  if (argc < 2) {
    return argc;
  }
  const std::string_view command = argv[1];
  if (command != "run" && command != "reproduce") {
    return argc;
  }
  std::vector<std::string> with_value;
  for (const auto& flag : run_flags()) {
    if (takes_value(flag)) {
      for (auto& name : util::split(flag.names, ',')) {
        with_value.push_back(std::move(name));
      }
    }
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

} // namespace xrun::cli
