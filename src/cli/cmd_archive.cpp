#include "cli/archive_commands.hpp"
#include "cli/commands.hpp"

#include <CLI/CLI.hpp>

namespace xrun::cli {

void add_path_option(CLI::App& command, std::string& path) {
  command.add_option("--path", path, "The archive folder")->capture_default_str();
}

void add_archive_command(CLI::App& app, Action& action) {
  auto* archive = app.add_subcommand(
      "archive", "Work with the runs already recorded (list them; never starts Python)");
  archive->require_subcommand(1);
  // Help lists the subcommands in this order.
  add_archive_list(*archive, action);
  add_archive_show(*archive, action);
  add_archive_diff(*archive, action);
  add_archive_tail(*archive, action);
  add_archive_artifact(*archive, action);
  add_archive_pack(*archive, action);
  add_archive_summaries(*archive, action);
  add_archive_trash(*archive, action);
  add_archive_modify(*archive, action);
  add_archive_upkeep(*archive, action);
}

} // namespace xrun::cli
