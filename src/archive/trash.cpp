#include "archive/trash.hpp"

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

} // namespace

std::filesystem::path trash_of(const std::filesystem::path& root) {
  return root / ".trash";
}

int delete_runs(const std::filesystem::path& root, const std::optional<std::string>& where,
                bool purge, std::ostream& out) {
  const double now = util::to_epoch_seconds(util::Clock::now());
  const auto runs = select_runs(root, where, now);
  if (runs.empty()) {
    throw UsageError(fmt::format("no runs {}in {}", where ? "match " : "", root.string()));
  }
  for (const auto& run : runs) {
    if (run.readable() && run.summary.status == RunStatus::running) {
      throw UsageError(fmt::format("{} is recorded as running; nothing was deleted", run.path),
                       "a run whose supervisor died can go after `xrun archive reconcile`");
    }
  }
  std::uintmax_t freed = 0;
  for (const auto& run : runs) {
    const auto trashed = trash_of(root) / run.relative();
    // Through the trash even when purging: the run leaves the archive at once (one rename),
    // and a purge cut short leaves it in the trash, not half-deleted among the runs.
    move_run(run.folder(), trashed);
    if (!purge) {
      out << fmt::format("trashed  {}\n", run.path);
      continue;
    }
    const auto size = util::tree_size(trashed);
    std::error_code error;
    std::filesystem::remove_all(trashed, error);
    if (error) {
      throw ArchiveError(fmt::format("cannot delete {}: {}", trashed.string(), error.message()),
                         "what is left of it is in the trash");
    }
    freed += size;
    out << fmt::format("deleted  {}\n", run.path);
  }
  if (purge) {
    out << fmt::format("{} deleted for good, freed {}\n", util::count_of(runs.size(), "run"),
                       util::format_bytes(static_cast<double>(freed)));
    return 0;
  }
  out << fmt::format("{} moved to {} (`xrun archive restore` brings them back, "
                     "`xrun archive delete --purge` frees the space)\n",
                     util::count_of(runs.size(), "run"), trash_of(root).string());
  return 0;
}

int purge_trash(const std::filesystem::path& root, std::ostream& out) {
  const auto trash = trash_of(root);
  std::error_code error;
  if (!std::filesystem::exists(trash, error)) {
    out << "the trash is empty\n";
    return 0;
  }
  const auto size = util::tree_size(trash);
  std::filesystem::remove_all(trash, error);
  if (error) {
    throw ArchiveError(fmt::format("cannot empty {}: {}", trash.string(), error.message()));
  }
  out << fmt::format("freed {}\n", util::format_bytes(static_cast<double>(size)));
  return 0;
}

int restore_runs(const std::filesystem::path& root, const std::optional<std::string>& where,
                 std::ostream& out) {
  const auto trash = trash_of(root);
  std::error_code error;
  if (!std::filesystem::is_directory(trash, error)) {
    throw UsageError(fmt::format("there is no trash in {}", root.string()));
  }
  const auto runs = select_runs(trash, where, util::to_epoch_seconds(util::Clock::now()));
  if (runs.empty()) {
    throw UsageError(fmt::format("no trashed runs {}in {}", where ? "match " : "",
                                 trash.string()));
  }
  for (const auto& run : runs) {
    const auto destination = root / run.relative();
    move_run(run.folder(), destination);
    out << fmt::format("restored {}\n", destination.string());
  }
  return 0;
}

} // namespace xrun::archive
