// `xrun archive delete` and `restore`: runs go to a trash folder and can come back.
#pragma once

#include "archive/inspect.hpp"

#include <filesystem>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace xrun::archive {

/// The trash folder of an archive: `<root>/.trash` (hidden from every other command).
std::filesystem::path trash_of(const std::filesystem::path& root);

/// Asked before anything is deleted for good: whether to do `action` ("delete 3 runs for
/// good (1.2 MB)") to `items` (the run folders). True goes ahead; false deletes nothing. May
/// throw UsageError (no one to ask).
using Confirm = std::function<bool(const std::string& action,
                                   const std::vector<std::string>& items)>;

/// The runs a command works on, and how.
struct TrashOptions {
  std::filesystem::path root = "results";
  RunChoice choice;                 // for restore: among the trashed runs
  bool purge = false;               // delete for good
  bool dry_run = false;             // only say what would be done
  Confirm confirm;                  // asked before a purge (not for a dry run)
};

/// Moves the chosen runs into the trash, keeping their paths under the root; with `purge`,
/// deletes them for good instead (what else is in the trash stays), and with `purge` and no
/// runs chosen, empties the trash. Runs recorded as running are refused. Returns the exit
/// code: 1 when a purge was not confirmed. Throws UsageError for a bad choice of runs.
int delete_runs(const TrashOptions& options, std::ostream& out);

/// Moves the chosen trashed runs (chosen among the runs in the trash) back to where they
/// were; refuses to overwrite a run that is there again.
int restore_runs(const TrashOptions& options, std::ostream& out);

} // namespace xrun::archive
