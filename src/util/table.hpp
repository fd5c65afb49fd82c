// Text aligned in columns for a terminal: tables and lines whose fields line up.
#pragma once

#include "util/color.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace xrun::util {

/// One cell: its text, and the color it is shown in (the padding after it stays uncolored).
struct Cell {
  Cell(std::string text_, Color color_ = Color::none) : text(std::move(text_)), color(color_) {}
  Cell(const char* text_) : text(text_) {}

  std::string text;
  Color color = Color::none;
};

enum class Align { left, right };

/// How one column is laid out.
struct Column {
  std::size_t min_width = 0; // cells are padded to at least this many characters
  Align align = Align::left;
  std::string after = "  "; // what follows the column's cells (not after the last column)
};

/// Whether spaces at the end of a line are kept (padding of empty cells) or cut off.
enum class TrailingSpaces { kept, trimmed };

/// Rows of cells in aligned columns: every column as wide as its widest cell (in characters
/// on a terminal, util::display_width) or its `min_width`; the last column is never padded.
class Table {
public:
  /// `columns`: the layout of the first columns; columns past them get the defaults.
  explicit Table(std::vector<Column> columns = {}, std::string indent = {})
      : m_columns(std::move(columns)), m_indent(std::move(indent)) {}

  void add_row(std::vector<Cell> cells) { m_rows.push_back(std::move(cells)); }
  bool empty() const { return m_rows.empty(); }

  /// The table, a line per row, each ending in `\n`; cells in their colors when `color`.
  std::string render(bool color = false, TrailingSpaces trailing = TrailingSpaces::kept) const;

private:
  std::vector<Column> m_columns;
  std::string m_indent;
  std::vector<std::vector<Cell>> m_rows;
};

} // namespace xrun::util
