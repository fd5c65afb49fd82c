#include "cli/commands.hpp"
#include "run/watch.hpp"

#include <CLI/CLI.hpp>
#include <memory>

namespace xrun::cli {

void add_watch_command(CLI::App& app, Action& action) {
  // Started by the `xrun` package in plain python3 (`xrun.start()`); not for people, so
  // neither in --help nor in completion.
  auto* command = app.add_subcommand("watch", "Watch a run started from plain python3");
  command->group("");
  auto options = std::make_shared<run::WatchOptions>();
  command->add_option("--pid", options->pid, "The script's process")->required();
  command->add_option("--file", options->file, "The script, archived as the run's code");
  command->add_option("--control-in", options->control_in, "Descriptor of replies to the script")
      ->required();
  command->add_option("--control-out", options->control_out, "Descriptor of its messages")
      ->required();
  command->add_option("--out", options->out, "Descriptor of its captured stdout");
  command->add_option("--err", options->err, "Descriptor of its captured stderr");
  command->add_option("--pid-fd", options->pid_fd, "Descriptor to write the watcher's pid to");
  command->add_option("--system-metrics", options->system_metrics,
                      "Seconds between samples of the system metrics (0: none)");
  command
      ->add_option("--tqdm-mode", options->tqdm_mode,
                   "What the log keeps of redrawn lines: smart (the last state), all, none")
      ->check(CLI::IsMember({"smart", "all", "none"}));
  command->add_option("command", options->command_line, "The script's command line");
  command->callback([&action, options] { action = [options] { return run::watch(*options); }; });
}

} // namespace xrun::cli
