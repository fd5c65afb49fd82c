// `xrun archive list|overview|du|index|reconcile`: commands on the archive as a whole.
#include "archive/index.hpp"
#include "archive/inspect.hpp"
#include "archive/list.hpp"
#include "archive/summary.hpp"
#include "cli/archive_commands.hpp"
#include "util/color.hpp"
#include "util/strings.hpp"

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <unistd.h>

namespace xrun::cli {

namespace {

struct ListArgs {
  std::string path = "results";
  std::string where;
  std::string columns;
  std::string sort = "start_time";
  std::size_t limit = 0;
  bool json = false;
  bool csv = false;
};

/// `LR, data.my key` -> [LR, data.my key]: spaces around a name go, spaces inside it stay.
std::vector<std::string> split_columns(const std::string& text) {
  std::vector<std::string> columns;
  for (const auto& part : util::split(text, ',')) {
    if (auto name = util::trim(part); !name.empty()) {
      columns.push_back(std::move(name));
    }
  }
  return columns;
}

archive::ListOptions list_options(const ListArgs& args) {
  archive::ListOptions options;
  options.root = args.path;
  options.where = selection(args.where);
  options.columns = split_columns(args.columns);
  options.sort = args.sort;
  if (args.limit > 0) {
    options.limit = args.limit;
  }
  options.format = args.json  ? archive::OutputFormat::json
                   : args.csv ? archive::OutputFormat::csv
                              : archive::OutputFormat::table;
  options.color = util::color_enabled(STDOUT_FILENO);
  return options;
}

struct SummaryArgs {
  std::string path = "results";
  std::string where;
  bool json = false;
  std::size_t limit = 0;
};

} // namespace

void add_archive_list(CLI::App& archive, Action& action) {
  auto args = std::make_shared<ListArgs>();
  auto* list = archive.add_subcommand("list", "One row per run: status, run, start, duration");
  add_path_option(*list, args->path);
  list->add_option("--where", args->where,
                   "Only runs matching an expression: LR >= 0.01 and status == \"done\"");
  list->add_option("--columns", args->columns,
                   "More columns: parameters, data values, meta fields (LR,data.metrics.acc)");
  list->add_option("--sort", args->sort, "Sort by a column; -NAME sorts descending")
      ->capture_default_str();
  list->add_option("--limit", args->limit, "At most this many rows")
      ->check(CLI::Range(1, 100000000));
  auto* json = list->add_flag("--json", args->json, "One JSON array, for scripts");
  list->add_flag("--csv", args->csv, "CSV with a header line, for spreadsheets")->excludes(json);
  list->callback([args, &action] {
    action = [args] { return archive::list_runs(list_options(*args), std::cout); };
  });
}

void add_archive_summaries(CLI::App& archive, Action& action) {
  auto args = std::make_shared<SummaryArgs>();
  auto* overview = archive.add_subcommand(
      "overview", "Runs by status, success rate, durations, disk use, errors, per namespace");
  add_path_option(*overview, args->path);
  overview->add_option("--where", args->where, "Only runs matching an expression");
  overview->add_flag("--json", args->json, "One JSON object, for scripts");
  overview->callback([args, &action] {
    action = [args] {
      return archive::overview(args->path, selection(args->where), args->json, std::cout);
    };
  });

  auto* du = archive.add_subcommand("du", "Disk use per run (largest first) and per namespace");
  add_path_option(*du, args->path);
  du->add_option("--where", args->where, "Only runs matching an expression");
  du->add_option("--limit", args->limit, "At most this many runs")->check(CLI::Range(1, 100000000));
  du->callback([args, &action] {
    action = [args] {
      return archive::disk_usage(args->path, selection(args->where), args->limit, std::cout);
    };
  });
}

void add_archive_upkeep(CLI::App& archive, Action& action) {
  struct IndexArgs {
    std::string path = "results";
    bool rebuild = false;
  };
  auto args = std::make_shared<IndexArgs>();
  auto* index = archive.add_subcommand(
      "index", "Bring the archive's index up to date (it makes listing fast; safe to delete)");
  add_path_option(*index, args->path);
  index->add_flag("--rebuild", args->rebuild, "Start it again from the run folders");
  index->callback([args, &action] {
    action = [args] { return archive::index_archive(args->path, args->rebuild, std::cout); };
  });

  auto* reconcile = archive.add_subcommand(
      "reconcile", "Mark runs whose supervisor died (stale heartbeat) as lost");
  add_path_option(*reconcile, args->path);
  reconcile->callback([args, &action] {
    action = [args] { return archive::reconcile_runs(args->path, std::cout); };
  });
}

} // namespace xrun::cli
