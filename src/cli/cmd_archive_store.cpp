// `xrun archive compress|extract|delete|restore|modify`: the commands that change what the
// archive holds.
#include "archive/inspect.hpp"
#include "archive/modify.hpp"
#include "archive/pack.hpp"
#include "archive/trash.hpp"
#include "cli/archive_commands.hpp"
#include "util/strings.hpp"
#include "xrun/error.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <iostream>
#include <memory>
#include <unistd.h>

namespace xrun::cli {

namespace {

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

/// The runs a command works on: named, `--where` or `--all`.
struct ChoiceArgs {
  std::string path = "results";
  std::vector<std::string> runs;
  std::string where;
  bool all = false;

  archive::RunChoice choice() const { return {runs, selection(where), all}; }
};

/// The runs argument, --path, --where and --all (which exclude each other), described for
/// runs that are `what` ("Runs", or "Trashed runs"); `all` describes --all.
void add_choice_options(CLI::App& command, ChoiceArgs& args, const std::string& what,
                        const std::string& all) {
  command.add_option("runs", args.runs, what + ": folders, or run ids (or unique parts of them)");
  add_path_option(command, args.path);
  auto* where = command.add_option("--where", args.where, what + " matching an expression");
  command.add_flag("--all", args.all, all)->excludes(where);
}

struct TrashArgs : ChoiceArgs {
  bool purge = false;
  bool dry_run = false;
  bool yes = false;

  archive::TrashOptions options() const {
    archive::TrashOptions chosen;
    chosen.root = path;
    chosen.choice = choice();
    chosen.purge = purge;
    chosen.dry_run = dry_run;
    return chosen;
  }
};

} // namespace

void add_archive_pack(CLI::App& archive, Action& action) {
  auto pack = std::make_shared<archive::CompressOptions>();
  auto pack_where = std::make_shared<std::string>();
  auto* compress = archive.add_subcommand(
      "compress", "Selected runs into one .tar.zst, .tar.gz or .zip (chosen by -o)");
  compress->add_option("--path", pack->root, "The archive folder")->capture_default_str();
  auto* where = compress->add_option("--where", *pack_where, "Only runs matching an expression");
  compress->add_flag("--all", pack->all, "Every run")->excludes(where);
  compress->add_option("-o,--output", pack->output, "The file to write")->capture_default_str();
  compress->add_flag("--remove", pack->remove,
                     "Delete the runs after the written file is read back and verified");
  compress->callback([pack, pack_where, &action] {
    action = [pack, pack_where] {
      pack->where = selection(*pack_where);
      return archive::compress_runs(*pack, std::cout);
    };
  });

  auto unpack = std::make_shared<std::pair<std::string, std::string>>("", ".");
  auto* extract = archive.add_subcommand(
      "extract", "Restore runs from a compressed file; entries escaping the folder are refused");
  extract->add_option("file", unpack->first, "The .tar.zst, .tar.gz or .zip file")->required();
  extract->add_option("--path", unpack->second, "Where to restore")->capture_default_str();
  extract->callback([unpack, &action] {
    action = [unpack] {
      return archive::extract_archive(unpack->first, unpack->second, std::cout);
    };
  });
}

void add_archive_trash(CLI::App& archive, Action& action) {
  auto trash = std::make_shared<TrashArgs>();
  auto* remove = archive.add_subcommand(
      "delete", "Move runs to the archive's trash (--purge deletes for good, after asking)");
  add_choice_options(*remove, *trash, "Runs", "Every run");
  remove->add_flag("--purge", trash->purge,
                   "Alone: empty the trash for good; with runs, --where or --all: delete those "
                   "runs for good, not into the trash");
  remove->add_flag("--dry-run", trash->dry_run, "List what would be deleted; change nothing");
  remove->add_flag("-y,--yes", trash->yes,
                   "Delete for good without asking (needed for --purge without a terminal)");
  remove->callback([trash, &action] {
    action = [trash] {
      auto options = trash->options();
      options.confirm = [yes = trash->yes](const std::string& what,
                                           const std::vector<std::string>& items) {
        return yes || confirm_on_terminal(what, items);
      };
      return archive::delete_runs(options, std::cout);
    };
  });

  auto* restore = archive.add_subcommand("restore", "Bring trashed runs back");
  add_choice_options(*restore, *trash, "Trashed runs", "Every trashed run");
  restore->add_flag("--dry-run", trash->dry_run, "List what would come back; change nothing");
  restore->callback([trash, &action] {
    action = [trash] { return archive::restore_runs(trash->options(), std::cout); };
  });
}

void add_archive_modify(CLI::App& archive, Action& action) {
  auto change = std::make_shared<archive::ModifyOptions>();
  auto chosen = std::make_shared<ChoiceArgs>();
  auto* modify = archive.add_subcommand(
      "modify", "Change parameter values, meta fields or tags of runs (recorded in the meta)");
  add_choice_options(*modify, *chosen, "Runs", "Every run");
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
  modify->callback([change, chosen, &action] {
    action = [change, chosen] {
      change->choice = chosen->choice();
      change->root = chosen->path;
      return archive::modify_runs(*change, std::cout);
    };
  });
}

} // namespace xrun::cli
