// What the tracking SDK adds to a run folder, as archive commands show it: the summary and
// primary metric, logged parameters, images and artifacts; and the artifacts of an archive,
// resolved by name and version.
#pragma once

#include <filesystem>
#include <ostream>
#include <string>
#include <string_view>

namespace xrun::archive {

/// `show`'s sections for the SDK's files of the run in `folder` (nothing when it has none).
/// A file that cannot be used is named in its section, never thrown.
void show_sdk_content(const std::filesystem::path& folder, std::ostream& out);

/// The stored file (blob) of the artifact `spec` (`NAME`, `NAME:latest`, `NAME:v3` or
/// `NAME:3`) of the archive `root`. Throws UsageError for a malformed spec, ArchiveError when
/// the archive has no such artifact or version.
std::filesystem::path artifact_blob(const std::filesystem::path& root, std::string_view spec);

} // namespace xrun::archive
