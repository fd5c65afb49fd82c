#include "archive/summary.hpp"

#include "archive/runs.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sys/stat.h>
#include <utility>
#include <vector>

namespace xrun::archive {

namespace {

/// The bytes of the regular files under `dir`, a file with several hard links counted only
/// when `seen` does not hold it yet (a blob linked into many runs is stored once).
std::uintmax_t unique_size(const std::filesystem::path& dir,
                           std::set<std::pair<dev_t, ino_t>>& seen) {
  std::uintmax_t total = 0;
  std::error_code error;
  for (std::filesystem::recursive_directory_iterator it(dir, error), end; !error && it != end;
       it.increment(error)) {
    struct stat info {};
    if (::lstat(it->path().c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
        (info.st_nlink < 2 || seen.emplace(info.st_dev, info.st_ino).second)) {
      total += static_cast<std::uintmax_t>(info.st_size);
    }
  }
  return total;
}

using Json = nlohmann::json;

/// The folder a run is in, within its archive ("" at the top).
std::string_view folder_of(const Run& run) {
  const auto relative = run.relative();
  const auto slash = relative.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : relative.substr(0, slash);
}

/// The namespace of each run, by the name its meta records. A run whose meta cannot be read
/// takes the namespace of the readable runs in its folder, so it is counted with them; with
/// none there, it is named after its folder as the namespaces are (`results/exp`).
std::vector<std::string> namespaces_of(const std::filesystem::path& root,
                                       const std::vector<Run>& runs) {
  std::map<std::string_view, std::string_view> by_folder;
  for (const auto& run : runs) {
    if (run.readable() && !run.summary.namespace_name.empty()) {
      by_folder.emplace(folder_of(run), run.summary.namespace_name);
    }
  }
  auto top = std::filesystem::absolute(root).lexically_normal();
  if (top.filename().empty()) {
    top = top.parent_path();
  }
  std::vector<std::string> names;
  names.reserve(runs.size());
  for (const auto& run : runs) {
    if (run.readable() && !run.summary.namespace_name.empty()) {
      names.push_back(run.summary.namespace_name);
    } else if (const auto it = by_folder.find(folder_of(run)); it != by_folder.end()) {
      names.emplace_back(it->second);
    } else {
      const auto folder = folder_of(run);
      names.push_back(folder.empty() ? top.filename().string()
                                     : top.filename().string() + "/" + std::string(folder));
    }
  }
  return names;
}

struct Group {
  std::map<std::string, int> statuses;
  std::map<std::string, int> errors;
  int runs = 0;
  double total_duration = 0;
  double max_duration = 0;
  std::uintmax_t bytes = 0;

  Json to_json() const {
    const auto count = [this](const char* status) {
      return statuses.count(status) ? statuses.at(status) : 0;
    };
    // Of the runs that ended and can be read: a corrupt one may have done anything.
    const int finished = runs - count("running") - count("corrupt");
    const int done = count("done");
    return {{"runs", runs},
            {"statuses", statuses},
            {"success_rate", finished > 0 ? Json(static_cast<double>(done) / finished) : Json()},
            {"mean_duration", runs > 0 ? total_duration / runs : 0.0},
            {"max_duration", max_duration},
            {"total_duration", total_duration},
            {"bytes", bytes},
            {"error_types", errors}};
  }
};

void print_group(const std::string& title, const Group& group, std::ostream& out) {
  const auto summary = group.to_json();
  std::string statuses;
  for (const auto& [status, count] : group.statuses) {
    statuses += fmt::format("{}{} {}", statuses.empty() ? "" : ", ", count, status);
  }
  out << fmt::format("{}\n  runs        {} ({})\n", title, group.runs, statuses);
  if (!summary["success_rate"].is_null()) {
    out << fmt::format("  success     {:.0f}% of finished runs\n",
                       100 * summary["success_rate"].get<double>());
  }
  out << fmt::format("  duration    mean {:.1f} s, max {:.1f} s, total {:.1f} s\n",
                     summary["mean_duration"].get<double>(), group.max_duration,
                     group.total_duration);
  out << fmt::format("  disk        {}\n", util::format_bytes(static_cast<double>(group.bytes)));
  if (!group.errors.empty()) {
    std::vector<std::pair<std::string, int>> errors(group.errors.begin(), group.errors.end());
    std::sort(errors.begin(), errors.end(),
              [](const auto& a, const auto& b) { return a.second > b.second; });
    std::string line;
    for (const auto& [type, count] : errors) {
      line += fmt::format("{}{} x{}", line.empty() ? "" : ", ", type, count);
    }
    out << fmt::format("  errors      {}\n", line);
  }
}

} // namespace

int overview(const std::filesystem::path& root, const std::optional<std::string>& where,
             bool json, std::ostream& out) {
  const double now = util::to_epoch_seconds(util::Clock::now());
  const auto runs = select_runs(root, where, now);
  const auto names = namespaces_of(root, runs);
  std::map<std::string, Group> groups;
  Group total;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const auto& run = runs[i];
    const auto status = run.status(now);
    const auto bytes = util::tree_size(run.folder());
    for (Group* group : {&groups[names[i]], &total}) {
      group->bytes += bytes;
      ++group->runs;
      ++group->statuses[status];
      if (run.readable()) {
        group->total_duration += run.summary.duration;
        group->max_duration = std::max(group->max_duration, run.summary.duration);
        if (!run.summary.error_type.empty()) {
          ++group->errors[run.summary.error_type];
        }
      }
    }
  }
  if (json) {
    Json namespaces = Json::object();
    for (const auto& [name, group] : groups) {
      namespaces[name] = group.to_json();
    }
    out << Json{{"total", total.to_json()}, {"namespaces", namespaces}}.dump(2) << '\n';
    return 0;
  }
  if (runs.empty()) {
    std::cerr << fmt::format("xrun: no runs {}in {}\n", where ? "match " : "", root.string());
    return 0;
  }
  for (const auto& [name, group] : groups) {
    print_group(name, group, out);
  }
  print_group(fmt::format("all of {}", root.string()), total, out);
  return 0;
}

int disk_usage(const std::filesystem::path& root, const std::optional<std::string>& where,
               std::size_t limit, std::ostream& out) {
  const double now = util::to_epoch_seconds(util::Clock::now());
  const auto runs = select_runs(root, where, now);
  std::vector<std::pair<std::uintmax_t, std::string>> sizes;
  std::map<std::string, std::uintmax_t> namespaces;
  std::uintmax_t total = 0;
  std::uintmax_t summed = 0;
  // A run's own line counts every file it holds; the namespace and total lines count a file
  // linked into several runs (an artifact's or workspace's blob) once, as the disk holds it.
  std::map<std::string, std::set<std::pair<dev_t, ino_t>>> seen_in;
  std::set<std::pair<dev_t, ino_t>> seen;
  const auto names = namespaces_of(root, runs);
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const auto bytes = util::tree_size(runs[i].folder());
    sizes.emplace_back(bytes, std::string(runs[i].relative()));
    namespaces[names[i]] += unique_size(runs[i].folder(), seen_in[names[i]]);
    total += unique_size(runs[i].folder(), seen);
    summed += bytes;
  }
  if (runs.empty()) {
    std::cerr << fmt::format("xrun: no runs {}in {}\n", where ? "match " : "", root.string());
    return 0;
  }
  std::sort(sizes.begin(), sizes.end(), std::greater<>());
  if (limit > 0 && sizes.size() > limit) {
    sizes.resize(limit);
  }
  for (const auto& [bytes, name] : sizes) {
    out << fmt::format("{:>10}  {}\n", util::format_bytes(static_cast<double>(bytes)), name);
  }
  out << '\n';
  for (const auto& [name, bytes] : namespaces) {
    out << fmt::format("{:>10}  {}/\n", util::format_bytes(static_cast<double>(bytes)), name);
  }
  const auto shared = summed > total
                          ? fmt::format("; {} they share counted once",
                                        util::format_bytes(static_cast<double>(summed - total)))
                          : std::string();
  out << fmt::format("{:>10}  total ({}{})\n", util::format_bytes(static_cast<double>(total)),
                     util::count_of(runs.size(), "run"), shared);
  return 0;
}

} // namespace xrun::archive
