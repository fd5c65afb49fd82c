#include "archive/diff.hpp"
#include "archive/index.hpp"
#include "archive/inspect.hpp"
#include "archive/list.hpp"
#include "archive/modify.hpp"
#include "archive/pack.hpp"
#include "archive/summary.hpp"
#include "archive/trash.hpp"
#include "cli/commands.hpp"
#include "util/color.hpp"
#include "util/strings.hpp"
#include "xrun/error.hpp"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fmt/format.h>
#include <iostream>
#include <memory>
#include <optional>
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

/// Asks whether to do `action` to `items` on the terminal (stderr), reading y/N from stdin.
/// Throws UsageError when stdin is not a terminal: deleting for good then needs --yes.
bool confirm_on_terminal(const std::string& action, const std::vector<std::string>& items) {
  if (::isatty(STDIN_FILENO) == 0) {
    throw UsageError(fmt::format("--purge would {}, and stdin is not a terminal to confirm it on; "
                                 "nothing was deleted",
                                 action),
                     "add --yes to delete for good without asking, or --dry-run to see what "
                     "would go");
  }
  constexpr std::size_t k_shown = 20;
  for (std::size_t i = 0; i < items.size() && i < k_shown; ++i) {
    std::cerr << "  " << items[i] << '\n';
  }
  if (items.size() > k_shown) {
    std::cerr << fmt::format("  ... and {} more\n", items.size() - k_shown);
  }
  std::cerr << action << "? [y/N] " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) {
    std::cerr << '\n';
    return false;
  }
  answer = util::trim(answer);
  return answer == "y" || answer == "Y" || answer == "yes" || answer == "Yes" || answer == "YES";
}

} // namespace

void add_archive_command(CLI::App& app, Action& action) {
  auto* archive = app.add_subcommand(
      "archive", "Work with the runs already recorded (list them; never starts Python)");
  archive->require_subcommand(1);

  auto args = std::make_shared<ListArgs>();
  auto* list = archive->add_subcommand("list", "One row per run: status, run, start, duration");
  list->add_option("--path", args->path, "The archive folder")->capture_default_str();
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
    action = [args] {
      archive::ListOptions options;
      options.root = args->path;
      if (!args->where.empty()) {
        options.where = args->where;
      }
      options.columns = split_columns(args->columns);
      options.sort = args->sort;
      if (args->limit > 0) {
        options.limit = args->limit;
      }
      options.format = args->json  ? archive::OutputFormat::json
                       : args->csv ? archive::OutputFormat::csv
                                   : archive::OutputFormat::table;
      options.color = util::color_enabled(STDOUT_FILENO);
      return archive::list_runs(options, std::cout);
    };
  });

  struct RunArgs {
    std::string path = "results";
    std::string run;
    bool follow = false;
  };
  auto one = std::make_shared<RunArgs>();
  auto* show = archive->add_subcommand(
      "show", "Everything about one run, with a sparkline of each tracked series");
  show->add_option("--path", one->path, "The archive folder")->capture_default_str();
  show->add_option("run", one->run, "A run folder, or a run id (or a unique part of one)")
      ->required();
  show->callback([one, &action] {
    action = [one] {
      return archive::show_run(archive::resolve_run(one->path, one->run), std::cout,
                               util::color_enabled(STDOUT_FILENO));
    };
  });

  auto pair = std::make_shared<std::pair<std::string, std::string>>();
  auto* diff = archive->add_subcommand(
      "diff", "What differs between two runs: parameters, data, meta and code");
  diff->add_option("--path", one->path, "The archive folder")->capture_default_str();
  diff->add_option("a", pair->first, "The first run (folder, id or unique part)")->required();
  diff->add_option("b", pair->second, "The second run")->required();
  diff->callback([one, pair, &action] {
    action = [one, pair] {
      return archive::diff_runs(archive::resolve_run(one->path, pair->first),
                                archive::resolve_run(one->path, pair->second), std::cout,
                                util::color_enabled(STDOUT_FILENO));
    };
  });

  auto* tail = archive->add_subcommand("tail", "The log of a run; -f follows a live one");
  tail->add_option("--path", one->path, "The archive folder")->capture_default_str();
  tail->add_option("run", one->run, "A run folder, or a run id (or a unique part of one)")
      ->required();
  tail->add_flag("-f,--follow", one->follow, "Keep printing while the run goes on");
  tail->callback([one, &action] {
    action = [one] {
      return archive::tail_run(archive::resolve_run(one->path, one->run), one->follow, std::cout);
    };
  });

  auto pack = std::make_shared<archive::CompressOptions>();
  auto pack_where = std::make_shared<std::string>();
  auto* compress = archive->add_subcommand(
      "compress", "Selected runs into one .tar.zst, .tar.gz or .zip (chosen by -o)");
  compress->add_option("--path", pack->root, "The archive folder")->capture_default_str();
  auto* where = compress->add_option("--where", *pack_where, "Only runs matching an expression");
  compress->add_flag("--all", pack->all, "Every run")->excludes(where);
  compress->add_option("-o,--output", pack->output, "The file to write")->capture_default_str();
  compress->add_flag("--remove", pack->remove,
                     "Delete the runs after the written file is read back and verified");
  compress->callback([pack, pack_where, &action] {
    action = [pack, pack_where] {
      if (!pack_where->empty()) {
        pack->where = *pack_where;
      }
      return archive::compress_runs(*pack, std::cout);
    };
  });

  auto unpack = std::make_shared<std::pair<std::string, std::string>>("", ".");
  auto* extract = archive->add_subcommand(
      "extract", "Restore runs from a compressed file; entries escaping the folder are refused");
  extract->add_option("file", unpack->first, "The .tar.zst, .tar.gz or .zip file")->required();
  extract->add_option("--path", unpack->second, "Where to restore")->capture_default_str();
  extract->callback([unpack, &action] {
    action = [unpack] {
      return archive::extract_archive(unpack->first, unpack->second, std::cout);
    };
  });

  struct SummaryArgs {
    std::string path = "results";
    std::string where;
    bool json = false;
    std::size_t limit = 0;
    std::optional<std::string> selection() const {
      return where.empty() ? std::nullopt : std::optional<std::string>(where);
    }
  };
  auto summary = std::make_shared<SummaryArgs>();
  auto* overview = archive->add_subcommand(
      "overview", "Runs by status, success rate, durations, disk use, errors, per namespace");
  overview->add_option("--path", summary->path, "The archive folder")->capture_default_str();
  overview->add_option("--where", summary->where, "Only runs matching an expression");
  overview->add_flag("--json", summary->json, "One JSON object, for scripts");
  overview->callback([summary, &action] {
    action = [summary] {
      return archive::overview(summary->path, summary->selection(), summary->json, std::cout);
    };
  });
  auto* du = archive->add_subcommand("du", "Disk use per run (largest first) and per namespace");
  du->add_option("--path", summary->path, "The archive folder")->capture_default_str();
  du->add_option("--where", summary->where, "Only runs matching an expression");
  du->add_option("--limit", summary->limit, "At most this many runs")
      ->check(CLI::Range(1, 100000000));
  du->callback([summary, &action] {
    action = [summary] {
      return archive::disk_usage(summary->path, summary->selection(), summary->limit, std::cout);
    };
  });

  struct TrashArgs {
    std::string path = "results";
    std::vector<std::string> runs;
    std::string where;
    bool all = false;
    bool purge = false;
    bool dry_run = false;
    bool yes = false;

    archive::RunChoice choice() const {
      return {runs, where.empty() ? std::nullopt : std::optional<std::string>(where), all};
    }
    archive::TrashOptions options() const {
      archive::TrashOptions chosen;
      chosen.root = path;
      chosen.choice = choice();
      chosen.purge = purge;
      chosen.dry_run = dry_run;
      return chosen;
    }
  };
  auto trash = std::make_shared<TrashArgs>();
  auto* remove = archive->add_subcommand(
      "delete", "Move runs to the archive's trash (--purge deletes for good, after asking)");
  remove->add_option("runs", trash->runs,
                     "Runs: folders, or run ids (or unique parts of them)");
  remove->add_option("--path", trash->path, "The archive folder")->capture_default_str();
  auto* remove_where = remove->add_option("--where", trash->where, "Runs matching an expression");
  remove->add_flag("--all", trash->all, "Every run")->excludes(remove_where);
  remove->add_flag("--purge", trash->purge,
                   "Alone: empty the trash for good; with runs, --where or --all: delete those "
                   "runs for good, not into the trash");
  remove->add_flag("--dry-run", trash->dry_run, "List what would be deleted; change nothing");
  remove->add_flag("-y,--yes", trash->yes,
                   "Delete for good without asking (needed for --purge without a terminal)");
  remove->callback([trash, &action] {
    action = [trash] {
      auto options = trash->options();
      const bool yes = trash->yes;
      options.confirm = [yes](const std::string& what, const std::vector<std::string>& items) {
        return yes || confirm_on_terminal(what, items);
      };
      return archive::delete_runs(options, std::cout);
    };
  });
  auto* restore = archive->add_subcommand("restore", "Bring trashed runs back");
  restore->add_option("runs", trash->runs,
                      "Trashed runs: folders, or run ids (or unique parts of them)");
  restore->add_option("--path", trash->path, "The archive folder")->capture_default_str();
  auto* restore_where =
      restore->add_option("--where", trash->where, "Trashed runs matching an expression");
  restore->add_flag("--all", trash->all, "Every trashed run")->excludes(restore_where);
  restore->add_flag("--dry-run", trash->dry_run, "List what would come back; change nothing");
  restore->callback([trash, &action] {
    action = [trash] { return archive::restore_runs(trash->options(), std::cout); };
  });

  auto change = std::make_shared<archive::ModifyOptions>();
  auto change_where = std::make_shared<TrashArgs>();
  auto* modify = archive->add_subcommand(
      "modify", "Change parameter values, meta fields or tags of runs (recorded in the meta)");
  modify->add_option("runs", change_where->runs,
                     "Runs: folders, or run ids (or unique parts of them)");
  modify->add_option("--path", change_where->path, "The archive folder")->capture_default_str();
  auto* modify_where =
      modify->add_option("--where", change_where->where, "Runs matching an expression");
  modify->add_flag("--all", change_where->all, "Every run")->excludes(modify_where);
  modify
      ->add_option("--set", change->assignments,
                   "NAME=VALUE: a parameter (LR=0.01) or a meta field "
                   "(meta.description=..., meta.note=...); repeat for more")
      ->allow_extra_args(false);
  modify->add_option("--add-tag", change->add_tags, "Tag the runs (repeatable)")
      ->allow_extra_args(false);
  modify->add_option("--remove-tag", change->remove_tags, "Take a tag off the runs (repeatable)")
      ->allow_extra_args(false);
  modify->add_flag("--dry-run", change->dry_run, "Show what would change; write nothing");
  modify->callback([change, change_where, &action] {
    action = [change, change_where] {
      change->choice = change_where->choice();
      change->root = change_where->path;
      return archive::modify_runs(*change, std::cout);
    };
  });

  auto rebuild = std::make_shared<bool>(false);
  auto* index = archive->add_subcommand(
      "index", "Bring the archive's index up to date (it makes listing fast; safe to delete)");
  index->add_option("--path", one->path, "The archive folder")->capture_default_str();
  index->add_flag("--rebuild", *rebuild, "Start it again from the run folders");
  index->callback([one, rebuild, &action] {
    action = [one, rebuild] { return archive::index_archive(one->path, *rebuild, std::cout); };
  });

  auto* reconcile = archive->add_subcommand(
      "reconcile", "Mark runs whose supervisor died (stale heartbeat) as lost");
  reconcile->add_option("--path", one->path, "The archive folder")->capture_default_str();
  reconcile->callback(
      [one, &action] { action = [one] { return archive::reconcile_runs(one->path, std::cout); }; });
}

} // namespace xrun::cli
