// What every `cmd_<name>.cpp` provides: a function that adds its subcommand to the app and
// sets `action` to the service call when that subcommand is chosen.
#pragma once

#include <functional>
#include <optional>

namespace CLI {
class App;
}

namespace xrun::cli {

using Action = std::function<int()>;

/// `xrun run FILE [--NAME VALUE ...]`.
void add_run_command(CLI::App& app, Action& action, int argc, char** argv);

/// The hidden `xrun __child ...` that the supervisor of `xrun run` starts: runs it and returns
/// its exit code, or nullopt when argv is not a child's command line.
std::optional<int> run_child_command(int argc, char** argv);

/// `xrun python-path`: where the xrun package for plain python3 lives.
void add_python_path_command(CLI::App& app, Action& action);

} // namespace xrun::cli
