#include "archive/inspect.hpp"

#include "archive/runs.hpp"
#include "core/diagnostics.hpp"
#include "util/color.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"
#include "xrun/error.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <ctime>
#include <fmt/format.h>
#include <iostream>
#include <sstream>
#include <thread>

namespace xrun::archive {

namespace {

using Json = nlohmann::json;

// In a diff, what only the first run has and what only the second has.
constexpr auto k_removed = util::Color::red;
constexpr auto k_added = util::Color::green;


std::string short_json(const Json& value, std::size_t limit = 80) {
  auto text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() > limit) {
    text = text.substr(0, limit - 3) + "...";
  }
  return text;
}

/// Data values as `a/b/c = value` lines, lists shown whole up to a length.
void flatten(const Json& node, const std::string& prefix, std::vector<std::string>& lines) {
  if (node.is_object() && !node.empty()) {
    for (const auto& [key, value] : node.items()) {
      flatten(value, prefix.empty() ? key : prefix + "/" + key, lines);
    }
    return;
  }
  lines.push_back(fmt::format("{} = {}", prefix, short_json(node)));
}

/// A field of a meta's object as text: a string as it is, anything else as JSON ("?" when
/// it is missing). Hand-edited metas may hold anything.
std::string field_text(const nlohmann::ordered_json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end()) {
    return "?";
  }
  return it->is_string() ? it->get<std::string>() : it->dump();
}

double now_seconds() {
  return util::to_epoch_seconds(util::Clock::now());
}

} // namespace

namespace {

/// The index in `runs` (the runs under `root`) of the run `text` names: its id, its folder
/// within the archive, or a unique part of its id. Throws UsageError.
std::size_t match_run(const std::vector<Run>& runs, const std::filesystem::path& root,
                      const std::string& text) {
  std::vector<std::size_t> matches;
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const auto relative = runs[i].relative();
    const auto slash = relative.rfind('/');
    const auto id = std::string(slash == std::string_view::npos ? relative
                                                                : relative.substr(slash + 1));
    if (id == text || relative == text) {
      return i;
    }
    if (id.find(text) != std::string::npos) {
      matches.push_back(i);
    }
    ids.push_back(id);
  }
  if (matches.size() == 1) {
    return matches.front();
  }
  if (matches.size() > 1) {
    throw UsageError(fmt::format("'{}' names {} runs in {}", text, matches.size(), root.string()),
                     fmt::format("give more of the id, e.g. {}",
                                 runs[matches.front()].folder().filename().string()));
  }
  const auto close = util::closest_match(text, ids);
  throw UsageError(fmt::format("no run '{}' in {}", text, root.string()),
                   close ? fmt::format("did you mean {}?", *close)
                         : "xrun archive list shows the runs");
}

bool is_run_folder(const std::string& text) {
  std::error_code error;
  return std::filesystem::exists(std::filesystem::path(text) / k_meta_file, error);
}

} // namespace

std::filesystem::path resolve_run(const std::filesystem::path& root, const std::string& text) {
  if (is_run_folder(text)) {
    return text;
  }
  const auto runs = find_runs(root);
  return runs[match_run(runs, root, text)].folder();
}

namespace {

/// The runs of `runs` (the runs found under `root`) that `texts` name, as resolve_run finds
/// them, each once, in the order given. A folder given by its path must be one of `runs`.
std::vector<Run> pick_runs(std::vector<Run> runs, const std::filesystem::path& root,
                           const std::vector<std::string>& texts) {
  std::error_code error;
  const auto real_root = std::filesystem::weakly_canonical(root, error);
  std::vector<std::size_t> picked;
  for (const auto& text : texts) {
    std::size_t index = runs.size();
    if (is_run_folder(text)) {
      const auto inside =
          std::filesystem::weakly_canonical(text, error).lexically_relative(real_root).string();
      for (std::size_t i = 0; i < runs.size() && !inside.empty(); ++i) {
        if (runs[i].relative() == inside) {
          index = i;
        }
      }
      if (index == runs.size()) {
        throw UsageError(fmt::format("{} is not a run of the archive {}", text, root.string()),
                         "--path names the archive the run belongs to");
      }
    } else {
      index = match_run(runs, root, text);
    }
    if (std::find(picked.begin(), picked.end(), index) == picked.end()) {
      picked.push_back(index);
    }
  }
  std::vector<Run> chosen;
  chosen.reserve(picked.size());
  for (const auto index : picked) {
    chosen.push_back(std::move(runs[index]));
  }
  return chosen;
}

} // namespace

std::vector<Run> chosen_runs(const std::filesystem::path& root, const RunChoice& choice,
                             std::string_view command) {
  if (!choice.runs.empty() && (choice.where || choice.all)) {
    throw UsageError(fmt::format("{}: give runs, or --where EXPR, or --all; not both", command));
  }
  if (choice.runs.empty() && !choice.where && !choice.all) {
    throw UsageError(fmt::format("{} needs runs (ids or folders), --where EXPR or --all", command),
                     "choose the runs first; `xrun archive list --where ...` shows them");
  }
  if (choice.runs.empty()) {
    return select_runs(root, choice.where, now_seconds());
  }
  return pick_runs(find_runs(root), root, choice.runs);
}

std::vector<double> read_series(const std::filesystem::path& csv) {
  std::vector<double> values;
  const auto text = util::read_file(csv);
  if (!text) {
    return values;
  }
  std::istringstream lines(*text);
  std::string line;
  bool header = true;
  while (std::getline(lines, line)) {
    if (header) {
      header = false;
      continue;
    }
    if (lines.eof() && !text->ends_with('\n')) {
      break; // a torn last record (the writer was killed mid-line)
    }
    const auto first = line.find(',');
    const auto second = line.find(',', first + 1);
    if (first == std::string::npos || second == std::string::npos) {
      continue;
    }
    try {
      values.push_back(std::stod(line.substr(first + 1, second - first - 1)));
    } catch (const std::exception&) {
      // not a number: skipped, like any line that is not a record
    }
  }
  return values;
}

std::string sparkline(const std::vector<double>& values, std::size_t width) {
  static const char* k_bars[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  if (values.empty() || width == 0) {
    return "";
  }
  // Thousands of points become `width` buckets, each the mean of its points.
  const std::size_t buckets = std::min(width, values.size());
  std::vector<double> means(buckets, 0.0);
  for (std::size_t b = 0; b < buckets; ++b) {
    const std::size_t from = b * values.size() / buckets;
    const std::size_t to = std::max(from + 1, (b + 1) * values.size() / buckets);
    double sum = 0;
    for (std::size_t i = from; i < to; ++i) {
      sum += values[i];
    }
    means[b] = sum / static_cast<double>(to - from);
  }
  const auto [low, high] = std::minmax_element(means.begin(), means.end());
  std::string line;
  for (const double value : means) {
    const double span = *high - *low;
    const auto level = span > 0 ? static_cast<std::size_t>((value - *low) / span * 7.0 + 0.5) : 3;
    line += k_bars[std::min<std::size_t>(level, 7)];
  }
  return line;
}

int show_run(const std::filesystem::path& folder, std::ostream& out, bool color) {
  const auto meta = read_meta(folder); // a corrupt meta is an error here: nothing to show
  auto run = Run::load(folder);
  const double now = now_seconds();
  const auto status = run.status(now);
  out << fmt::format("{}  {}\n", util::paint(status, core::status_color(status), color),
                     folder.string());
  out << fmt::format("  name        {}   namespace {}\n", meta.name, meta.namespace_name);
  if (!meta.short_description.empty()) {
    out << fmt::format("  about       {}\n", meta.short_description);
  }
  if (const auto tags = meta.extra.find("tags"); tags != meta.extra.end()) {
    std::vector<std::string> names;
    for (const auto& tag : tags->is_array() ? *tags : nlohmann::ordered_json::array({*tags})) {
      names.push_back(tag.is_string() ? tag.get<std::string>() : tag.dump());
    }
    out << fmt::format("  tags        {}\n", util::join(names, ", "));
  }
  if (const auto note = meta.extra.find("note"); note != meta.extra.end()) {
    // A note of several lines keeps them, each under the first.
    std::string text = note->is_string() ? note->get<std::string>() : note->dump();
    for (std::size_t at = text.find('\n'); at != std::string::npos; at = text.find('\n', at + 15)) {
      text.insert(at + 1, 14, ' ');
    }
    out << fmt::format("  note        {}\n", text);
  }
  out << fmt::format("  started     {}   on {} (pid {})\n", util::format_local(meta.start_time),
                     meta.host, meta.pid);
  if (meta.end_time) {
    out << fmt::format("  ended       {}   after {:.2f} s\n", util::format_local(*meta.end_time),
                       meta.duration);
  } else if (meta.heartbeat > 0) {
    out << fmt::format("  heartbeat   {:.0f} s ago\n", now - meta.heartbeat);
  } else {
    out << "  heartbeat   none recorded\n";
  }
  if (meta.exit_code) {
    out << fmt::format("  exit code   {}{}\n", *meta.exit_code,
                       meta.signal ? fmt::format(" (signal {})", *meta.signal) : "");
  }
  if (!meta.error_type.empty() || !meta.error_message.empty()) {
    out << fmt::format("  error       {}{}{}\n", meta.error_type,
                       meta.error_type.empty() || meta.error_message.empty() ? "" : ": ",
                       meta.error_message);
  }
  if (const auto why = meta.extra.find("interrupted_by"); why != meta.extra.end() &&
                                                          why->is_object()) {
    out << fmt::format("  stopped by  {}{}\n", field_text(*why, "signal"),
                       why->contains("reason") ? " (" + field_text(*why, "reason") + ")" : "");
  }
  if (const auto sweep = meta.extra.find("sweep"); sweep != meta.extra.end() &&
                                                    sweep->is_object()) {
    out << fmt::format("  sweep       {}, variation {}", field_text(*sweep, "id"),
                       field_text(*sweep, "index"));
    if (const auto slurm = sweep->find("slurm"); slurm != sweep->end() && slurm->is_object()) {
      out << fmt::format("   Slurm job {}", field_text(*slurm, "job_id"));
    }
    out << '\n';
  }
  if (const auto origin = meta.extra.find("reproduces"); origin != meta.extra.end() &&
                                                         origin->is_object()) {
    out << fmt::format("  reproduces  {}\n", field_text(*origin, origin->contains("run") ? "run"
                                                                                  : "id"));
  }
  out << fmt::format("  experiment  {}{}\n", meta.experiment_path,
                     meta.config_path.empty() ? "" : "   config " + meta.config_path);
  out << fmt::format("  python      {} ({})   xrun {}\n", meta.python_version,
                     meta.python_executable, meta.xrun_version);
  if (meta.git) {
    out << fmt::format("  git         {} on {}{}\n", meta.git->commit.substr(0, 12),
                       meta.git->branch, meta.git->dirty ? " (dirty: " + meta.git->diff_file + ")"
                                                         : "");
  }

  out << "\nparameters\n";
  std::size_t width = 0;
  for (const auto& parameter : meta.parameters) {
    width = std::max(width, parameter.name.size());
  }
  for (const auto& parameter : meta.parameters) {
    // A value JSON cannot hold exactly (NaN, a big int) is shown as the run had it.
    const auto exact = parameter.extra.find("exact");
    out << fmt::format("  {:<{}}  {} = {}   [{}]\n", parameter.name, width, parameter.type,
                       exact != parameter.extra.end() && exact->is_string()
                           ? exact->get<std::string>()
                           : short_json(plain_json(parameter.value)),
                       to_string(parameter.source));
  }

  const auto data_text = util::read_file(folder / "experiment_data.json");
  if (data_text) {
    const auto data = Json::parse(*data_text, nullptr, false);
    out << "\ndata\n";
    if (data.is_discarded()) {
      out << "  (experiment_data.json is not valid JSON)\n";
    } else if (data.empty()) {
      out << "  (none stored)\n";
    } else {
      std::vector<std::string> lines;
      flatten(data, "", lines);
      for (const auto& line : lines) {
        out << "  " << line << '\n';
      }
    }
  }

  if (!meta.tracked.empty()) {
    out << "\ntracked\n";
    for (const auto& name : meta.tracked) {
      const auto values = read_series(folder / ".track" / (name + ".csv"));
      if (values.empty()) {
        out << fmt::format("  {}  (images in .track/)\n", name);
        continue;
      }
      const auto [low, high] = std::minmax_element(values.begin(), values.end());
      out << fmt::format("  {}  {}  last {:.6g}  min {:.6g}  max {:.6g}  ({} points)\n", name,
                         sparkline(values, 40), values.back(), *low, *high, values.size());
    }
  }

  out << "\nfiles\n";
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    files.push_back(entry.path().filename().string() + (entry.is_directory() ? "/" : ""));
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    out << "  " << file << '\n';
  }
  return 0;
}

namespace {

std::map<std::string, Json> flat_data(const std::filesystem::path& folder) {
  std::map<std::string, Json> values;
  const auto text = util::read_file(folder / "experiment_data.json");
  const auto data = text ? Json::parse(*text, nullptr, false) : Json();
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
  if (data.is_discarded()) {
    core::print_warning(fmt::format("{} is not valid JSON; its data values are left out",
                                    (folder / "experiment_data.json").string()));
  } else {
    walk(data, "");
  }
  return values;
}

std::vector<std::string> lines_of(const std::filesystem::path& file) {
  std::vector<std::string> lines;
  std::istringstream in(util::read_file(file).value_or(""));
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
    std::error_code error;
    const bool in_a = std::filesystem::is_regular_file(a / file, error);
    const bool in_b = std::filesystem::is_regular_file(b / file, error);
    if (in_a != in_b) {
      lines.push_back(fmt::format("  {}: only in {}", file,
                                  util::paint(in_a ? "-" : "+", in_a ? k_removed : k_added, color)));
      continue;
    }
    const auto changes = line_diff(lines_of(a / file), lines_of(b / file), color);
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

int tail_run(const std::filesystem::path& folder, bool follow, std::ostream& out) {
  const auto log = folder / "experiment_out.log";
  std::error_code error;
  if (std::filesystem::is_directory(log, error)) {
    throw ArchiveError(fmt::format("{} is a folder, not a log", log.string()));
  }
  std::ifstream in(log, std::ios::binary);
  if (!in) {
    const bool running = Run::load(folder).status(now_seconds()) == "running";
    throw ArchiveError(running ? fmt::format("{} has no log yet", folder.string())
                               : fmt::format("{} has no log: {} is missing", folder.string(),
                                             log.filename().string()));
  }
  const auto copy_new = [&in, &out] {
    in.clear(); // past the end last time: read on from there
    char buffer[65536];
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
      out.write(buffer, in.gcount());
    }
    out.flush();
  };
  copy_new();
  if (!follow) {
    return 0;
  }
  for (;;) {
    const auto run = Run::load(folder);
    const auto status = run.status(now_seconds());
    if (status != "running") {
      copy_new(); // the last lines may have come with the final status
      if (!std::filesystem::exists(folder, error)) {
        throw ArchiveError(fmt::format("{} went away while its log was followed",
                                       folder.string()));
      }
      if (status == "lost") {
        std::cerr << fmt::format("xrun: the run is lost: its supervisor stopped updating the "
                                 "heartbeat at {} (host {}, pid {})\n",
                                 util::format_local(run.summary.heartbeat), run.summary.host,
                                 run.summary.pid);
        return 1;
      }
      return 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    copy_new();
  }
}

int reconcile_runs(const std::filesystem::path& root, std::ostream& out) {
  const double now = now_seconds();
  int marked = 0;
  for (auto& run : find_runs(root)) {
    if (run.status(now) != "lost") {
      continue;
    }
    const RunMeta* current = run.meta();
    if (!current || current->status != RunStatus::running) {
      continue; // ended or damaged since the scan
    }
    RunMeta meta = *current;
    meta.status = RunStatus::lost;
    meta.end_time = meta.heartbeat;
    meta.duration = meta.heartbeat - meta.start_time;
    meta.error_message = fmt::format(
        "the supervisor stopped updating the heartbeat at {} (host {} pid {})",
        util::format_local(meta.heartbeat), meta.host, meta.pid);
    write_meta(run.folder(), meta);
    out << fmt::format("lost  {}\n", run.path);
    ++marked;
  }
  std::cerr << fmt::format("xrun: {} run{} marked lost\n", marked, marked == 1 ? "" : "s");
  return 0;
}

} // namespace xrun::archive
