// `xrun archive delete` and `restore`: runs go to a trash folder and can come back.
#pragma once

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>

namespace xrun::archive {

/// The trash folder of an archive: `<root>/.trash` (hidden from every other command).
std::filesystem::path trash_of(const std::filesystem::path& root);

/// Moves the selected runs (`where`, or all with nullopt) into the trash, keeping their paths
/// under the root; with `purge`, deletes them for good instead (what else is in the trash
/// stays). Runs recorded as running are refused. Returns the exit code.
int delete_runs(const std::filesystem::path& root, const std::optional<std::string>& where,
                bool purge, std::ostream& out);

/// Deletes everything in the trash for good.
int purge_trash(const std::filesystem::path& root, std::ostream& out);

/// Moves the selected trashed runs back to where they were; refuses to overwrite a run that is
/// there again.
int restore_runs(const std::filesystem::path& root, const std::optional<std::string>& where,
                 std::ostream& out);

} // namespace xrun::archive
