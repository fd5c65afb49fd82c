#include "archive/diff.hpp"

#include "archive/inspect.hpp"
#include "archive/runs.hpp"
#include "core/diagnostics.hpp"
#include "core/run_files.hpp"
#include "util/color.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"
#include "util/table.hpp"
#include "xrun/error.hpp"
#include "xrun/meta.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace xrun::archive {

namespace {

using Json = nlohmann::json;

// In a diff, what only the first run has and what only the second has.
constexpr auto k_removed = util::Color::red;
constexpr auto k_added = util::Color::green;

} // namespace

namespace {

std::map<std::string, Json> flat_data(const std::filesystem::path& folder) {
  std::map<std::string, Json> values;
  std::string problem;
  const auto data = core::read_data_values(folder, problem).value_or(Json());
  const std::function<void(const Json&, const std::string&)> walk = [&](const Json& node,
                                                                        const std::string& path) {
    if (node.is_object() && !node.empty()) {
      for (const auto& [key, value] : node.items()) {
        walk(value, path.empty() ? key : path + "/" + key);
      }
    } else if (!path.empty()) {
      values[path] = node;
    }
  };
  if (!problem.empty()) {
    core::print_warning(fmt::format("{} {}; its data values are left out",
                                    (folder / core::k_data_file).string(), problem));
  } else {
    walk(data, "");
  }
  return values;
}

/// The lines of a file of the run's code (`name` in the run folder): nullopt when there is no
/// such file; a file that cannot be read as one is `problem`.
std::optional<std::vector<std::string>> lines_of(const std::filesystem::path& folder,
                                                 const std::string& name, std::string& problem) {
  auto read = util::read_regular_file(folder, name, core::k_max_text_bytes);
  if (read.problem == util::FileProblem::missing) {
    return std::nullopt;
  }
  if (!read.ok()) {
    problem = core::run_file_why(read.problem, read.why);
    return std::nullopt;
  }
  std::vector<std::string> lines;
  std::istringstream in(read.text);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  return lines;
}

/// The changed lines of two texts (a longest-common-subsequence diff), as `-` and `+` lines
/// with their line numbers.
std::vector<std::string> line_diff(const std::vector<std::string>& a,
                                   const std::vector<std::string>& b, bool color) {
  constexpr std::size_t k_max_cells = 16u << 20;
  if (a.size() * b.size() > k_max_cells) {
    return {fmt::format("  (too long to compare line by line: {} and {} lines)", a.size(),
                        b.size())};
  }
  std::vector<std::vector<std::uint32_t>> common(a.size() + 1,
                                                 std::vector<std::uint32_t>(b.size() + 1));
  for (std::size_t i = a.size(); i-- > 0;) {
    for (std::size_t j = b.size(); j-- > 0;) {
      common[i][j] = a[i] == b[j] ? common[i + 1][j + 1] + 1
                                  : std::max(common[i + 1][j], common[i][j + 1]);
    }
  }
  std::vector<std::string> changes;
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < a.size() || j < b.size()) {
    if (i < a.size() && j < b.size() && a[i] == b[j]) {
      ++i;
      ++j;
    } else if (i < a.size() && (j == b.size() || common[i + 1][j] >= common[i][j + 1])) {
      changes.push_back(util::paint(fmt::format("  - {:>4}: {}", i + 1, a[i]), k_removed, color));
      ++i;
    } else {
      changes.push_back(util::paint(fmt::format("  + {:>4}: {}", j + 1, b[j]), k_added, color));
      ++j;
    }
  }
  return changes;
}

void compare(const std::string& title, const std::map<std::string, Json>& a,
             const std::map<std::string, Json>& b, std::ostream& out, bool color) {
  std::vector<std::string> lines;
  std::set<std::string> names;
  for (const auto& [name, value] : a) {
    names.insert(name);
  }
  for (const auto& [name, value] : b) {
    names.insert(name);
  }
  for (const auto& name : names) {
    const auto left = a.count(name) ? a.at(name) : Json();
    const auto right = b.count(name) ? b.at(name) : Json();
    if (left != right || a.count(name) != b.count(name)) { // a null is not a missing value
      lines.push_back(fmt::format(
          "  {}: {} -> {}", name,
          util::paint(a.count(name) ? short_json(left) : "(none)", k_removed, color),
          util::paint(b.count(name) ? short_json(right) : "(none)", k_added, color)));
    }
  }
  out << title << (lines.empty() ? ": the same\n" : "\n");
  for (const auto& line : lines) {
    out << line << '\n';
  }
}

std::map<std::string, Json> meta_summary(const RunMeta& meta) {
  std::map<std::string, Json> fields{{"status", std::string(to_string(meta.status))},
                                     {"duration", std::round(meta.duration * 100) / 100},
                                     {"host", meta.host},
                                     {"python", meta.python_version},
                                     {"python executable", meta.python_executable},
                                     {"working directory", meta.working_directory},
                                     {"xrun", meta.xrun_version},
                                     {"experiment", meta.experiment_path},
                                     {"error", meta.error_type}};
  if (!meta.config_path.empty()) {
    fields["config"] = meta.config_path;
  }
  for (const char* label : {"tags", "note"}) {
    if (const auto found = meta.extra.find(label); found != meta.extra.end()) {
      fields[label] = plain_json(*found);
    }
  }
  if (meta.git) {
    fields["git"] = fmt::format("{} on {}{}", meta.git->commit.substr(0, 12), meta.git->branch,
                                meta.git->dirty ? " (dirty)" : "");
  }
  return fields;
}

/// The meta's `packages` (name -> version), as compare() takes them.
std::map<std::string, Json> packages_of(const RunMeta& meta) {
  std::map<std::string, Json> packages;
  if (const auto found = meta.extra.find("packages");
      found != meta.extra.end() && found->is_object()) {
    for (const auto& [name, version] : found->items()) {
      packages[name] = plain_json(version);
    }
  }
  return packages;
}

} // namespace

int diff_runs(const std::filesystem::path& a, const std::filesystem::path& b, std::ostream& out,
              bool color) {
  const auto left = read_meta(a);
  const auto right = read_meta(b);
  out << util::paint("- " + a.string(), k_removed, color) << '\n'
      << util::paint("+ " + b.string(), k_added, color) << '\n';
  std::map<std::string, Json> left_parameters;
  std::map<std::string, Json> right_parameters;
  for (const auto& parameter : left.parameters) {
    left_parameters[parameter.name] = plain_json(parameter.shown_value());
  }
  for (const auto& parameter : right.parameters) {
    right_parameters[parameter.name] = plain_json(parameter.shown_value());
  }
  compare("parameters", left_parameters, right_parameters, out, color);
  compare("data", flat_data(a), flat_data(b), out, color);
  compare("meta", meta_summary(left), meta_summary(right), out, color);
  compare("packages", packages_of(left), packages_of(right), out, color);
  // The module and every copy of code it ran with (bases, mixins, configs), by their names
  // in the run folders.
  std::set<std::string> files{"experiment_code.py"};
  for (const auto* meta : {&left, &right}) {
    for (const auto& copy : meta->dependencies) {
      files.insert(copy.copy);
    }
  }
  std::vector<std::string> lines;
  for (const auto& file : files) {
    std::string problem_a;
    std::string problem_b;
    const auto text_a = lines_of(a, file, problem_a);
    const auto text_b = lines_of(b, file, problem_b);
    if (!problem_a.empty() || !problem_b.empty()) {
      for (const auto& [side, problem] : {std::pair{"-", problem_a}, std::pair{"+", problem_b}}) {
        if (!problem.empty()) {
          lines.push_back(fmt::format("  {}: in {} it {}", file, side, problem));
        }
      }
      continue;
    }
    if (text_a.has_value() != text_b.has_value()) {
      lines.push_back(fmt::format("  {}: only in {}", file,
                                  util::paint(text_a ? "-" : "+", text_a ? k_removed : k_added,
                                              color)));
      continue;
    }
    if (!text_a) {
      continue;
    }
    const auto changes = line_diff(*text_a, *text_b, color);
    if (!changes.empty()) {
      lines.push_back(fmt::format("  {}", file));
      for (const auto& change : changes) {
        lines.push_back("  " + change);
      }
    }
  }
  out << "code" << (lines.empty() ? ": the same\n" : "\n");
  for (const auto& line : lines) {
    out << line << '\n';
  }
  return 0;
}

} // namespace xrun::archive
