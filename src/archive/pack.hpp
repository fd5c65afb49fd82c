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
/// code. Throws UsageError (an existing output file, no selection, unknown extension, a run
/// recorded as running with `remove`), ArchiveError (I/O).
int compress_runs(const CompressOptions& options, std::ostream& out);

/// Restores an archive under `target` (a folder, created if missing). Every entry is checked
/// before anything is written: an absolute path, a `..` component, a link pointing outside
/// `target` (also through another link), a path through a link, a name given twice, a hard link
/// to anything but an earlier file, or an existing file refuses the whole archive with a
/// UsageError naming the entry. A failure while writing removes everything this extraction
/// created and throws ArchiveError. Returns the exit code.
int extract_archive(const std::filesystem::path& file, const std::filesystem::path& target,
                    std::ostream& out);

} // namespace xrun::archive
