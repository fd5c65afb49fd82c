// xrun's own flags of `run` and `reproduce`, declared once: the table, CLI11's declarations
// before the FILE or RUN, and which words CLI11 is given.
#include "cli/run_flags.hpp"

#include "util/strings.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iterator>

namespace xrun::cli {

namespace {

constexpr const char* k_labels_example =
    "e.g. --tag baseline or --note 'first try with the new loss'";
constexpr const char* k_sweep_example = "e.g. --sweep LR=0.1,0.01, -j 4 or --launcher slurm";
constexpr const char* k_plugin_example =
    "e.g. --plugin notify:file=runs.log or --no-plugin plot_track";
constexpr const char* k_plugin_help =
    "Turn a plugin on for this run, or give it a setting: NAME or NAME:SETTING=VALUE (repeatable)";
constexpr const char* k_no_plugin_help = "Turn a plugin off for this run (repeatable)";
constexpr const char* k_tag_help =
    "Tag the run (repeatable): recorded in its meta, for --where 'tags ~ ...'";
constexpr const char* k_note_help = "A note on the run, recorded in its meta";

/// xrun's own flags, before the launcher's.
const RunFlag k_own_flags[] = {
    {.names = "--path",
     .kind = Kind::archive,
     .field = &RunOptions::archive,
     .reproduce_help = "The archive folder (to find RUN by its id)",
     .after_file = false},
    {.names = "--dry-run",
     .kind = Kind::toggle,
     .field = &RunOptions::dry_run,
     .run_help = "Print the resolved, typed parameters and where each comes from; create nothing",
     .reproduce_help = "Print the parameters the new run would have; create nothing"},
    {.names = "--strict",
     .kind = Kind::toggle,
     .field = &RunOptions::strict,
     .run_help = "Unknown keys in a config are errors, not warnings"},
    {.names = "--plugin",
     .kind = Kind::plugin,
     .field = &RunOptions::plugin,
     .run_help = k_plugin_help,
     .reproduce_help = k_plugin_help,
     .missing = "a plugin name",
     .example = k_plugin_example},
    {.names = "--no-plugin",
     .kind = Kind::plugin,
     .field = &RunOptions::no_plugin,
     .run_help = k_no_plugin_help,
     .reproduce_help = k_no_plugin_help,
     .missing = "a plugin name",
     .example = k_plugin_example},
    {.names = "--tag",
     .kind = Kind::list,
     .field = &RunOptions::tags,
     .run_help = k_tag_help,
     .reproduce_help = k_tag_help,
     .example = k_labels_example},
    {.names = "--note",
     .kind = Kind::text,
     .field = &RunOptions::note,
     .run_help = k_note_help,
     .reproduce_help = k_note_help,
     .example = k_labels_example},
    {.names = "--sweep",
     .kind = Kind::list,
     .field = &RunOptions::sweeps,
     .run_help = "Sweep a parameter: NAME=V1,V2,... (repeatable: the grid of them; values with "
                 "commas in quotes)",
     .example = k_sweep_example},
    {.names = "-j,--jobs",
     .kind = Kind::jobs,
     .field = &RunOptions::jobs,
     .run_help = "A sweep's variations run at once (default: the number of cores)",
     .example = k_sweep_example},
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
    {.names = "--system-metrics",
     .kind = Kind::text,
     .field = &RunOptions::system_metrics,
     .run_help = "Seconds between samples of CPU, memory, I/O and GPU use into .track/sys/ "
                 "(default 10; 0: none)",
     .missing = "a number of seconds",
     .example = "e.g. --system-metrics 2 or --system-metrics 0"},
    {.names = "--cache",
     .kind = Kind::toggle,
     .field = &RunOptions::cache,
     .run_help = "Reuse a done run with the same cache key (function runs)"},
    {.names = "--rerun",
     .kind = Kind::toggle,
     .field = &RunOptions::rerun,
     .run_help = "Run even when a done run has the same cache key"},
    {.names = "-v,--verbose",
     .kind = Kind::toggle,
     .field = &RunOptions::verbose,
     .run_help = "Show every run of a sweep's output, each line prefixed by its variation"},
};

/// `--help` before the file is this help; after it, the experiment's parameters.
const RunFlag k_help_flag{
    .names = "-h,--help",
    .kind = Kind::toggle,
    .field = &RunOptions::help,
    .run_help = "Without FILE: this help. With FILE: the experiment's parameters",
    .reproduce_help = "Without RUN: this help. With RUN: the experiment's parameters"};

/// Declares `flag` on `app` with the description `help`, kept in `options`.
void declare(CLI::App& app, const RunFlag& flag, const std::string& help, RunOptions& options) {
  using List = std::vector<std::string> RunOptions::*;
  using Text = std::optional<std::string> RunOptions::*;
  switch (flag.kind) {
  case Kind::toggle:
    app.add_flag(flag.names, options.*std::get<bool RunOptions::*>(flag.field), help);
    break;
  case Kind::list:
  case Kind::plugin:
    app.add_option(flag.names, options.*std::get<List>(flag.field), help)->allow_extra_args(false);
    break;
  case Kind::text:
    app.add_option(flag.names, options.*std::get<Text>(flag.field), help);
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

} // namespace

const std::vector<RunFlag>& run_flags() {
  static const std::vector<RunFlag> flags = [] {
    std::vector<RunFlag> table(std::begin(k_own_flags), std::end(k_own_flags));
    for (const auto& flag : launcher_flags()) {
      table.push_back({.names = flag.name,
                       .kind = Kind::launcher,
                       .field = &flag,
                       .run_help = flag.description,
                       .example = k_sweep_example});
    }
    table.push_back(k_help_flag);
    return table;
  }();
  return flags;
}

bool takes_value(const RunFlag& flag) {
  if (flag.kind == Kind::launcher) {
    return std::get<const LauncherFlag*>(flag.field)->takes_value;
  }
  return flag.kind != Kind::toggle;
}

void add_run_flags(CLI::App& app, ExperimentCommand command, RunOptions& options) {
  for (const auto& flag : run_flags()) {
    const auto& help = command == ExperimentCommand::run ? flag.run_help : flag.reproduce_help;
    if (!help.empty()) {
      declare(app, flag, help, options);
    }
  }
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
