// What the tracking SDK adds to a run folder, as archive commands show it: the summary and
// primary metric, logged parameters, images and artifacts; and the artifacts of an archive,
// resolved by name and version.
#pragma once

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace xrun::archive {

/// A small values file of the tracking SDK (`name` in `folder`) as the index keeps it: its
/// text, "" when there is none, nullopt when it is to be read when needed (too large for the
/// index, or a problem said then).
std::optional<std::string> sdk_values_text(const std::filesystem::path& folder, const char* name);

/// `show`'s sections for the SDK's files of the run in `folder` (nothing when it has none).
/// A file that cannot be used is named in its section, never thrown.
void show_sdk_content(const std::filesystem::path& folder, std::ostream& out);

/// The stored file (blob) of the artifact `spec` (`NAME`, `NAME:latest`, `NAME:v3` or
/// `NAME:3`) of the archive `root`, from its registry (`.xrun/artifacts/`); for a name the
/// registry lacks (runs extracted from another archive), the file linked into the run whose
/// artifacts.json lists that version (the highest for `latest`). Throws UsageError for a
/// malformed spec, ArchiveError when the archive has no such artifact or version.
std::filesystem::path artifact_blob(const std::filesystem::path& root, std::string_view spec);

/// `xrun archive gc`: removes the blobs of the archive `root` that no run folder links (a
/// blob's only name is its own) and no artifact version of the registry names, and that were
/// not stored in the last hour (a run may be about to link them); prints them with
/// `dry_run`. Prints what it removed and what it freed. Returns the exit code.
int collect_blobs(const std::filesystem::path& root, bool dry_run, std::ostream& out);

} // namespace xrun::archive
