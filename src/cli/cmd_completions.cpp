#include "cli/commands.hpp"
#include "xrun/completion_bash.hpp"
#include "xrun/completion_fish.hpp"
#include "xrun/completion_zsh.hpp"

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

namespace xrun::cli {

void add_completions_command(CLI::App& app, Action& action) {
  auto shell = std::make_shared<std::string>();
  auto* completions = app.add_subcommand(
      "completions", "Print the shell completion script: eval \"$(xrun completions bash)\"");
  completions->add_option("shell", *shell, "bash, zsh or fish")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh", "fish"}));
  completions->footer("Installed with xrun, the scripts load by themselves in bash (with "
                      "bash-completion), zsh and fish.");
  completions->callback([shell, &action] {
    action = [shell] {
      std::cout << (*shell == "bash"  ? k_completion_bash
                    : *shell == "zsh" ? k_completion_zsh
                                      : k_completion_fish);
      return 0;
    };
  });
}

} // namespace xrun::cli
