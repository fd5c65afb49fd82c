// Commands on one run or on the runs' statuses: show, tail, reconcile.
#pragma once

#include "archive/runs.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace xrun::archive {

/// A value as one line of JSON, cut to `limit` characters (with "...").
std::string short_json(const nlohmann::json& value, std::size_t limit = 80);

/// The run folder `text` names: a path to a run folder, or a run id (or a unique part of one)
/// under `root`. Throws UsageError naming the run, with the closest ids as a hint.
std::filesystem::path resolve_run(const std::filesystem::path& root, const std::string& text);

/// The runs a command works on: runs named as resolve_run takes them, the runs matching a
/// `--where` expression, or every run.
struct RunChoice {
  std::vector<std::string> runs;    // run ids (or unique parts of one) or run folders
  std::optional<std::string> where; // or the runs matching this expression
  bool all = false;                 // or every run
};

/// The runs under `root` that `choice` names, each once (named ones in the order given).
/// Throws UsageError, naming `command`, when it names no way of choosing or more than one,
/// or a text names no run or several; as select_runs for a bad expression.
std::vector<Run> chosen_runs(const std::filesystem::path& root, const RunChoice& choice,
                             std::string_view command);

/// How `show` shows a run.
struct ShowOptions {
  std::filesystem::path archive; // where the runs of its inputs and its consumers are found
  bool color = false;            // the status in its color
  bool json = false;             // one JSON object instead of text
};

/// Everything about one run: status and times, error, parameters with their sources, a
/// function run's inputs (with the runs of `options.archive` that made them) and the runs of
/// the archive that consume its outputs, data values, tracked series as terminal sparklines
/// (last, min, max), files, git. With `options.json`: {"path", "id", "status", "meta", "data",
/// "inputs", "consumers"}.
int show_run(const std::filesystem::path& run, std::ostream& out, const ShowOptions& options);

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
