// `xrun ui`: the archive in a web browser, served by xrun itself.
#include "cli/archive_commands.hpp"
#include "cli/commands.hpp"
#include "ui/server.hpp"

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

namespace xrun::cli {

namespace {

struct UiArgs {
  std::string path = "results";
  int port = ui::k_default_port;
  std::string host = "127.0.0.1";
  std::string token;
  bool open = false;
};

} // namespace

void add_ui_command(CLI::App& app, Action& action) {
  auto args = std::make_shared<UiArgs>();
  auto* ui = app.add_subcommand(
      "ui", "Browse the archive in a web browser: runs, charts, logs and sweeps (a local server)");
  add_path_option(*ui, args->path);
  auto* port = ui->add_option("--port", args->port,
                              "The port; 0: any free one (default 8765, or a free one if taken)")
                   ->check(CLI::Range(0, 65535));
  ui->add_option("--host", args->host,
                 "The address to listen on; beyond loopback a token is required")
      ->capture_default_str();
  ui->add_option("--token", args->token,
                 "The token requests must carry (default: random beyond loopback)")
      ->envname("XRUN_UI_TOKEN");
  ui->add_flag("--open", args->open, "Open the URL in a browser (xdg-open)");
  ui->footer("Serves until Ctrl-C. From another machine: ssh -L 8765:127.0.0.1:8765 HOST, "
             "then open http://127.0.0.1:8765/ there.");
  ui->callback([args, port, &action] {
    action = [args, given_port = port->count() > 0] {
      ui::ServeOptions options;
      options.root = args->path;
      options.port = given_port ? std::optional<int>(args->port) : std::nullopt;
      options.host = args->host;
      options.token = args->token;
      options.open_browser = args->open;
      return ui::serve(options, std::cout);
    };
  });
}

} // namespace xrun::cli
