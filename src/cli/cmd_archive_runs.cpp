// `xrun archive show|diff|tail`: one or two recorded runs, found by folder or id.
#include "archive/diff.hpp"
#include "archive/inspect.hpp"
#include "cli/archive_commands.hpp"
#include "util/color.hpp"

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <unistd.h>

namespace xrun::cli {

namespace {

struct RunArgs {
  std::string path = "results";
  std::string run;
  std::string other; // of `diff`
  bool follow = false;
  bool json = false; // of `show`
};

void add_run_argument(CLI::App& command, RunArgs& args) {
  command.add_option("run", args.run, "A run folder, or a run id (or a unique part of one)")
      ->required();
}

} // namespace

void add_archive_show(CLI::App& archive, Action& action) {
  auto args = std::make_shared<RunArgs>();
  auto* show = archive.add_subcommand(
      "show", "Everything about one run, with a sparkline of each tracked series");
  add_path_option(*show, args->path);
  add_run_argument(*show, *args);
  show->add_flag("--json", args->json,
                 "One JSON object: path, id, status, meta, data, inputs and consumers");
  show->callback([args, &action] {
    action = [args] {
      return archive::show_run(
          archive::resolve_run(args->path, args->run), std::cout,
          {.archive = args->path, .color = util::color_enabled(STDOUT_FILENO), .json = args->json});
    };
  });
}

void add_archive_diff(CLI::App& archive, Action& action) {
  auto args = std::make_shared<RunArgs>();
  auto* diff = archive.add_subcommand(
      "diff", "What differs between two runs: parameters, data, meta and code");
  add_path_option(*diff, args->path);
  diff->add_option("a", args->run, "The first run (folder, id or unique part)")->required();
  diff->add_option("b", args->other, "The second run")->required();
  diff->callback([args, &action] {
    action = [args] {
      return archive::diff_runs(archive::resolve_run(args->path, args->run),
                                archive::resolve_run(args->path, args->other), std::cout,
                                util::color_enabled(STDOUT_FILENO));
    };
  });
}

void add_archive_tail(CLI::App& archive, Action& action) {
  auto args = std::make_shared<RunArgs>();
  auto* tail = archive.add_subcommand("tail", "The log of a run; -f follows a live one");
  add_path_option(*tail, args->path);
  add_run_argument(*tail, *args);
  tail->add_flag("-f,--follow", args->follow, "Keep printing while the run goes on");
  tail->callback([args, &action] {
    action = [args] {
      return archive::tail_run(archive::resolve_run(args->path, args->run), args->follow,
                               std::cout);
    };
  });
}

} // namespace xrun::cli
