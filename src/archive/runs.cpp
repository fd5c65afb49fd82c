#include "archive/runs.hpp"

#include "archive/index.hpp"
#include "archive/query.hpp"
#include "archive/sdk_content.hpp"
#include "core/diagnostics.hpp"
#include "core/run_files.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"
#include "xrun/error.hpp"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <iostream>
#include <iterator>
#include <set>

namespace xrun::archive {

namespace {

using Json = nlohmann::json;

/// The first part of a name that says where its value is found, before any parameter.
bool is_root(std::string_view head) {
  static constexpr std::string_view k_roots[] = {"data",    "params",         "p",       "meta",
                                                 "summary", "primary_metric", "primary", "results"};
  return std::find(std::begin(k_roots), std::end(k_roots), head) != std::end(k_roots);
}

/// `a.b/c` -> ["a", "b", "c"].

std::vector<std::string> split_path(std::string_view path) {
  return util::split_outside_brackets(path, "./");
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

/// Whether JSON text holds `"key":` (anywhere; a cheap test before parsing it).
bool has_key(std::string_view text, std::string_view key) {
  for (auto at = text.find(key); at != std::string_view::npos; at = text.find(key, at + 1)) {
    if (at > 0 && text[at - 1] == '"' && text.substr(at + key.size()).starts_with("\":")) {
      return true;
    }
  }
  return false;
}

/// The text of the value of `key` at the top level of the JSON object `text`: "" when the
/// object has no such key, nullopt when the text is not an object from end to end (a torn
/// file is not read as if whole). Spares parsing a whole object (for every run of a query) to
/// read one of its values. Keys are compared as written, escapes and all.
std::optional<std::string_view> member_text(std::string_view text, std::string_view key) {
  std::size_t at = 0;
  const auto skip_space = [&] {
    while (at < text.size() && (text[at] == ' ' || text[at] == '\n' || text[at] == '\t' ||
                                text[at] == '\r')) {
      ++at;
    }
  };
  const auto next_is = [&](char c) {
    skip_space();
    return at < text.size() && text[at] == c;
  };
  // Past the string that starts at `at`; false when it does not end.
  const auto skip_string = [&] {
    for (++at; at < text.size(); ++at) {
      if (text[at] == '\\') {
        ++at;
      } else if (text[at] == '"') {
        ++at;
        return true;
      }
    }
    return false;
  };
  // Past the value that starts at `at`, up to the ',' or '}' after it.
  const auto skip_value = [&] {
    int depth = 0;
    while (at < text.size()) {
      const char c = text[at];
      if (c == '"') {
        if (!skip_string()) {
          return false;
        }
        continue;
      }
      if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (depth == 0) {
          return c == '}';
        }
        --depth;
      } else if (c == ',' && depth == 0) {
        return true;
      }
      ++at;
    }
    return false;
  };
  if (!next_is('{')) {
    return std::nullopt;
  }
  ++at;
  std::optional<std::string_view> found;
  const auto closed = [&] { // the object's '}' at `at`, and nothing after it
    ++at;
    skip_space();
    return at == text.size();
  };
  if (next_is('}')) {
    return closed() ? std::optional(std::string_view()) : std::nullopt;
  }
  while (next_is('"')) {
    const auto name_start = at + 1;
    if (!skip_string()) {
      return std::nullopt;
    }
    const auto name = text.substr(name_start, at - 1 - name_start);
    if (!next_is(':')) {
      return std::nullopt;
    }
    ++at;
    skip_space();
    const auto value_start = at;
    if (!skip_value()) {
      return std::nullopt;
    }
    if (name == key && !found) {
      auto value = text.substr(value_start, at - value_start);
      while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) {
        value.remove_suffix(1);
      }
      found = value;
    }
    if (text[at] == '}') {
      return closed() ? std::optional(found.value_or(std::string_view())) : std::nullopt;
    }
    ++at; // the ','
  }
  return std::nullopt;
}

/// The value of `key` in the JSON object `text` (null when it has none), or nullopt when
/// that cannot be told without parsing the whole text.
std::optional<Json> member(std::string_view text, std::string_view key) {
  const auto value = member_text(text, key);
  if (!value) {
    return std::nullopt;
  }
  if (value->empty()) {
    // A key written with escapes is not found as written: only the parser can tell.
    return text.find('\\') == std::string_view::npos ? std::optional<Json>(nullptr)
                                                       : std::nullopt;
  }
  auto parsed = core::parse_bounded_json<Json>(*value);
  return parsed.is_discarded() ? std::nullopt : std::optional(std::move(parsed));
}

Json optional_json(const auto& value) {
  return value ? Json(*value) : Json(nullptr);
}

/// The meta fields a listing reads, served from the summary without reading the whole meta.
using SummaryField = Json (*)(const RunSummary&);
constexpr std::pair<std::string_view, SummaryField> k_summary_fields[] = {
    {"id", [](const RunSummary& s) { return Json(s.id); }},
    {"name", [](const RunSummary& s) { return Json(s.name); }},
    {"namespace", [](const RunSummary& s) { return Json(s.namespace_name); }},
    {"start_time", [](const RunSummary& s) { return Json(s.start_time); }},
    {"end_time", [](const RunSummary& s) { return optional_json(s.end_time); }},
    {"duration", [](const RunSummary& s) { return Json(s.duration); }},
    {"heartbeat", [](const RunSummary& s) { return Json(s.heartbeat); }},
    {"exit_code", [](const RunSummary& s) { return optional_json(s.exit_code); }},
    {"error_type", [](const RunSummary& s) { return Json(s.error_type); }},
    {"host", [](const RunSummary& s) { return Json(s.host); }},
    {"pid", [](const RunSummary& s) { return Json(s.pid); }},
    {"tags",
     [](const RunSummary& s) {
       return s.tags.empty() ? Json(nullptr) : Json::parse(s.tags, nullptr, false);
     }},
    {"note", [](const RunSummary& s) { return s.note.empty() ? Json(nullptr) : Json(s.note); }},
};

} // namespace

RunSummary RunSummary::of(const RunMeta& meta) {
  RunSummary summary;
  summary.status = meta.status;
  summary.id = meta.id;
  summary.name = meta.name;
  summary.namespace_name = meta.namespace_name;
  summary.start_time = meta.start_time;
  summary.end_time = meta.end_time;
  summary.duration = meta.duration;
  summary.heartbeat = meta.heartbeat;
  summary.exit_code = meta.exit_code;
  summary.error_type = meta.error_type;
  summary.host = meta.host;
  summary.pid = meta.pid;
  if (const auto tags = meta.extra.find("tags"); tags != meta.extra.end()) {
    summary.tags = tags->dump(-1, ' ', false, Json::error_handler_t::replace);
  }
  if (const auto note = meta.extra.find("note"); note != meta.extra.end()) {
    summary.note = note->is_string() ? note->get<std::string>() : note->dump();
  }
  if (const auto pids = meta.extra.find("pid_namespace");
      pids != meta.extra.end() && pids->is_string()) {
    summary.pid_namespace = pids->get<std::string>();
  }
  return summary;
}


struct Run::Loaded {
  std::optional<nlohmann::ordered_json> parameters;
  std::optional<Json> data;
  std::optional<bool> data_checked; // whether the data text is valid JSON
  std::optional<Json> sdk_summary;  // experiment_summary.json (null when absent or unusable)
  std::optional<Json> sdk_params;   // params.json (likewise)
  std::optional<std::optional<RunMeta>> meta;
  std::optional<Json> meta_json;
};

Run::Loaded& Run::loaded() {
  if (!m_loaded) {
    m_loaded = std::make_shared<Loaded>();
  }
  return *m_loaded;
}

Run Run::load(const std::filesystem::path& folder) {
  Run run;
  run.path = folder.string();
  run.root_length = run.path.size() - folder.filename().string().size();
  try {
    RunMeta meta = read_meta(folder);
    run.summary = RunSummary::of(meta);
    nlohmann::ordered_json parameters = nlohmann::ordered_json::object();
    for (const auto& parameter : meta.parameters) {
      parameters[parameter.name] = parameter.shown_value();
    }
    run.parameters_text = parameters.dump();
    run.loaded().parameters = std::move(parameters);
    run.loaded().meta.emplace(std::move(meta));
  } catch (const Error& problem) {
    run.problem = problem.what();
  }
  run.summary_text = sdk_values_text(folder, core::k_summary_file);
  run.params_text = sdk_values_text(folder, core::k_params_file);
  auto data = util::read_regular_file(folder, core::k_data_file, k_max_indexed_data);
  switch (data.problem) {
  case util::FileProblem::none:
    run.data_text = std::move(data.text);
    break;
  case util::FileProblem::missing:
    run.data_text = "";
    break;
  case util::FileProblem::too_large:
  case util::FileProblem::unreadable:
    break; // read (or found unreadable) when a query needs it
  default: // a link, a FIFO: nothing the run's own experiment wrote
    if (run.problem.empty()) {
      run.problem = core::run_file_problem(folder, core::k_data_file, data.problem, data.why);
    }
  }
  return run;
}

bool is_lost(const RunSummary& summary, double now) {
  return core::is_lost(summary.recorded(), now);
}

std::string Run::status(double now) const {
  if (!readable()) {
    return "corrupt";
  }
  if (summary.status != RunStatus::running) {
    return std::string(to_string(summary.status));
  }
  if (!m_shown) {
    const auto supervisor = liveness_here(summary.supervisor());
    m_shown =
        core::lost_given(supervisor, summary.heartbeat, now) ? RunStatus::lost : RunStatus::running;
    if (*m_shown == RunStatus::lost && supervisor == Liveness::gone) {
      // The run may have ended between the reading of its meta and now, its supervisor
      // with it: the meta as it is now, read after the supervisor was found gone, tells.
      try {
        if (const auto current = read_meta(folder()); current.status != RunStatus::running) {
          m_shown = current.status;
        }
      } catch (const Error&) {
        // gone or damaged since: lost as far as anyone can tell
      }
    }
  }
  return std::string(to_string(*m_shown));
}

double Run::duration(double now) const {
  const auto shown = status(now);
  if (shown == "running") {
    return std::max(0.0, now - summary.start_time);
  }
  if (shown == "lost") {
    return std::max(0.0, summary.heartbeat - summary.start_time);
  }
  return summary.duration;
}

const nlohmann::ordered_json& Run::parameters() {
  auto& parameters = loaded().parameters;
  if (!parameters) {
    parameters = core::parse_bounded_json<nlohmann::ordered_json>(parameters_text);
    if (parameters->is_discarded() || !parameters->is_object()) {
      parameters = nlohmann::ordered_json::object();
    }
  }
  return *parameters;
}

const RunMeta* Run::meta() {
  auto& meta = loaded().meta;
  if (!meta) {
    try {
      meta.emplace(read_meta(folder()));
    } catch (const Error&) {
      meta.emplace(std::nullopt);
    }
  }
  return *meta ? &**meta : nullptr;
}

Json Run::value(std::string_view name, double now) {
  if (name == "status") {
    return status(now);
  }
  if (name == "path") {
    return path;
  }
  if (!readable()) {
    return nullptr;
  }
  // A parameter comes before a meta field of its name, but not before a root of the names: a
  // function's parameter `data` is reached as `params.data`, and `data.x` stays the data's.
  // The parameter text is our own dump, so a parameter NAME appears in it as "NAME": -- a
  // cheap test that spares parsing it for the meta fields a listing sorts by.
  const auto head = name.substr(0, name.find_first_of("./"));
  if (head == "results") {
    // What a function returned is stored in the data under `results`.
    return value(fmt::format("data.{}", name), now);
  }
  if (!is_root(head) && has_key(parameters_text, head)) {
    if (!m_loaded || !m_loaded->parameters) {
      if (const auto value = member(parameters_text, head); value && !value->is_null()) {
        return walk(*value, split_path(name), 1);
      }
    }
    const auto& values = parameters();
    if (const auto it = values.find(std::string(head)); it != values.end()) {
      return walk(plain_json(*it), split_path(name), 1);
    }
  }
  if (head.size() == name.size()) {
    for (const auto& [field, get] : k_summary_fields) {
      if (field == name) {
        return get(summary);
      }
    }
  }
  const auto parts = split_path(name);
  if (parts[0] == "data") {
    auto& data = loaded().data;
    if (!data) {
      const auto data_file = (folder() / core::k_data_file).string();
      if (!data_text) {
        auto read = util::read_regular_file(folder(), core::k_data_file, core::k_max_data_bytes);
        if (!read.ok() && read.problem != util::FileProblem::missing) {
          core::print_warning(fmt::format("{}; its data values are left out",
                                          core::run_file_problem(folder(), core::k_data_file,
                                                                 read.problem, read.why)));
        }
        data_text = read.ok() ? std::move(read.text) : std::string();
      }
      auto& checked = loaded().data_checked;
      if (!checked) {
        // Once a run: the quick lookup below trusts the text's shape, not each value in it.
        checked = data_text->empty() || core::json_problem(*data_text).empty();
      }
      if (parts.size() > 1 && *checked && !data_text->empty()) {
        if (const auto value = member(*data_text, parts[1])) {
          return walk(*value, parts, 2);
        }
      }
      data = !data_text->empty() && *checked ? core::parse_bounded_json<Json>(*data_text) : Json();
      if (!*checked) {
        core::print_warning(fmt::format("{} {}; its data values are left out", data_file,
                                        core::json_problem(*data_text)));
        data = Json();
      }
    }
    return walk(*data, parts, 1);
  }
  if (parts[0] == "params" || parts[0] == "p") {
    const auto& values = parameters();
    const auto it = parts.size() > 1 ? values.find(parts[1]) : values.end();
    if (it != values.end()) {
      return walk(plain_json(*it), parts, 2);
    }
    // Parameters logged by the tracking SDK (run.log_params).
    return walk(sdk_file(loaded().sdk_params, core::k_params_file, params_text), parts, 1);
  }
  if (parts[0] == "summary") {
    return walk(sdk_file(loaded().sdk_summary, core::k_summary_file, summary_text)
                    .value("summary", Json()),
                parts, 1);
  }
  if (parts[0] == "primary_metric" || parts[0] == "primary") {
    return walk(
        sdk_file(loaded().sdk_summary, core::k_summary_file, summary_text)
            .value("primary_metric", Json()),
        parts, 1);
  }
  auto& meta_json = loaded().meta_json;
  if (!meta_json) {
    const auto* whole = meta();
    meta_json = whole ? Json::parse(serialize_meta(*whole)) : Json();
  }
  return walk(*meta_json, parts, parts[0] == "meta" ? 1 : 0);
}

std::vector<Run> find_runs(const std::filesystem::path& root, bool with_data) {
  std::error_code error;
  if (!std::filesystem::is_directory(root, error)) {
    throw ArchiveError(fmt::format("{} is not an archive folder", root.string()),
                       "give the folder that holds the runs with --path");
  }
  return scan_archive(root, ScanOptions{with_data});
}

namespace {

/// The names of the values in `data` (`data.metrics.acc`, and `data.metrics` too), as a
/// query writes them, for did-you-mean; a few levels deep is what a typo needs.
void add_data_names(const Json& data, const std::string& prefix, std::set<std::string>& names,
                    int depth = 0) {
  if (!data.is_object() || depth > 8) {
    return;
  }
  for (const auto& [key, value] : data.items()) {
    const auto name = prefix + "." + key;
    names.insert(name);
    add_data_names(value, name, names, depth + 1);
  }
}

/// Warns about each name of a query that no run has a value for (a misspelt `lr` for `LR`
/// matches nothing, silently otherwise), with the likely name.
void warn_of_unknown_names(const Query& query, std::vector<Run>& runs,
                           const std::set<std::string, std::less<>>& found, double now) {
  std::set<std::string> unknown;
  for (const auto& name : query.names()) {
    if (!found.contains(name)) {
      unknown.insert(name);
    }
  }
  for (const auto& name : unknown) {
    // Short-circuited comparisons may not have asked every run; a parameter that is null
    // everywhere is known all the same.
    if (std::any_of(runs.begin(), runs.end(), [&](Run& run) {
          return !run.value(name, now).is_null() ||
                 (run.readable() && run.parameters().contains(name));
        })) {
      continue;
    }
    std::set<std::string> known;
    for (std::size_t i = 0; i < std::min<std::size_t>(runs.size(), 100); ++i) {
      for (const auto& [parameter, value] : runs[i].parameters().items()) {
        known.insert(parameter);
      }
      if (reads_data(name)) {
        add_data_names(runs[i].value("data", now), "data", known);
      }
      for (const char* group : {"summary", "primary_metric", "results"}) {
        if (name.starts_with(group)) {
          add_data_names(runs[i].value(group, now), group, known);
        }
      }
    }
    for (const auto& [field, get] : k_summary_fields) {
      known.emplace(field);
    }
    known.insert({"status", "path"});
    const std::vector<std::string> candidates(known.begin(), known.end());
    const auto likely = util::closest_match(name, candidates);
    core::print_warning(fmt::format("--where: no run has a value for {}{}", name,
                                    likely ? fmt::format(" (did you mean {}?)", *likely) : ""));
  }
}

} // namespace

std::vector<Run> select_runs(const std::filesystem::path& root,
                             const std::optional<std::string>& where, double now,
                             const std::vector<std::string>& also_reads) {
  // Parsed before the walk: a bad expression is reported without reading the archive.
  const std::optional<Query> query =
      where ? std::optional<Query>(Query::parse(*where)) : std::nullopt;
  auto names = also_reads;
  if (query) {
    const auto used = query->names();
    names.insert(names.end(), used.begin(), used.end());
  }
  auto runs = find_runs(root, std::any_of(names.begin(), names.end(), reads_data));
  if (!query) {
    return runs;
  }
  std::vector<bool> matched(runs.size());
  std::set<std::string, std::less<>> found; // the names some run had a value for
  for (std::size_t i = 0; i < runs.size(); ++i) {
    matched[i] = query->matches([&](std::string_view name) {
      auto value = runs[i].value(name, now);
      if (!value.is_null() && !found.contains(name)) {
        found.emplace(name);
      }
      return value;
    });
  }
  if (!runs.empty()) {
    warn_of_unknown_names(*query, runs, found, now);
  }
  std::size_t kept = 0;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (matched[i]) {
      if (kept != i) {
        runs[kept] = std::move(runs[i]);
      }
      ++kept;
    }
  }
  runs.erase(runs.begin() + static_cast<std::ptrdiff_t>(kept), runs.end());
  return runs;
}

} // namespace xrun::archive
