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

/// The runs `options` select, sorted by its key and cut to its limit: pointers into `runs`.
std::vector<Run*> sorted_selection(std::vector<Run>& runs, const ListOptions& options,
                                   double now) {
  const bool descending = options.sort.starts_with('-');
  const std::string key = descending ? options.sort.substr(1) : options.sort;
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
  return selected;
}

/// `--format json`: written row by row, one run a line, compact like the parameters the index
/// keeps: building the whole document as one JSON value costs more than reading the archive.
void write_json(const std::vector<Run*>& selected, const ListOptions& options, double now,
                std::ostream& out) {
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
}

/// `--format csv`: raw values, and nothing for a missing one (the table's "-" is for the eye).
void write_csv(const std::vector<Run*>& selected, const ListOptions& options, double now,
               std::ostream& out) {
  std::vector<std::string> fields{"status", "run", "start_time", "duration"};
  fields.insert(fields.end(), options.columns.begin(), options.columns.end());
  for (std::size_t i = 0; i < fields.size(); ++i) {
    out << (i ? "," : "") << csv_field(fields[i]);
  }
  out << '\n';
  for (Run* run : selected) {
    const auto raw = [&](std::string_view name) {
      const auto value = run->value(name, now);
      return value.is_null() ? std::string() : render(value);
    };
    out << csv_field(run->status(now)) << ',' << csv_field(std::string(run->relative())) << ','
        << csv_field(raw("start_time")) << ',' << csv_field(raw("duration"));
    for (const auto& column : options.columns) {
      out << ',' << csv_field(raw(column));
    }
    out << '\n';
  }
}

/// The table: status (in its color), run, start, duration and the chosen columns.
void write_table(const std::vector<Run*>& selected, const ListOptions& options, double now,
                 std::ostream& out) {
  if (selected.empty()) {
    std::cerr << "xrun: no runs" << (options.where ? " match" : "") << " in "
              << options.root.string() << '\n';
    return;
  }
  util::Table table;
  std::vector<util::Cell> header{"STATUS", "RUN", "STARTED", "DURATION"};
  for (const auto& column : options.columns) {
    header.emplace_back(column);
  }
  table.add_row(std::move(header));
  for (Run* run : selected) {
    const auto& summary = run->summary;
    const bool readable = run->readable();
    std::vector<util::Cell> row;
    row.reserve(4 + options.columns.size());
    const auto status = run->status(now);
    row.emplace_back(status);
    row.front().color = core::status_color(status);
    row.emplace_back(util::printable(run->relative()));
    row.emplace_back(readable && summary.start_time > 0 ? util::format_local(summary.start_time)
                                                        : "-");
    row.emplace_back(readable ? util::format_duration(std::max(0.0, run->duration(now))) : "-");
    for (const auto& column : options.columns) {
      row.emplace_back(util::printable(render(run->value(column, now))));
    }
    table.add_row(std::move(row));
  }
  const auto text = table.render(options.color); // the whole table, written at once
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
}

} // namespace

int list_runs(const ListOptions& options, std::ostream& out) {
  const double now = util::to_epoch_seconds(util::Clock::now());
  auto reads = options.columns;
  reads.push_back(options.sort.starts_with('-') ? options.sort.substr(1) : options.sort);
  auto runs = select_runs(options.root, options.where, now, reads);
  const auto selected = sorted_selection(runs, options, now);
  if (options.format == OutputFormat::json) {
    write_json(selected, options, now, out);
  } else if (options.format == OutputFormat::csv) {
    write_csv(selected, options, now, out);
  } else {
    write_table(selected, options, now, out);
  }
  return 0;
}

} // namespace xrun::archive
