// What every `cmd_<name>.cpp` provides: a function that adds its subcommand to the app and
// sets `action` to the service call when that subcommand is chosen.
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace xrun::cli {

using Action = std::function<int()>;

/// `xrun run FILE [--NAME VALUE ...]` and `xrun reproduce RUN [...]`. Returns how many of the
/// words CLI11 is to parse: for these commands, those up to the file or run (the rest are the
/// experiment's, taken by the command itself).
int add_run_command(CLI::App& app, Action& action, int argc, char** argv);

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

/// `xrun completions SHELL`: the completion script for bash, zsh or fish.
void add_completions_command(CLI::App& app, Action& action);

} // namespace xrun::cli
