#include "archive/modify.hpp"

#include "archive/runs.hpp"
#include "util/time.hpp"
#include "xrun/error.hpp"

#include <array>
#include <charconv>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace xrun::archive {

namespace {

using Json = nlohmann::ordered_json;

/// Meta fields that record what happened; changing them would make the record untrue.
constexpr std::array k_recorded_fields = {
    "format",     "id",          "namespace",      "base_path",         "experiment_path",
    "config_path", "start_time", "end_time",       "duration",          "heartbeat",
    "exit_code",  "signal",      "host",           "pid",               "xrun_version",
    "python_version", "python_executable", "command_line", "working_directory", "parameters",
    "hooks",      "tracked",     "dependencies",   "run_hash",          "git",
    "modifications"};

/// Meta fields that hold text.
constexpr std::array k_text_fields = {"name", "description", "short_description", "error_type",
                                      "error_message"};

struct Assignment {
  std::string text;      // as given, for messages
  bool parameter = true; // else a meta field
  std::string name;      // the parameter or field
  std::string value;     // as given
};

Assignment parse_assignment(const std::string& text) {
  const auto equals = text.find('=');
  if (equals == std::string::npos || equals == 0) {
    throw UsageError(fmt::format("--set '{}' is not NAME=VALUE", text),
                     "e.g. --set LR=0.01 or --set meta.description='after the fix'");
  }
  Assignment assignment{text, true, text.substr(0, equals), text.substr(equals + 1)};
  for (const std::string prefix : {"params.", "p."}) {
    if (assignment.name.starts_with(prefix)) {
      assignment.name.erase(0, prefix.size());
    }
  }
  if (assignment.name.starts_with("meta.")) {
    assignment.parameter = false;
    assignment.name.erase(0, 5);
  }
  if (assignment.name.empty() || assignment.name.find_first_of("./") != std::string::npos) {
    throw UsageError(fmt::format("--set '{}': '{}' is not a parameter or meta field name", text,
                                 text.substr(0, equals)),
                     "parameters are NAME or params.NAME, meta fields meta.NAME");
  }
  return assignment;
}

/// JSON when the text is JSON, else the text as a string.
Json loose_value(const std::string& text) {
  auto value = Json::parse(text, nullptr, false);
  return value.is_discarded() ? Json(text) : value;
}

/// The value for a parameter declared with `type`; nullopt when the text does not fit it.
std::optional<Json> typed_value(std::string type, const std::string& text) {
  bool optional = false;
  if (type.starts_with("Optional[") && type.ends_with("]")) {
    optional = true;
    type = type.substr(9, type.size() - 10);
  }
  if (optional && (text == "null" || text == "None")) {
    return Json(nullptr);
  }
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  if (type == "int") {
    long long number = 0;
    const auto [stop, error] = std::from_chars(begin, end, number);
    return error == std::errc() && stop == end ? std::optional<Json>(number) : std::nullopt;
  }
  if (type == "float") {
    double number = 0;
    const auto [stop, error] = std::from_chars(begin, end, number);
    return error == std::errc() && stop == end ? std::optional<Json>(number) : std::nullopt;
  }
  if (type == "bool") {
    if (text == "true" || text == "True") {
      return Json(true);
    }
    if (text == "false" || text == "False") {
      return Json(false);
    }
    return std::nullopt;
  }
  if (type == "str") {
    return Json(text);
  }
  if (type.starts_with("list") || type.starts_with("dict") || type.starts_with("tuple")) {
    auto value = Json::parse(text, nullptr, false);
    const bool fits = type.starts_with("dict") ? value.is_object() : value.is_array();
    return fits ? std::optional<Json>(std::move(value)) : std::nullopt;
  }
  return loose_value(text); // a type xrun does not check
}

template <std::size_t N>
bool listed(const std::array<const char*, N>& names, const std::string& name) {
  for (const char* item : names) {
    if (name == item) {
      return true;
    }
  }
  return false;
}

/// The new value of a meta field; throws UsageError for a field that may not change.
Json field_value(const Assignment& assignment) {
  if (listed(k_recorded_fields, assignment.name)) {
    throw UsageError(
        fmt::format("--set '{}': meta.{} records what happened and cannot be changed",
                    assignment.text, assignment.name),
        "name, description, short_description, status and fields of your own can be");
  }
  if (assignment.name == "status") {
    const auto status = parse_status(assignment.value);
    if (!status || *status == RunStatus::running) {
      throw UsageError(fmt::format("--set '{}': '{}' is not a run status", assignment.text,
                                   assignment.value),
                       "an ended run's status is done, failed, interrupted, killed or lost");
    }
    return Json(assignment.value);
  }
  return listed(k_text_fields, assignment.name) ? Json(assignment.value)
                                                : loose_value(assignment.value);
}

struct Change {
  std::string name; // as shown: LR, meta.description
  Json from;
  Json to;
};

/// What the assignments change in one run's meta (as JSON); throws UsageError naming the run
/// for a parameter it lacks or a value that does not fit the parameter's type.
std::vector<Change> plan(Json& meta, const std::vector<Assignment>& assignments,
                         const Run& run) {
  std::vector<Change> changes;
  for (const auto& assignment : assignments) {
    Json* slot = nullptr;
    Json value;
    std::string shown = assignment.name;
    if (assignment.parameter) {
      auto& parameters = meta["parameters"];
      if (!parameters.is_object() || !parameters.contains(assignment.name)) {
        throw UsageError(fmt::format("--set '{}': run {} has no parameter {}", assignment.text,
                                     run.relative(), assignment.name),
                         "meta fields are set as meta.NAME; `xrun archive show RUN` lists "
                         "the parameters");
      }
      auto& parameter = parameters[assignment.name];
      const auto type = parameter.value("type", std::string());
      const auto typed = typed_value(type, assignment.value);
      if (!typed) {
        throw UsageError(fmt::format("--set '{}': '{}' does not fit the type {} of parameter "
                                     "{} (run {})",
                                     assignment.text, assignment.value, type, assignment.name,
                                     run.relative()));
      }
      slot = &parameter["value"];
      value = *typed;
    } else {
      value = field_value(assignment);
      slot = &meta[assignment.name];
      shown = "meta." + assignment.name;
    }
    if (*slot != value) {
      changes.push_back({shown, *slot, value});
      *slot = value;
    }
  }
  return changes;
}

} // namespace

int modify_runs(const ModifyOptions& options, std::ostream& out) {
  if (options.assignments.empty()) {
    throw UsageError("modify needs at least one --set NAME=VALUE",
                     "e.g. --set LR=0.01 or --set meta.description='after the fix'");
  }
  std::vector<Assignment> assignments;
  for (const auto& text : options.assignments) {
    assignments.push_back(parse_assignment(text));
    if (!assignments.back().parameter) {
      field_value(assignments.back()); // a field that may not change is refused up front
    }
  }
  const double now = util::to_epoch_seconds(util::Clock::now());
  auto runs = select_runs(options.root, options.where, now);
  if (runs.empty()) {
    throw UsageError(fmt::format("no runs {}in {}", options.where ? "match " : "",
                                 options.root.string()));
  }

  // Everything is checked before anything is written.
  struct Planned {
    Run* run;
    Json meta;
    std::vector<Change> changes;
  };
  std::vector<Planned> planned;
  for (auto& run : runs) {
    const RunMeta* meta = run.meta();
    if (!meta) {
      throw UsageError(fmt::format("run {} has a meta file that cannot be read: {}",
                                   run.relative(), run.problem));
    }
    if (meta->status == RunStatus::running) {
      throw UsageError(fmt::format("run {} is still running; nothing was changed",
                                   run.relative()),
                       "its supervisor rewrites the meta; change it when the run has ended");
    }
    Json json = Json::parse(serialize_meta(*meta));
    auto changes = plan(json, assignments, run);
    if (!changes.empty()) {
      planned.push_back({&run, std::move(json), std::move(changes)});
    }
  }

  const auto when = util::format_iso_utc(util::Clock::now());
  for (auto& [run, meta, changes] : planned) {
    std::string line;
    Json record = {{"time", when}, {"changes", Json::object()}};
    for (const auto& change : changes) {
      line += fmt::format("{}{}: {} -> {}", line.empty() ? "" : ", ", change.name,
                          change.from.dump(), change.to.dump());
      record["changes"][change.name] = {{"from", change.from}, {"to", change.to}};
    }
    out << fmt::format("{}  {}\n", run->relative(), line);
    if (options.dry_run) {
      continue;
    }
    if (!meta.contains("modifications") || !meta["modifications"].is_array()) {
      meta["modifications"] = Json::array();
    }
    meta["modifications"].push_back(std::move(record));
    write_meta(run->folder(), parse_meta(meta.dump(), run->folder() / k_meta_file));
  }
  const auto count = planned.size();
  out << fmt::format("{} {} run{}{}\n", options.dry_run ? "would change" : "changed", count,
                     count == 1 ? "" : "s",
                     options.dry_run ? " (dry run: nothing was written)" : "");
  return 0;
}

} // namespace xrun::archive
