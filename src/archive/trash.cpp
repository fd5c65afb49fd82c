#include "archive/trash.hpp"

#include "archive/inspect.hpp"
#include "archive/runs.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"
#include "xrun/error.hpp"

#include <fmt/format.h>
#include <system_error>
#include <vector>

namespace xrun::archive {

namespace {

/// Moves `from` to `to` (same filesystem: a rename), creating `to`'s parents. Throws
/// ArchiveError.
void move_run(const std::filesystem::path& from, const std::filesystem::path& to) {
  std::error_code error;
  if (std::filesystem::exists(to, error)) {
    throw ArchiveError(fmt::format("{} exists already; {} was left where it is", to.string(),
                                   from.string()));
  }
  try {
    util::make_directories(to.parent_path());
  } catch (const std::system_error& failure) {
    throw ArchiveError(failure.what());
  }
  std::filesystem::rename(from, to, error);
  if (error) {
    throw ArchiveError(fmt::format("cannot move {} to {}: {}", from.string(), to.string(),
                                   error.message()));
  }
}

std::string runs_text(std::size_t count) {
  return fmt::format("{} run{}", count, count == 1 ? "" : "s");
}

/// Asks `options.confirm` before deleting `paths` (of `bytes` in all) for good.
bool confirmed(const TrashOptions& options, const std::vector<std::string>& paths,
               std::uintmax_t bytes) {
  const auto action = fmt::format("delete {} for good ({})", runs_text(paths.size()),
                                  util::format_bytes(static_cast<double>(bytes)));
  return !options.confirm || options.confirm(action, paths);
}

/// Empties the trash of `options.root` for good.
int purge_trash(const TrashOptions& options, std::ostream& out) {
  const auto trash = trash_of(options.root);
  std::error_code error;
  if (!std::filesystem::exists(trash, error)) {
    out << "the trash is empty\n";
    return 0;
  }
  const auto size = util::tree_size(trash);
  std::vector<std::string> paths;
  for (const auto& run : find_runs(trash)) {
    paths.push_back(run.path);
  }
  if (options.dry_run) {
    for (const auto& path : paths) {
      out << fmt::format("would delete {}\n", path);
    }
    out << fmt::format("the trash holds {} ({}); dry run: nothing was deleted\n",
                       runs_text(paths.size()), util::format_bytes(static_cast<double>(size)));
    return 0;
  }
  if (!confirmed(options, paths, size)) {
    out << "nothing was deleted\n";
    return 1;
  }
  std::filesystem::remove_all(trash, error);
  if (error) {
    throw ArchiveError(fmt::format("cannot empty {}: {}", trash.string(), error.message()));
  }
  out << fmt::format("freed {}\n", util::format_bytes(static_cast<double>(size)));
  return 0;
}

} // namespace

std::filesystem::path trash_of(const std::filesystem::path& root) {
  return root / ".trash";
}

int delete_runs(const TrashOptions& options, std::ostream& out) {
  const auto& root = options.root;
  const auto& choice = options.choice;
  if (options.purge && choice.runs.empty() && !choice.where && !choice.all) {
    return purge_trash(options, out);
  }
  const auto runs = chosen_runs(root, choice, "delete");
  if (runs.empty()) {
    throw UsageError(fmt::format("no runs {}in {}", choice.where ? "match " : "",
                                 root.string()));
  }
  for (const auto& run : runs) {
    if (run.readable() && run.summary.status == RunStatus::running) {
      throw UsageError(fmt::format("{} is recorded as running; nothing was deleted", run.path),
                       "a run whose supervisor died can go after `xrun archive reconcile`");
    }
  }
  std::vector<std::string> paths;
  std::uintmax_t size = 0;
  for (const auto& run : runs) {
    paths.push_back(run.path);
    if (options.purge) {
      size += util::tree_size(run.folder());
    }
  }
  if (options.dry_run) {
    for (const auto& path : paths) {
      out << fmt::format("would {} {}\n", options.purge ? "delete" : "trash ", path);
    }
    out << (options.purge
                ? fmt::format("{} would be deleted for good, freeing {}", runs_text(runs.size()),
                              util::format_bytes(static_cast<double>(size)))
                : fmt::format("{} would move to {}", runs_text(runs.size()),
                              trash_of(root).string()))
        << "; dry run: nothing was changed\n";
    return 0;
  }
  if (options.purge && !confirmed(options, paths, size)) {
    out << "nothing was deleted\n";
    return 1;
  }
  std::uintmax_t freed = 0;
  for (const auto& run : runs) {
    const auto trashed = trash_of(root) / run.relative();
    // Through the trash even when purging: the run leaves the archive at once (one rename),
    // and a purge cut short leaves it in the trash, not half-deleted among the runs.
    move_run(run.folder(), trashed);
    if (!options.purge) {
      out << fmt::format("trashed  {}\n", run.path);
      continue;
    }
    const auto bytes = util::tree_size(trashed);
    std::error_code error;
    std::filesystem::remove_all(trashed, error);
    if (error) {
      throw ArchiveError(fmt::format("cannot delete {}: {}", trashed.string(), error.message()),
                         "what is left of it is in the trash");
    }
    freed += bytes;
    out << fmt::format("deleted  {}\n", run.path);
  }
  if (options.purge) {
    out << fmt::format("{} deleted for good, freed {}\n", util::count_of(runs.size(), "run"),
                       util::format_bytes(static_cast<double>(freed)));
    return 0;
  }
  out << fmt::format("{} moved to {} (`xrun archive restore` brings them back, "
                     "`xrun archive delete --purge` frees the space)\n",
                     util::count_of(runs.size(), "run"), trash_of(root).string());
  return 0;
}

int restore_runs(const TrashOptions& options, std::ostream& out) {
  const auto trash = trash_of(options.root);
  std::error_code error;
  if (!std::filesystem::is_directory(trash, error)) {
    throw UsageError(fmt::format("there is no trash in {}", options.root.string()));
  }
  const auto runs = chosen_runs(trash, options.choice, "restore");
  if (runs.empty()) {
    throw UsageError(fmt::format("no trashed runs {}in {}", options.choice.where ? "match " : "",
                                 trash.string()));
  }
  for (const auto& run : runs) {
    const auto destination = options.root / run.relative();
    if (options.dry_run) {
      out << fmt::format("would restore {}\n", destination.string());
      continue;
    }
    move_run(run.folder(), destination);
    out << fmt::format("restored {}\n", destination.string());
  }
  if (options.dry_run) {
    out << fmt::format("{} would come back; dry run: nothing was changed\n",
                       runs_text(runs.size()));
  }
  return 0;
}

} // namespace xrun::archive
