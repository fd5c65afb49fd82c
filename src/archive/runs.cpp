#include "archive/runs.hpp"

#include "archive/query.hpp"
#include "util/fs.hpp"
#include "xrun/error.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace xrun::archive {

namespace {

using Json = nlohmann::json;

/// `a.b/c` -> ["a", "b", "c"].
std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> parts;
  std::string current;
  for (const char c : path) {
    if (c == '.' || c == '/') {
      parts.push_back(current);
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  parts.push_back(current);
  return parts;
}

Json walk(const Json& root, const std::vector<std::string>& parts, std::size_t from) {
  const Json* node = &root;
  for (std::size_t i = from; i < parts.size(); ++i) {
    if (!node->is_object()) {
      return nullptr;
    }
    const auto it = node->find(parts[i]);
    if (it == node->end()) {
      return nullptr;
    }
    node = &*it;
  }
  return *node;
}

} // namespace

Run Run::load(const std::filesystem::path& folder) {
  Run run;
  run.folder = folder;
  try {
    run.meta = read_meta(folder);
  } catch (const Error& problem) {
    run.problem = problem.what();
  }
  return run;
}

std::string Run::status(double now) const {
  if (!meta) {
    return "corrupt";
  }
  if (meta->status == RunStatus::running && now - meta->heartbeat > k_lost_after_seconds) {
    return "lost";
  }
  return std::string(to_string(meta->status));
}

Json Run::value(std::string_view name, double now) {
  if (name == "status") {
    return status(now);
  }
  if (name == "path") {
    return folder.string();
  }
  if (!meta) {
    return nullptr;
  }
  const auto parts = split_path(name);
  if (parts[0] == "data") {
    if (!data_loaded) {
      data_loaded = true;
      try {
        if (const auto text = util::read_file(folder / "experiment_data.json")) {
          data = Json::parse(*text, nullptr, false);
        }
      } catch (const std::exception&) {
        data = nullptr;
      }
    }
    return data.is_discarded() ? Json(nullptr) : walk(data, parts, 1);
  }
  if (parts[0] == "params" || parts[0] == "p") {
    const auto* parameter = parts.size() > 1 ? meta->parameter(parts[1]) : nullptr;
    return parameter ? walk(plain_json(parameter->value), parts, 2) : Json(nullptr);
  }
  if (const auto* parameter = meta->parameter(parts[0])) {
    return walk(plain_json(parameter->value), parts, 1);
  }
  if (meta_json.is_null()) {
    meta_json = Json::parse(serialize_meta(*meta));
  }
  return walk(meta_json, parts, parts[0] == "meta" ? 1 : 0);
}

std::vector<Run> find_runs(const std::filesystem::path& root) {
  std::error_code error;
  if (!std::filesystem::is_directory(root, error)) {
    throw ArchiveError(fmt::format("{} is not an archive folder", root.string()),
                       "give the folder that holds the runs with --path");
  }
  std::vector<Run> runs;
  std::filesystem::recursive_directory_iterator it(
      root, std::filesystem::directory_options::skip_permission_denied, error);
  for (const std::filesystem::recursive_directory_iterator end; it != end; it.increment(error)) {
    if (error) {
      error.clear(); // a folder that vanished during the walk (a run being deleted)
      continue;
    }
    if (!it->is_directory(error) || it->is_symlink(error)) {
      continue;
    }
    const auto& folder = it->path();
    if (folder.filename().string().starts_with(".")) {
      it.disable_recursion_pending(); // .track, .trash, temp folders
      continue;
    }
    if (!std::filesystem::exists(folder / k_meta_file, error)) {
      continue;
    }
    it.disable_recursion_pending();
    runs.push_back(Run::load(folder));
  }
  std::sort(runs.begin(), runs.end(),
            [](const Run& a, const Run& b) { return a.folder < b.folder; });
  return runs;
}

std::vector<Run> select_runs(const std::filesystem::path& root,
                             const std::optional<std::string>& where, double now) {
  // Parsed before the walk: a bad expression is reported without reading the archive.
  const std::optional<Query> query =
      where ? std::optional<Query>(Query::parse(*where)) : std::nullopt;
  std::vector<Run> selected;
  for (auto& run : find_runs(root)) {
    if (!query ||
        query->matches([&run, now](std::string_view name) { return run.value(name, now); })) {
      selected.push_back(std::move(run));
    }
  }
  return selected;
}

} // namespace xrun::archive
