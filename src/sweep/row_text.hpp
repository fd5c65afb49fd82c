// How a sweep's rows are written for people: in lines whose fields line up, and in counts.
#pragma once

#include "sweep/manifest.hpp"

#include <string>
#include <vector>

namespace xrun::sweep {

/// A value as a table cell: text without quotes, anything else as JSON.
std::string cell(const nlohmann::ordered_json& value);

/// "LR=0.1 EPOCHS=3": the row's swept values.
std::string shown_parameters(const Row& row);

/// A worker's time, or the time left: `4.2s`, `42s`, `3m07s`.
std::string duration_text(double seconds);

/// Whether a row's line shows its run hash.
enum class HashColumn { left_out, shown };

/// A row's line: its status (in color when `color`), index, run hash (`hash`), then `fields`;
/// each ending in `\n`, the fields lined up from row to row.
std::string row_line(const Row& row, HashColumn hash, const std::vector<std::string>& fields,
                     bool color, std::string indent = {});

/// "2 done, 1 failed": how many rows have each status.
std::string summary_of(const Manifest& manifest);

} // namespace xrun::sweep
