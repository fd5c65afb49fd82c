// What every `cmd_<name>.cpp` provides: a function that adds its subcommand to the app and
// sets `action` to the service call when that subcommand is chosen.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace xrun::cli {

using Action = std::function<int()>;

/// The command line as `xrun run` and `xrun reproduce` take it: CLI11 parses the first
/// `parsed` words (for these commands, those up to the file or run); the words after the file
/// or run (`tail`) are the experiment's, taken by the command itself.
struct ExperimentWords {
  std::vector<std::string> command_line; // every word, as recorded in the meta
  std::vector<std::string> tail;
  int parsed = 0;
};

/// The words of `argv` as ExperimentWords says.
ExperimentWords experiment_words(int argc, char** argv);

/// `xrun run FILE [--NAME VALUE ...]`: runs an experiment module or config.
void add_run_command(CLI::App& app, Action& action, const ExperimentWords& words);

/// `xrun reproduce RUN [--NAME VALUE ...]`: a recorded run again, as a new run.
void add_reproduce_command(CLI::App& app, Action& action, const ExperimentWords& words);

/// `xrun python-path`: where the xrun package for plain python3 lives.
void add_python_path_command(CLI::App& app, Action& action);

/// `xrun archive ...`: the commands on recorded runs.
void add_archive_command(CLI::App& app, Action& action);

/// `xrun template KIND NAME`: new files to start from.
void add_template_command(CLI::App& app, Action& action);

/// `xrun sweep list|status|resume|retry`: the sweeps of an archive.
void add_sweep_command(CLI::App& app, Action& action);

/// `xrun plugins list`: the plugins found and whether they load.
void add_plugins_command(CLI::App& app, Action& action);

/// `xrun ui`: the web viewer of an archive.
void add_ui_command(CLI::App& app, Action& action);

/// `xrun completions SHELL`: the completion script for bash, zsh or fish.
void add_completions_command(CLI::App& app, Action& action);

/// `xrun watch` (hidden): the watcher of a run started from plain python3.
void add_watch_command(CLI::App& app, Action& action);

} // namespace xrun::cli
