// What `xrun run` and `xrun reproduce` share: their options; their flags, declared once in a
// table (run_flags.hpp) from which CLI11's declarations before FILE or RUN, the split of
// xrun's own flags from the experiment's parameters after it (split_flags.cpp) and the words
// CLI11 is given derive; and how either starts the experiment (experiment_command.cpp).
#pragma once

#include "cli/commands.hpp"
#include "config/config.hpp"
#include "python/child.hpp"
#include "run/supervisor.hpp"

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace xrun::cli {

/// What `xrun run FILE` or `xrun reproduce RUN` was given.
struct RunOptions {
  std::string file;                // FILE, or RUN
  std::string archive = "results"; // --path of `reproduce`: where RUN is looked for
  std::vector<std::string> rest;   // parameters as given, and xrun's own flags among them
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
  bool cache = false; // --cache: a function run reuses a done run with its cache key
  bool rerun = false; // --rerun: a function run runs even when such a done run exists
  nlohmann::json launcher = nlohmann::json::object(); // --launcher and the Slurm options given
  std::vector<std::string> tags;                      // --tag NAME (repeatable)
  std::optional<std::string> note;                    // --note TEXT (the last one given)
  std::optional<std::string> system_metrics;          // --system-metrics SECONDS, as given
};

/// The command a flag is declared for (before its FILE or RUN; after it, both take the same).
enum class ExperimentCommand { run, reproduce };

/// Declares the flags `command` takes before its FILE or RUN on `app`, in the order help lists
/// them, kept in `options`.
void add_run_flags(CLI::App& app, ExperimentCommand command, RunOptions& options);

/// Splits xrun's own flags in `options.rest` (the words after the file) from the experiment's
/// `--NAME value` parameters, which it returns; turns the plugin flags into `options.plugins`.
/// Parameters may carry any value, so this is done by hand rather than by CLI11. Warns of a
/// parameter given twice. Throws UsageError for a word that is not UTF-8 text, a flag missing
/// its value or a value that does not fit.
std::vector<std::string> split_flags(RunOptions& options);

/// For `xrun run|reproduce [OPTIONS] FILE ...`: how many words CLI11 parses (up to the file),
/// with the words after the file in `tail`. After the file everything is the experiment's (a
/// parameter's value may be `-v`), and split_flags tells xrun's own options from its words.
int words_to_parse(int argc, char** argv, std::vector<std::string>& tail);

/// The run's labels for its meta: the config's tags (if any) and then those of --tag, each
/// once; --note, else the config's note. Throws UsageError for a bad tag or note.
nlohmann::ordered_json run_labels(const RunOptions& options, const config::Config* config);

/// Runs the experiment as `xrun run` does, or only shows its parameters (--help, --dry-run).
int launch(const RunOptions& options, python::ChildOptions child, run::RunRequest& request);

/// The action of `sub`, a command taking a file or run and then the experiment's parameters:
/// `command` with one, else this help (`--help`) or a usage error (`missing`, `usage`).
void on_command(CLI::App* sub, const std::shared_ptr<RunOptions>& options, Action& action,
                const char* missing, const char* usage, Action command);

/// What tells `run` and `reproduce` apart where they are declared alike.
struct ExperimentCommandSpec {
  ExperimentCommand command;
  const char* name;                 // "run"
  const char* description;          // the subcommand's line in help
  const char* argument;             // "file"
  const char* argument_description; // its line in help
  const char* footer;               // help's last paragraph
  const char* missing;              // the error without the argument
  const char* usage;                // the usage line shown with it
  std::function<int(RunOptions&)> service;
};

/// Adds `spec`'s subcommand: its flags, then one argument after which every word is the
/// experiment's (CLI11 stops there, and `--help` after it lists the experiment's parameters).
void add_experiment_command(CLI::App& app, Action& action, const ExperimentWords& words,
                            ExperimentCommandSpec spec);

} // namespace xrun::cli
