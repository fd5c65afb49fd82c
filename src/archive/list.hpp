// `xrun archive list`: one row per run.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace xrun::archive {

enum class OutputFormat { table, json, csv };

struct ListOptions {
  std::filesystem::path root = "results";
  std::optional<std::string> where;  // a --where expression
  std::vector<std::string> columns;  // extra columns: parameters, data.*, meta fields
  std::string sort = "start_time";   // a name; a leading '-' sorts descending
  std::optional<std::size_t> limit;  // at most this many rows, after sorting
  OutputFormat format = OutputFormat::table;
  bool color = false;                // ANSI colors for the status column
};

/// Writes the runs under `options.root` that match `options.where` to `out`. A run whose meta
/// is corrupt is listed with status `corrupt` (and its problem on stderr), never an error.
/// Returns the exit code. Throws UsageError for a bad expression, ArchiveError for a bad root.
int list_runs(const ListOptions& options, std::ostream& out);

} // namespace xrun::archive
