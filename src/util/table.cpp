#include "util/table.hpp"

#include "util/strings.hpp"

#include <algorithm>

namespace xrun::util {

std::string Table::render(bool color, TrailingSpaces trailing) const {
  std::size_t count = 0;
  for (const auto& row : m_rows) {
    count = std::max(count, row.size());
  }
  std::vector<Column> columns = m_columns;
  columns.resize(std::max(columns.size(), count));
  std::vector<std::size_t> widths(count, 0);
  for (std::size_t i = 0; i < count; ++i) {
    widths[i] = columns[i].min_width;
  }
  for (const auto& row : m_rows) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], display_width(row[i].text));
    }
  }
  std::string text;
  for (const auto& row : m_rows) {
    std::string line = m_indent;
    for (std::size_t i = 0; i < row.size(); ++i) {
      const auto& cell = row[i];
      const bool last = i + 1 == row.size();
      const auto padding = last && columns[i].align == Align::left
                               ? 0
                               : widths[i] - std::min(widths[i], display_width(cell.text));
      if (columns[i].align == Align::right) {
        line.append(padding, ' ');
      }
      line += paint(cell.text, cell.color, color);
      if (columns[i].align == Align::left) {
        line.append(padding, ' ');
      }
      if (!last) {
        line += columns[i].after;
      }
    }
    if (trailing == TrailingSpaces::trimmed) {
      while (!line.empty() && line.back() == ' ') {
        line.pop_back();
      }
    }
    text += line;
    text += '\n';
  }
  return text;
}

} // namespace xrun::util
