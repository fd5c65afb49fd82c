#include "cli/commands.hpp"
#include "python/child.hpp"

#include <CLI/CLI.hpp>
#include <memory>

namespace xrun::cli {

void add_plugins_command(CLI::App& app, Action& action) {
  auto* plugins = app.add_subcommand("plugins", "The plugins xrun finds, and whether they load");
  plugins->require_subcommand(1);
  auto* list = plugins->add_subcommand(
      "list", "Every plugin found (xrun's own, ~/.config/xrun/plugins, xrun_* packages): "
              "on or off by default, its hooks, and why it fails to load");
  auto json = std::make_shared<bool>(false);
  list->add_flag("--json", *json, "One JSON record per plugin");
  list->footer("Turn plugins on or off per run with --plugin NAME / --no-plugin NAME, a "
               "config's `plugins:` key, or XRUN_PLUGINS=notify,-plot_track.");
  list->callback([&action, json] {
    action = [json] {
      python::ChildOptions options;
      options.mode = python::ChildMode::plugins;
      options.json = *json;
      return python::run_child(options);
    };
  });
}

} // namespace xrun::cli
