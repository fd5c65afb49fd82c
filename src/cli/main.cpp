#include "cli/cli.hpp"

#include "cli/commands.hpp"
#include "cli/complete.hpp"
#include "core/diagnostics.hpp"
#include "util/strings.hpp"
#include "xrun/error.hpp"
#include "xrun/version.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <iostream>
#include <system_error>
#include <string>
#include <vector>

namespace xrun::cli {

namespace {

std::vector<std::string> visible_subcommands(CLI::App& app) {
  std::vector<std::string> names;
  for (const auto* sub : app.get_subcommands([](CLI::App* s) { return !s->get_group().empty(); })) {
    names.push_back(sub->get_name());
  }
  return names;
}

/// `xrun rnu`, `xrun archive lst`: CLI11 would only say the argument was not expected; name
/// the likely command. Walks down the command words as long as each names a command group.
std::optional<int> check_subcommand_name(CLI::App& app, int argc, char** argv) {
  CLI::App* group = &app;
  std::string prefix = "xrun";
  for (int i = 1; i < argc && argv[i][0] != '-'; ++i) {
    if (group->get_subcommands([](CLI::App*) { return true; }).empty()) {
      return std::nullopt; // positional arguments of a command, not command words
    }
    const std::string given = argv[i];
    CLI::App* found = nullptr;
    for (auto* sub : group->get_subcommands([](CLI::App*) { return true; })) {
      if (sub->check_name(given)) {
        found = sub;
      }
    }
    if (found == nullptr) {
      const auto suggestion = util::closest_match(given, visible_subcommands(*group));
      core::print_error(fmt::format("unknown command '{} {}'", prefix, given),
                  suggestion ? fmt::format("did you mean '{} {}'?", prefix, *suggestion)
                             : fmt::format("run '{} --help' for the list of commands", prefix));
      return k_exit_usage;
    }
    group = found;
    prefix += " " + given;
  }
  return std::nullopt;
}

int run_app(int argc, char** argv) {
  CLI::App app{"xrun: run Python experiments and manage their archive of runs", "xrun"};
  app.set_version_flag("-V,--version", fmt::format("xrun {}", k_version), "Print the version");
  app.set_help_flag("-h,--help", "Print this help");
  app.require_subcommand(1);
  app.footer("Run 'xrun COMMAND --help' for the options of a command.");

  Action action;
  const auto words = experiment_words(argc, argv);
  add_run_command(app, action, words);
  add_reproduce_command(app, action, words);
  add_archive_command(app, action);
  add_template_command(app, action);
  add_python_path_command(app, action);
  add_sweep_command(app, action);
  add_ui_command(app, action);
  add_plugins_command(app, action);
  add_completions_command(app, action);
  add_watch_command(app, action);

  // The shells' completion scripts call `xrun __complete WORDS...`: answered from the
  // definition above, before any parsing (the words are a half-typed command line).
  if (argc >= 2 && std::string_view(argv[1]) == "__complete") {
    return complete(app, std::vector<std::string>(argv + 2, argv + argc), std::cout);
  }

  if (const auto code = check_subcommand_name(app, argc, argv)) {
    return *code;
  }
  try {
    app.parse(words.parsed, argv);
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForAllHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForVersion& version) {
    return app.exit(version);
  } catch (const CLI::ParseError& error) {
    if (argc < 2) {
      std::cerr << app.help();
      core::print_error("no command given", "run 'xrun --help' for the list of commands");
    } else {
      core::print_error(error.what(), "run 'xrun --help' for usage");
    }
    return k_exit_usage;
  }

  return action ? action() : k_exit_usage;
}

} // namespace

int main(int argc, char** argv) {
  try {
    return run_app(argc, argv);
  } catch (const Error& error) {
    core::print_error(error.what(), error.hint());
    return error.exit_code();
  } catch (const std::system_error& error) {
    // A system call refused outside what xrun turns into its own errors (a pipe, a folder
    // that cannot be removed): the system's answer, not a defect of xrun's.
    core::print_error(error.what());
    return k_exit_system;
  } catch (const std::exception& error) {
    core::print_error(error.what()); // not converted to an Error: a defect of xrun
    return k_exit_internal;
  }
}

} // namespace xrun::cli
