// Finding and reading the runs of an archive (a folder tree of run folders).
#pragma once

#include "xrun/meta.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xrun::archive {

/// A running run whose heartbeat is older than this is `lost` (its supervisor died).
inline constexpr double k_lost_after_seconds = 60.0;

/// One run folder as found in the archive.
struct Run {
  /// Reads the run folder's meta; a corrupt one is kept as `problem`, never thrown.
  static Run load(const std::filesystem::path& folder);

  std::filesystem::path folder;
  std::optional<RunMeta> meta; // nullopt when the meta file is corrupt
  std::string problem;         // why the meta could not be read
  nlohmann::json data;         // experiment_data.json, read on demand (null until then)
  bool data_loaded = false;
  nlohmann::json meta_json;    // the meta as JSON, made on demand

  /// The status to show: `lost` for a `running` run with a stale heartbeat at `now`;
  /// "corrupt" for a run whose meta cannot be read.
  std::string status(double now) const;

  /// The value of a name for `--where` and `--columns` (null when the run has none):
  /// meta fields (`status`, `name`, `duration`, ..., or `meta.FIELD`), parameters (`LR`,
  /// `params.LR`) and data values (`data.metrics.acc`, read from experiment_data.json).
  nlohmann::json value(std::string_view name, double now);
};

/// Every run folder under `root` (a folder holding experiment_meta.json; not searched
/// further), sorted by path. Throws ArchiveError when `root` is not a folder.
std::vector<Run> find_runs(const std::filesystem::path& root);

/// The runs under `root` that match the `--where` expression `where` (all without one), at
/// time `now`. Throws UsageError for a bad expression, ArchiveError for a bad root.
std::vector<Run> select_runs(const std::filesystem::path& root,
                             const std::optional<std::string>& where, double now);

} // namespace xrun::archive
