// The viewer's series endpoints: the list of a run's tracked series and their points,
// downsampled (M4) to what a chart of a given width can show, or the points appended since a
// byte offset for a chart that follows a running run.
#pragma once

#include "ui/http.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace xrun::ui {

/// `/api/v1/series?run=ID` of the run folder `run_folder`: every `.track/**/*.csv` with its
/// name (`train/loss`, `sys/cpu_percent`), file, size and points (null when not yet counted
/// by a summary file).
Response series_list(const std::filesystem::path& run_folder);

/// Runs one series request may name at most (each holds a file open and adds up to 4 points
/// a bucket to the answer).
inline constexpr std::size_t k_most_runs_per_request = 256;

/// `/api/v1/series/data`: the series `name=` of each of `runs` (ids relative to the archive
/// `root`, checked by the caller) for a chart: `x=step|time|relative`, `width=` buckets,
/// `from=`/`to=` (default: the union of the runs' ranges), `stage=`; or with `after=OFFSET`
/// (one run) the points of the lines past that byte offset. Bad parameters give 400, a run
/// that does not exist 404, a series file that is a link or not a regular file 403. A run
/// named twice is answered once; more than k_most_runs_per_request runs is a 400.
Response series_data(const std::filesystem::path& root, const std::vector<std::string>& runs,
                     const Request& request);

} // namespace xrun::ui
