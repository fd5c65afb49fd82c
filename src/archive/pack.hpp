// `xrun archive compress` and `extract`: runs into one file and back, through libarchive.
#pragma once

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>

namespace xrun::archive {

struct CompressOptions {
  std::filesystem::path root = "results";
  std::optional<std::string> where; // nullopt with `all`: every run
  bool all = false;
  std::filesystem::path output = "results.tar.zst"; // .tar.zst, .tar.gz / .tgz or .zip
  bool remove = false; // delete the runs once the written archive is read back and verified
  int threads = 2;     // zstd worker threads
};

/// Writes the selected runs (entries named `<root folder name>/<run path under root>/...`)
/// atomically to `options.output`; with `remove`, deletes each run folder only after reading
/// the whole archive back and finding every file with its size and checksum. Returns the exit
/// code. Throws UsageError (no selection, unknown extension), ArchiveError (I/O).
int compress_runs(const CompressOptions& options, std::ostream& out);

/// Restores an archive under `target`. Every entry is checked before anything is written: an
/// absolute path, a `..` component, or a link pointing outside `target` refuses the whole
/// archive, naming the entry. Existing files are not overwritten. Returns the exit code.
int extract_archive(const std::filesystem::path& file, const std::filesystem::path& target,
                    std::ostream& out);

} // namespace xrun::archive
