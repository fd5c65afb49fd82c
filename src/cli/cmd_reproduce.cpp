// `xrun reproduce RUN [--NAME VALUE ...]`: a recorded run's archived code run again with its
// parameters, as a new run.
#include "archive/inspect.hpp"
#include "cli/commands.hpp"
#include "cli/experiment_options.hpp"
#include "cli/launch.hpp"
#include "config/reproduction.hpp"
#include "core/diagnostics.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <iostream>
#include <memory>

namespace xrun::cli {

namespace {

int reproduce_command(RunOptions& options) {
  const auto parameters = split_flags(options);
  const auto folder = archive::resolve_run(options.archive, options.file);
  const auto plan = config::plan_reproduction(folder, parameters);
  for (const auto& warning : plan.warnings) {
    core::print_warning(warning);
  }
  if (options.cache || options.rerun) {
    throw UsageError(fmt::format("{} is for xrun run: a reproduction always runs again",
                                 options.cache ? "--cache" : "--rerun"));
  }
  python::ChildOptions child;
  child.file = plan.config.experiment;
  child.function = plan.config.function;
  child.args = parameters;
  // A function whose done run has the same cache key is run all the same: a reproduction is
  // asked to run the code again.
  child.rerun = !plan.config.function.empty();
  child.config = plan.config.to_json();
  child.plugins = child.config["plugins"];
  run::RunRequest request;
  request.file = plan.config.experiment;
  request.function = plan.config.function;
  request.args = parameters;
  request.command_line = options.command_line;
  request.meta_extra["reproduces"] = plan.reproduces;
  request.meta_extra.update(run_labels(options, nullptr)); // the recorded run's are its own
  // Kept in the new run like a config's, so that it can be reproduced in turn.
  request.resolved_config = resolved_config(plan.config);
  std::string where;
  std::error_code error;
  if (!plan.working_directory.empty() &&
      !std::filesystem::equivalent(plan.working_directory, ".", error)) {
    // Relative paths among the parameters (a data file, an output folder) mean what they
    // meant when the run ran.
    std::filesystem::current_path(plan.working_directory, error);
    where = error ? fmt::format(" (not in {}, the folder it ran in: {})",
                                plan.working_directory.string(), error.message())
                  : fmt::format(" in {}, the folder it ran in", plan.working_directory.string());
  }
  if (!options.help && (!options.dry_run || !where.empty())) {
    std::cerr << fmt::format("xrun: reproducing {}{}\n", folder.string(), where);
  }
  return launch(options, child, request);
}

} // namespace

void add_reproduce_command(CLI::App& app, Action& action, const ExperimentWords& words) {
  add_experiment_command(
      app, action, words,
      {ExperimentCommand::reproduce, "reproduce",
       "Run a recorded run's archived code again with its parameters, as a new run", "run",
       "A run folder, or a run id (or a unique part of one)",
       "Parameters given after RUN as --NAME VALUE replace the recorded values. The new run "
       "records the one it reproduces in its meta (`reproduces`).",
       "reproduce needs a run", "xrun reproduce RUN [--NAME VALUE ...]", reproduce_command});
}

} // namespace xrun::cli
