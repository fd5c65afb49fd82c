#include "archive/list.hpp"

#include "archive/runs.hpp"
#include "core/diagnostics.hpp"
#include "util/strings.hpp"
#include "util/table.hpp"
#include "util/time.hpp"

#include <algorithm>
#include <array>
#include <ctime>
#include <fmt/format.h>
#include <iostream>
#include <nlohmann/json.hpp>
#include <span>

namespace xrun::archive {

namespace {

using Json = nlohmann::json;

std::string render(const Json& value) {
  if (value.is_null()) {
    return "-";
  }
  if (value.is_string()) {
    return value.get<std::string>();
  }
  // A float as JSON writes it (`1.0`, `0.001`), as `show` prints values: 1.0 is not 1.
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}


/// `text` with its control characters written as escapes (`\n`, `\x1b`): a value stays on its
/// row, and sends nothing to the terminal.
std::string printable(const std::string& text) {
  if (std::none_of(text.begin(), text.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
      })) {
    return text;
  }
  std::string shown;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\n') {
      shown += "\\n";
    } else if (c == '\t') {
      shown += "\\t";
    } else if (byte < 0x20 || byte == 0x7f) {
      shown += fmt::format("\\x{:02x}", byte);
    } else {
      shown += c;
    }
  }
  return shown;
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) {
    return text;
  }
  std::string quoted = "\"";
  for (const char c : text) {
    quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  }
  return quoted + "\"";
}

/// Sort key order: numbers, then strings, then missing values.
bool less(const Json& a, const Json& b) {
  const auto rank = [](const Json& v) { return v.is_number() ? 0 : (v.is_string() ? 1 : 2); };
  if (rank(a) != rank(b)) {
    return rank(a) < rank(b);
  }
  if (a.is_number()) {
    return a.get<double>() < b.get<double>();
  }
  if (a.is_string()) {
    return a.get_ref<const std::string&>() < b.get_ref<const std::string&>();
  }
  return false;
}

} // namespace

int list_runs(const ListOptions& options, std::ostream& out) {
  const double now = util::to_epoch_seconds(util::Clock::now());
  const bool descending = options.sort.starts_with('-');
  const std::string key = descending ? options.sort.substr(1) : options.sort;
  auto reads = options.columns;
  reads.push_back(key);
  auto runs = select_runs(options.root, options.where, now, reads);
  std::vector<std::pair<Json, Run*>> keyed;
  keyed.reserve(runs.size());
  for (auto& run : runs) {
    if (!run.readable()) {
      core::print_warning(run.problem);
    }
    keyed.emplace_back(run.value(key, now), &run);
  }
  std::stable_sort(keyed.begin(), keyed.end(), [descending](const auto& a, const auto& b) {
    // Runs without the value come last either way: --sort -ACC --limit 5 shows the best.
    const auto missing = [](const Json& v) { return !v.is_number() && !v.is_string(); };
    if (missing(a.first) != missing(b.first)) {
      return missing(b.first);
    }
    return descending ? less(b.first, a.first) : less(a.first, b.first);
  });
  std::vector<Run*> selected;
  selected.reserve(keyed.size());
  for (const auto& [sort_key, run] : keyed) {
    selected.push_back(run);
  }
  if (options.limit && selected.size() > *options.limit) {
    selected.resize(*options.limit);
  }

  if (options.format == OutputFormat::json) {
    // Written row by row, one run a line, compact like the parameters the index keeps:
    // building the whole document as one JSON value costs more than reading the archive.
    const auto dump = [](const Json& value) {
      return value.dump(-1, ' ', false, Json::error_handler_t::replace);
    };
    constexpr std::array<std::string_view, 9> fields{
        "path", "status", "id", "name", "namespace", "start_time", "duration", "problem",
        "parameters"};
    std::vector<std::string> columns; // each name once, and none of the fields again
    for (const auto& column : options.columns) {
      if (std::find(fields.begin(), fields.end(), column) == fields.end() &&
          std::find(columns.begin(), columns.end(), column) == columns.end()) {
        columns.push_back(column);
      }
    }
    std::string text = "[";
    for (Run* run : selected) {
      text += text.size() == 1 ? "\n  {" : ",\n  {";
      for (const auto field : std::span(fields).first(7)) {
        text.append(fmt::format("\"{}\":", field)).append(dump(run->value(field, now)));
        text += ',';
      }
      if (!run->readable()) {
        text.append("\"problem\":").append(dump(run->problem)).append(",");
      }
      text.append("\"parameters\":").append(run->parameters_text); // a JSON object of ours
      for (const auto& column : columns) {
        text.append(",").append(dump(column)).append(":").append(dump(run->value(column, now)));
      }
      text += "}";
    }
    text += selected.empty() ? "]\n" : "\n]\n";
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    return 0;
  }

  std::vector<std::string> header{"STATUS", "RUN", "STARTED", "DURATION"};
  for (const auto& column : options.columns) {
    header.push_back(column);
  }
  // One row after another in one list: a listing of many runs makes no list per row.
  const std::size_t width = header.size();
  std::vector<std::string> cells;
  cells.reserve(selected.size() * width);
  for (Run* run : selected) {
    const auto& summary = run->summary;
    const bool readable = run->readable();
    cells.push_back(run->status(now));
    cells.push_back(printable(std::string(run->relative())));
    cells.push_back(readable && summary.start_time > 0 ? util::format_local(summary.start_time)
                                                       : "-");
    cells.push_back(readable ? util::format_duration(std::max(0.0, run->duration(now))) : "-");
    for (const auto& column : options.columns) {
      cells.push_back(printable(render(run->value(column, now))));
    }
  }
  const std::size_t rows = selected.size();
  const auto cell = [&](std::size_t row, std::size_t column) -> const std::string& {
    return cells[row * width + column];
  };

  if (options.format == OutputFormat::csv) {
    const std::vector<std::string> names{"status", "run", "start_time", "duration"};
    std::vector<std::string> fields = names;
    fields.insert(fields.end(), options.columns.begin(), options.columns.end());
    for (std::size_t i = 0; i < fields.size(); ++i) {
      out << (i ? "," : "") << csv_field(fields[i]);
    }
    out << '\n';
    for (std::size_t r = 0; r < rows; ++r) {
      for (std::size_t i = 0; i < width; ++i) {
        // Raw values, and nothing for a missing one (the table's "-" is for the eye).
        const auto raw = [&](std::string_view name) {
          const auto value = selected[r]->value(name, now);
          return value.is_null() ? std::string() : render(value);
        };
        const std::string field = i == 1   ? std::string(selected[r]->relative())
                                  : i == 2 ? raw("start_time")
                                  : i == 3 ? raw("duration")
                                  : i >= 4 ? raw(options.columns[i - 4])
                                           : cell(r, i);
        out << (i ? "," : "") << csv_field(field);
      }
      out << '\n';
    }
    return 0;
  }

  if (rows == 0) {
    std::cerr << "xrun: no runs" << (options.where ? " match" : "") << " in " << options.root.string()
              << '\n';
    return 0;
  }
  util::Table table;
  table.add_row({header.begin(), header.end()});
  for (std::size_t r = 0; r < rows; ++r) {
    const auto first = cells.begin() + static_cast<std::ptrdiff_t>(r * width);
    const auto color = core::status_color(*first);
    std::vector<util::Cell> row(
        std::make_move_iterator(first),
        std::make_move_iterator(first + static_cast<std::ptrdiff_t>(width)));
    row.front().color = color;
    table.add_row(std::move(row));
  }
  const auto text = table.render(options.color); // the whole table, written at once
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  return 0;
}

} // namespace xrun::archive
