// Commands on one run or on the runs' statuses: show, tail, reconcile.
#pragma once

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace xrun::archive {

/// The run folder `text` names: a path to a run folder, or a run id (or a unique part of one)
/// under `root`. Throws UsageError naming the run, with the closest ids as a hint.
std::filesystem::path resolve_run(const std::filesystem::path& root, const std::string& text);

/// Everything about one run: status and times, error, parameters with their sources, data
/// values, tracked series as terminal sparklines (last, min, max), files, git.
int show_run(const std::filesystem::path& run, std::ostream& out);

/// What differs between two runs: parameters, data values, meta (status, duration, host,
/// versions, git) and the lines of the experiment's code.
int diff_runs(const std::filesystem::path& a, const std::filesystem::path& b, std::ostream& out);

/// Prints the run's log; with `follow`, keeps printing what is appended while the run is
/// `running` (until it ends or its heartbeat goes stale).
int tail_run(const std::filesystem::path& run, bool follow, std::ostream& out);

/// Marks `running` runs whose heartbeat is stale as `lost` in their meta; prints each.
/// Returns the exit code.
int reconcile_runs(const std::filesystem::path& root, std::ostream& out);

/// A one-line chart of `values` scaled between their min and max, `width` characters at most.
std::string sparkline(const std::vector<double>& values, std::size_t width);

/// The values of the tracked series file `name` in the run folder `folder` (`step,value,time`
/// lines), NaN and infinities included; a torn last line is ignored. nullopt when there is no
/// such file. Throws ArchiveError for a file that is not a regular one in the run folder
/// (core/run_files.hpp).
std::optional<std::vector<double>> read_series(const std::filesystem::path& folder,
                                               std::string_view name);

/// What `show` says of a series: its finite values (what is drawn and measured) and how many
/// points it has in all.
struct SeriesSummary {
  std::vector<double> finite;
  std::size_t points = 0;
  std::size_t not_finite() const { return points - finite.size(); }
};
SeriesSummary summarize_series(const std::vector<double>& values);

} // namespace xrun::archive
