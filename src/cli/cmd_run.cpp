#include "cli/commands.hpp"
#include "python/child.hpp"
#include "run/supervisor.hpp"
#include "xrun/error.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <iostream>
#include <memory>

namespace xrun::cli {

namespace {

struct RunOptions {
  std::string file;
  std::vector<std::string> rest; // parameters as given, and xrun's own flags among them
  bool dry_run = false;
  bool help = false;
  std::vector<std::string> command_line;
};


/// Splits xrun's own flags from the experiment's `--NAME value` parameters. Parameters come
/// after the file and may carry any value, so this is done by hand rather than by CLI11.
void split_flags(RunOptions& options, std::vector<std::string>& parameters) {
  for (const auto& arg : options.rest) {
    if (arg == "--dry-run") {
      options.dry_run = true;
    } else if (arg == "-h" || arg == "--help") {
      options.help = true;
    } else {
      parameters.push_back(arg);
    }
  }
}

int run_command(RunOptions& options) {
  std::vector<std::string> parameters;
  split_flags(options, parameters);
  if (options.help || options.dry_run) {
    if (!std::filesystem::is_regular_file(options.file)) {
      throw UsageError(fmt::format("experiment file {} does not exist", options.file));
    }
    // Nothing is recorded: no supervisor needed, the module is read in this process.
    return python::run_child({options.help ? python::ChildMode::help : python::ChildMode::dry_run,
                              options.file, parameters, -1, -1});
  }
  const std::filesystem::path file = options.file;
  auto child = [file, parameters](int control_in, int control_out) {
    return python::run_child({python::ChildMode::run, file, parameters, control_in, control_out});
  };
  return run::supervise({file, parameters, options.command_line, child});
}

} // namespace

void add_run_command(CLI::App& app, Action& action, int argc, char** argv) {
  auto options = std::make_shared<RunOptions>();
  options->command_line.assign(argv, argv + argc);
  auto* run = app.add_subcommand("run", "Run a Python experiment module and record it in a run folder");
  // `--help` after the file lists the experiment's parameters, so CLI11 must not take it.
  run->set_help_flag();
  // Everything after the file is the experiment's: CLI11 stops at the first unknown argument.
  run->prefix_command();
  run->add_option("file", options->file, "The experiment module (.py)");
  run->add_flag("--dry-run", options->dry_run,
                "Print the resolved, typed parameters; create nothing");
  run->add_flag("-h,--help", options->help,
                "Without FILE: this help. With FILE: the experiment's parameters");
  run->footer("Give the experiment's parameters after FILE as --NAME VALUE or --NAME=VALUE.");
  run->callback([options, run, &action] {
    options->rest = run->remaining();
    if (options->file.empty()) {
      action = [run, options] {
        if (options->help) {
          std::cout << run->help();
          return 0;
        }
        throw UsageError("run needs an experiment file", "xrun run exp.py [--NAME VALUE ...]");
      };
      return;
    }
    action = [options] { return run_command(*options); };
  });
}

} // namespace xrun::cli
