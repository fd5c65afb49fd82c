#include "archive/modify.hpp"

#include "archive/runs.hpp"
#include "core/run_labels.hpp"
#include "core/diagnostics.hpp"
#include "core/value_limits.hpp"
#include "util/json_depth.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"
#include "xrun/error.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <fmt/format.h>
#include <optional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

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
    "modifications", "error_type", "error_message", "run_hash_inputs", "plugins",
    "sweep",      "reproduces",  "interrupted_by", "packages",
    "pid_namespace"};

/// Meta fields that hold text.
constexpr std::array k_text_fields = {"name", "description", "short_description"};

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
  // As deep as a recorded value may be (the readers of run files refuse deeper ones).
  if (util::json_nesting_beyond(assignment.value, core::k_max_value_depth)) {
    throw UsageError(fmt::format("--set '{}': the value nests deeper than {} levels",
                                 util::shorten(text, 80), core::k_max_value_depth));
  }
  return assignment;
}

/// JSON when the text is JSON, else the text as a string.
Json loose_value(const std::string& text) {
  auto value = Json::parse(text, nullptr, false);
  return value.is_discarded() ? Json(text) : value;
}

/// The alternatives of a type annotation: `X | None`, `Optional[X]` and `Union[X, Y]` apart.
std::vector<std::string> alternatives(std::string type) {
  type.erase(std::remove(type.begin(), type.end(), ' '), type.end());
  std::vector<std::string> found;
  for (const auto& part : util::split_outside_brackets(type, "|")) {
    if (part.starts_with("Optional[") && part.ends_with("]")) {
      for (auto& inner : alternatives(part.substr(9, part.size() - 10))) {
        found.push_back(std::move(inner));
      }
      found.emplace_back("None");
    } else if (part.starts_with("Union[") && part.ends_with("]")) {
      for (const auto& arm : util::split_outside_brackets(part.substr(6, part.size() - 7), ",")) {
        for (auto& inner : alternatives(arm)) {
          found.push_back(std::move(inner));
        }
      }
    } else {
      found.push_back(part);
    }
  }
  return found;
}

struct Typed {
  std::optional<Json> value; // nullopt: the text fits none of the types
  bool checked = true;       // false: a type xrun does not check (the value is taken as given)
};

/// The value for a parameter declared with `type`.
Typed typed_value(const std::string& type, const std::string& text) {
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  const auto kinds = alternatives(type);
  bool unchecked = false;
  bool takes_text = false;
  for (const auto& kind : kinds) {
    if (kind == "None" || kind == "NoneType") {
      if (text == "null" || text == "None") {
        return {Json(nullptr)};
      }
    } else if (kind == "int") {
      long long number = 0;
      const auto [stop, error] = std::from_chars(begin, end, number);
      if (error == std::errc() && stop == end) {
        return {Json(number)};
      }
    } else if (kind == "float") {
      double number = 0;
      const auto [stop, error] = std::from_chars(begin, end, number);
      if (error == std::errc() && stop == end && std::isfinite(number)) {
        return {Json(number)}; // JSON has no infinity or NaN
      }
    } else if (kind == "bool") {
      if (text == "true" || text == "True" || text == "false" || text == "False") {
        return {Json(text == "true" || text == "True")};
      }
    } else if (kind == "str") {
      takes_text = true; // the fallback, after the others had their chance
    } else if (kind.starts_with("list") || kind.starts_with("dict") ||
               kind.starts_with("tuple")) {
      auto value = Json::parse(text, nullptr, false);
      if (kind.starts_with("dict") ? value.is_object() : value.is_array()) {
        return {std::move(value)};
      }
    } else {
      unchecked = true;
    }
  }
  if (takes_text) {
    return {Json(text)};
  }
  if (unchecked || kinds.empty() || type.empty()) {
    return {loose_value(text), false};
  }
  return {std::nullopt};
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

/// Meta fields a run has only when they hold something: an empty value takes them away.
bool is_label(std::string_view name) {
  return name == "tags" || name == "note";
}

/// `meta.tags` as given to --set: a JSON list of tags, or tags separated by commas; null for
/// none. Throws UsageError for a tag that cannot be one.
Json tags_value(const Assignment& assignment) {
  std::vector<std::string> given;
  const auto json = Json::parse(assignment.value, nullptr, false);
  if (json.is_array()) {
    for (const auto& item : json) {
      if (!item.is_string()) {
        throw UsageError(fmt::format("--set '{}': a tag is a string, not {}", assignment.text,
                                     item.dump()));
      }
      given.push_back(item.get<std::string>());
    }
  } else if (!util::trim(assignment.value).empty()) {
    for (const auto& part : util::split(assignment.value, ',')) {
      given.push_back(util::trim(part));
    }
  }
  std::vector<std::string> tags;
  for (auto& tag : given) {
    if (const auto problem = core::tag_problem(tag)) {
      throw UsageError(fmt::format("--set '{}': tag '{}': {}", assignment.text, tag, *problem));
    }
    core::add_tag(tags, std::move(tag));
  }
  return tags.empty() ? Json() : Json(tags);
}

/// The new value of a meta field; throws UsageError for a field that may not change.
Json field_value(const Assignment& assignment) {
  if (listed(k_recorded_fields, assignment.name)) {
    throw UsageError(
        fmt::format("--set '{}': meta.{} records what happened and cannot be changed",
                    assignment.text, assignment.name),
        "name, description, short_description, note, tags, status and fields of your own can "
        "be");
  }
  if (assignment.name == "tags") {
    return tags_value(assignment);
  }
  if (assignment.name == "note") {
    if (const auto problem = core::note_problem(assignment.value)) {
      throw UsageError(fmt::format("--set '{}': {}", assignment.text, *problem));
    }
    return assignment.value.empty() ? Json() : Json(assignment.value);
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
  std::optional<std::string> from_exact; // a parameter's exact text (NaN, big int) before
};

/// What the assignments change in one run's meta (as JSON); throws UsageError naming the run
/// for a parameter it lacks or a value that does not fit the parameter's type.
std::vector<Change> plan(Json& meta, const std::vector<Assignment>& assignments,
                         const std::vector<std::string>& add_tags,
                         const std::vector<std::string>& remove_tags, const Run& run,
                         std::set<std::string>& unchecked) {
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
      if (!typed.value) {
        throw UsageError(fmt::format("--set '{}': '{}' does not fit the type {} of parameter "
                                     "{} (run {})",
                                     assignment.text, assignment.value, type, assignment.name,
                                     run.relative()));
      }
      slot = &parameter["value"];
      value = *typed.value;
      if (*slot != value && parameter.contains("exact")) {
        // The exact text described the old value: the change record keeps it.
        const auto exact = parameter["exact"];
        changes.push_back({shown, *slot, value,
                           exact.is_string() ? std::optional(exact.get<std::string>())
                                             : std::nullopt});
        *slot = value;
        parameter.erase("exact"); // last: erasing may move the value `slot` points at
        continue;
      }
      if (!typed.checked) {
        unchecked.insert(fmt::format("{} ({})", assignment.name, type.empty() ? "no type" : type));
      }
    } else {
      value = field_value(assignment);
      shown = "meta." + assignment.name;
      if (value.is_null() && is_label(assignment.name)) {
        if (meta.contains(assignment.name)) {
          changes.push_back({shown, meta[assignment.name], value, std::nullopt});
          meta.erase(assignment.name);
        }
        continue;
      }
      slot = &meta[assignment.name];
    }
    if (*slot != value) {
      changes.push_back({shown, *slot, value, std::nullopt});
      *slot = value;
    }
  }
  if (!add_tags.empty() || !remove_tags.empty()) {
    const Json before = meta.contains("tags") ? meta["tags"] : Json();
    std::vector<std::string> tags;
    for (const auto& tag : before.is_array() ? before : Json::array({before})) {
      if (!tag.is_null()) {
        tags.push_back(tag.is_string() ? tag.get<std::string>() : tag.dump());
      }
    }
    std::erase_if(tags, [&](const std::string& tag) {
      return std::find(remove_tags.begin(), remove_tags.end(), tag) != remove_tags.end();
    });
    for (const auto& tag : add_tags) {
      core::add_tag(tags, tag);
    }
    const Json after = tags.empty() ? Json() : Json(tags);
    if (after != before) {
      changes.push_back({"meta.tags", before, after, std::nullopt});
      if (after.is_null()) {
        meta.erase("tags");
      } else {
        meta["tags"] = after;
      }
    }
  }
  return changes;
}

} // namespace

int modify_runs(const ModifyOptions& options, std::ostream& out) {
  if (options.assignments.empty() && options.add_tags.empty() && options.remove_tags.empty()) {
    throw UsageError("modify needs at least one --set NAME=VALUE, --add-tag or --remove-tag",
                     "e.g. --set LR=0.01, --set meta.description='after the fix' or "
                     "--add-tag baseline");
  }
  for (const auto& tag : options.add_tags) {
    if (const auto problem = core::tag_problem(tag)) {
      throw UsageError(fmt::format("--add-tag '{}': {}", tag, *problem));
    }
  }
  std::vector<Assignment> assignments;
  for (const auto& text : options.assignments) {
    assignments.push_back(parse_assignment(text));
    if (!assignments.back().parameter) {
      field_value(assignments.back()); // a field that may not change is refused up front
    }
  }
  auto runs = chosen_runs(options.root, options.choice, "modify");
  if (runs.empty()) {
    throw UsageError(fmt::format("no runs {}in {}", options.choice.where ? "match " : "",
                                 options.root.string()));
  }

  // Everything is checked, and every new meta made, before anything is written.
  struct Planned {
    const Run* run;
    RunMeta meta;
    std::string line;
  };
  std::vector<Planned> planned;
  std::set<std::string> unchecked;
  const auto when = util::format_iso_utc(util::Clock::now());
  for (const auto& run : runs) {
    RunMeta current;
    try {
      current = read_meta(run.folder()); // as it is now, not as the index last saw it
    } catch (const Error& problem) {
      throw UsageError(fmt::format("run {} cannot be changed: {}", run.relative(),
                                   problem.what()),
                       "nothing was changed");
    }
    if (current.status == RunStatus::running) {
      throw UsageError(fmt::format("run {} is recorded as running (its supervisor may be "
                                   "alive or lost); nothing was changed",
                                   run.relative()),
                       "its supervisor rewrites the meta; change it when the run has ended "
                       "(`xrun archive reconcile` marks a dead one lost)");
    }
    Json json = Json::parse(serialize_meta(current));
    const auto changes =
        plan(json, assignments, options.add_tags, options.remove_tags, run, unchecked);
    if (changes.empty()) {
      continue;
    }
    std::string line;
    Json record = {{"time", when}, {"changes", Json::object()}};
    for (const auto& change : changes) {
      line += fmt::format("{}{}: {} -> {}", line.empty() ? "" : ", ", change.name,
                          change.from.dump(), change.to.dump());
      record["changes"][change.name] = {{"from", change.from}, {"to", change.to}};
      if (change.from_exact) {
        record["changes"][change.name]["from_exact"] = *change.from_exact;
      }
    }
    if (!json.contains("modifications") || !json["modifications"].is_array()) {
      json["modifications"] = Json::array();
    }
    json["modifications"].push_back(std::move(record));
    planned.push_back({&run, parse_meta(json.dump(), run.folder() / k_meta_file),
                       fmt::format("{}  {}", run.relative(), line)});
  }
  for (const auto& name : unchecked) {
    core::print_warning(
        fmt::format("the type of {} is not checked; the value is stored as given", name));
  }

  std::size_t written = 0;
  for (const auto& [run, meta, line] : planned) {
    if (!options.dry_run) {
      try {
        write_meta(run->folder(), meta);
      } catch (const Error& problem) {
        throw ArchiveError(fmt::format("{} ({} of {} runs were changed before it; the others "
                                       "are as they were)",
                                       problem.what(), written, planned.size()));
      }
      ++written;
    }
    out << line << '\n';
  }
  const auto count = planned.size();
  out << fmt::format("{} {} run{}{}\n", options.dry_run ? "would change" : "changed", count,
                     count == 1 ? "" : "s",
                     options.dry_run ? " (dry run: nothing was written)" : "");
  return 0;
}

} // namespace xrun::archive
