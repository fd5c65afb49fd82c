// The archive index: the summary of every run folder (archive/runs.hpp), kept in an SQLite
// file inside the archive so that listing reads only the folders that changed.
//
// The index is derived from the folders and never the other way round: deleting it loses
// nothing, and a folder is trusted over its row whenever the two may differ. A row holds the
// folder's modification time, which every write xrun makes changes (files are replaced by
// rename). A time too close to the scan to be told apart from a later write is stored as
// unknown, so that folder is read again next time. Tracked series are never read.
#pragma once

#include "archive/runs.hpp"

#include <cstddef>
#include <filesystem>
#include <ostream>
#include <string_view>
#include <vector>

namespace xrun::archive {

inline constexpr const char* k_index_file = ".xrun-index.sqlite";

struct ScanOptions {
  bool data = false;    // load the values kept in the index (for queries on data.*, summary.*)
  bool rebuild = false; // start the index again from the folders
};

/// Whether a name of `--where`, `--columns` or `--sort` reads values of a run's files: data
/// values (`results.*` among them), or the tracking SDK's summary, primary metric and logged
/// parameters.
bool reads_data(std::string_view name);

/// What a scan did, for tests and benchmarks.
struct ScanReport {
  bool indexed = false;    // the index was read
  bool saved = false;      // the index was brought up to date
  std::size_t folders = 0; // folders looked at
  std::size_t read = 0;    // run folders read from disk because they were new or changed
};

/// Every run folder under `root`, sorted by relative path, brought up to date through the
/// index in `root`. Without a usable index (a read-only archive, an index locked by another
/// process for long, a file in its place that is not xrun's index) the folders are read and
/// the scan goes on. `root` must be a folder.
std::vector<Run> scan_archive(const std::filesystem::path& root, const ScanOptions& options = {},
                              ScanReport* report = nullptr);

/// `xrun archive index [--rebuild]`: brings the index up to date (from scratch with
/// `rebuild`) and reports what that took. Throws ArchiveError when `root` is not a folder.
int index_archive(const std::filesystem::path& root, bool rebuild, std::ostream& out);

} // namespace xrun::archive
