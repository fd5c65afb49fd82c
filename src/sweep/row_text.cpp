#include "sweep/row_text.hpp"

#include "core/diagnostics.hpp"
#include "util/table.hpp"
#include "util/time.hpp"

#include <fmt/format.h>
#include <map>

namespace xrun::sweep {

std::string cell(const nlohmann::ordered_json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

std::string shown_parameters(const Row& row) {
  std::string text;
  for (const auto& [name, value] : row.parameters.items()) {
    text += fmt::format("{}{}={}", text.empty() ? "" : " ", name, cell(value));
  }
  return text;
}

std::string duration_text(double seconds) {
  return util::format_duration(seconds, util::SubMinute::tenths_under_ten);
}

std::string row_line(const Row& row, HashColumn hash, const std::vector<std::string>& fields,
                     bool color, std::string indent) {
  std::vector<util::Column> columns{{.min_width = 11, .after = " "},
                                    {.min_width = 5, .after = " "}};
  std::vector<util::Cell> cells{{row.status, core::status_color(row.status)},
                                fmt::format("#{}", row.index)};
  if (hash == HashColumn::shown) {
    columns.push_back({.min_width = 12});
    cells.emplace_back(row.run_hash.substr(0, 12));
  }
  cells.insert(cells.end(), fields.begin(), fields.end());
  util::Table line(std::move(columns), std::move(indent));
  line.add_row(std::move(cells));
  return line.render(color);
}

std::string summary_of(const Manifest& manifest) {
  std::map<std::string, int> counts;
  for (const auto& row : manifest.rows) {
    ++counts[row.status];
  }
  std::string summary;
  for (const auto& [status, count] : counts) {
    summary += fmt::format("{}{} {}", summary.empty() ? "" : ", ", count, status);
  }
  return summary;
}

} // namespace xrun::sweep
