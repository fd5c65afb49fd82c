// What `xrun run` and `xrun reproduce` do alike once their words are parsed.
#include "cli/experiment_options.hpp"
#include "cli/launch.hpp"
#include "core/run_labels.hpp"
#include "xrun/error.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <iostream>
#include <map>

namespace xrun::cli {

nlohmann::ordered_json run_labels(const RunOptions& options, const config::Config* config) {
  std::vector<std::string> tags = config ? config->tags : std::vector<std::string>{};
  for (const auto& tag : options.tags) {
    if (const auto problem = core::tag_problem(tag)) {
      throw UsageError(fmt::format("--tag '{}': {}", tag, *problem));
    }
    core::add_tag(tags, tag);
  }
  auto note = options.note ? *options.note : config ? config->note : std::string();
  if (const auto problem = core::note_problem(note); problem && options.note) {
    throw UsageError(fmt::format("--note: {}", *problem));
  }
  nlohmann::ordered_json labels = nlohmann::ordered_json::object();
  if (!tags.empty()) {
    labels["tags"] = tags;
  }
  if (!note.empty()) {
    labels["note"] = note;
  }
  return labels;
}

int launch(const RunOptions& options, python::ChildOptions child, run::RunRequest& request) {
  if (options.help || options.dry_run) {
    // Nothing is recorded: no supervisor needed, the module is read in this process.
    child.mode = options.help ? python::ChildMode::help : python::ChildMode::dry_run;
    return python::run_child(child);
  }
  for (const auto& choice : options.plugins) {
    child.plugins.push_back(choice);
  }
  return supervise_child(std::move(child), request);
}

void on_command(CLI::App* sub, const std::shared_ptr<RunOptions>& options, Action& action,
                const char* missing, const char* usage, Action command) {
  sub->callback([sub, options, &action, missing, usage, command] {
    options->rest = sub->remaining();
    options->rest.insert(options->rest.end(), options->tail.begin(), options->tail.end());
    // --plugin and --no-plugin before the file, in the order given (a later one wins).
    std::map<const CLI::Option*, std::size_t> taken;
    for (const auto* option : sub->parse_order()) {
      const auto name = option->get_name();
      if (name == "--plugin" || name == "--no-plugin") {
        const auto& results = option->results();
        if (const auto index = taken[option]++; index < results.size()) {
          options->plugin_flags.emplace_back(name, results[index]);
        }
      }
    }
    if (!options->file.empty()) {
      action = command;
      return;
    }
    action = [sub, options, missing, usage] {
      if (options->help) {
        std::cout << sub->help();
        return 0;
      }
      throw UsageError(missing, usage);
    };
  });
}

void add_experiment_command(CLI::App& app, Action& action, const ExperimentWords& words,
                            ExperimentCommandSpec spec) {
  auto options = std::make_shared<RunOptions>();
  options->command_line = words.command_line;
  options->tail = words.tail;
  auto* sub = app.add_subcommand(spec.name, spec.description);
  // `--help` after the argument is the experiment's, so CLI11 must not take it.
  sub->set_help_flag();
  // Everything after the argument is the experiment's: CLI11 stops at the first unknown word.
  sub->prefix_command();
  sub->add_option(spec.argument, options->file, spec.argument_description);
  add_run_flags(*sub, spec.command, *options);
  sub->footer(spec.footer);
  on_command(sub, options, action, spec.missing, spec.usage,
             [options, service = std::move(spec.service)] { return service(*options); });
}

} // namespace xrun::cli
