// Reading the files of a run folder. Every archive command reads run files through here, so
// what they trust is decided in one place: a run file is read only when it is a regular file
// inside the run folder (a symbolic link is never followed, a FIFO or device never opened),
// within a size bound, and JSON only within a nesting bound. A file that breaks a rule makes
// its run corrupt, with a problem that names the file and the rule.
#pragma once

#include "util/fs.hpp"
#include "util/json_depth.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace xrun::core {

inline constexpr const char* k_data_file = "experiment_data.json";
inline constexpr const char* k_log_file = "experiment_out.log";
/// Tracked series: `.track/<name>.csv`, a header and a line a point (stage empty for none);
/// runs of earlier versions have files without the stage column.
inline constexpr const char* k_track_folder = ".track";
inline constexpr std::string_view k_series_header = "step,value,time,stage\n";
/// The viewer's summary of a long series, `.track/<name>.csv.m4` beside it: derived from the
/// series, deletable, rebuilt when needed; `compress` leaves it out.
inline constexpr std::string_view k_series_summary_suffix = ".m4";
/// What the tracking SDK adds to a run folder (see the README's run folder section).
inline constexpr const char* k_summary_file = "experiment_summary.json";
inline constexpr const char* k_params_file = "params.json";
inline constexpr const char* k_artifacts_file = "artifacts.json";
inline constexpr const char* k_image_index = "images/index.jsonl";

/// For the text files xrun writes itself (a meta, a code copy, a manifest): far more than any
/// of them holds (a few KiB), yet read in a blink.
inline constexpr std::uintmax_t k_max_text_bytes = std::uintmax_t{64} << 20;
/// For what the experiment wrote (data values, tracked series): a generous bound that still
/// keeps a reader's memory in reach.
inline constexpr std::uintmax_t k_max_data_bytes = std::uintmax_t{1} << 30;
/// JSON nested deeper than this in a run file (or the index) is refused. Python's json
/// module cannot write more than about 1000 levels either.
inline constexpr std::size_t k_max_json_depth = 1000;

/// Why a run file could not be read, to follow its name: "is a symbolic link, which archive
/// commands never follow" (`why` as util::open_regular_file gives it, with the rule).
std::string run_file_why(util::FileProblem problem, std::string_view why);

/// The same as a sentence naming the file: "results/x/run/experiment_out.log is a ...".
std::string run_file_problem(const std::filesystem::path& folder, std::string_view name,
                             util::FileProblem problem, std::string_view why);

/// The text of the run file `name` (relative to `folder`); nullopt when it does not exist.
/// Throws ArchiveError (see run_file_problem) when it is there but breaks a rule.
std::optional<std::string> read_run_file(const std::filesystem::path& folder,
                                         std::string_view name, std::uintmax_t max_size);

/// Opens the run file `name` for streaming (a log: read as it grows, never whole). Throws
/// ArchiveError as read_run_file does; a file that does not exist is a problem too.
util::RegularFile open_run_file(const std::filesystem::path& folder, std::string_view name);

/// What is wrong with JSON text read from a run or the index, to follow the file's name:
/// "is not valid JSON", "is nested deeper than 1000 levels"; "" when it can be parsed.
std::string json_problem(std::string_view text);

/// `text` parsed as JSON (nlohmann::json or ordered_json), or a discarded value when it is
/// not valid JSON or nests deeper than k_max_json_depth.
template <class Json> Json parse_bounded_json(std::string_view text) {
  if (util::json_nesting_beyond(text, k_max_json_depth)) {
    return Json(Json::value_t::discarded);
  }
  return Json::parse(text, nullptr, false);
}

/// A run's data values (experiment_data.json); nullopt when the run has no data file. When
/// the file cannot be used, `problem` says why (to follow the file's name) and the values are
/// null.
std::optional<nlohmann::json> read_data_values(const std::filesystem::path& folder,
                                               std::string& problem);

/// The JSON run file `name` (a summary, a manifest) as read_data_values reads the data file.
std::optional<nlohmann::json> read_json_values(const std::filesystem::path& folder,
                                               std::string_view name, std::string& problem);

} // namespace xrun::core
