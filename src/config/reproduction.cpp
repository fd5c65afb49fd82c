#include "config/reproduction.hpp"

#include "core/function_target.hpp"
#include "core/run_files.hpp"
#include "util/fs.hpp"
#include "xrun/error.hpp"
#include "xrun/meta.hpp"

#include <fmt/format.h>
#include <map>
#include <set>
#include <yaml-cpp/yaml.h>

namespace xrun::config {

namespace {

/// Refuses a file of the run folder that is there but is not a regular file inside it (a link,
/// a FIFO, a name that leads out): reproducing runs the run's own files, never what a link
/// leads to. False when there is no such file.
bool usable_run_file(const std::filesystem::path& run_folder, const std::string& name) {
  const auto file = util::open_regular_file(run_folder, name);
  if (file.problem == util::FileProblem::missing) {
    return false;
  }
  if (!file.ok()) {
    throw UsageError(core::run_file_problem(run_folder, name, file.problem, file.why),
                     "xrun writes the files of a run as regular files; this run cannot be "
                     "reproduced");
  }
  return true;
}

/// The file in the run folder that stands for `original` (a base or mixin as it was given),
/// or nullopt when the run did not archive it.
std::optional<std::filesystem::path> archived_copy(const std::filesystem::path& run_folder,
                                                   const RunMeta& meta,
                                                   const std::string& original) {
  std::filesystem::path path = original;
  if (path.is_relative() && !meta.working_directory.empty()) {
    path = std::filesystem::path(meta.working_directory) / path;
  }
  path = path.lexically_normal();
  for (const auto& copy : meta.dependencies) {
    if (std::filesystem::path(copy.source).lexically_normal() == path) {
      usable_run_file(run_folder, copy.copy);
      return run_folder / copy.copy;
    }
  }
  return std::nullopt;
}

/// The mixins a config included, as listed in the run's experiment_config.yml.
std::vector<std::string> config_includes(const std::filesystem::path& run_folder) {
  std::vector<std::string> includes;
  const auto file = run_folder / "experiment_config.yml";
  if (!usable_run_file(run_folder, "experiment_config.yml")) {
    return includes;
  }
  try {
    const auto node = YAML::LoadFile(file.string())["include"];
    if (node && node.IsScalar()) {
      includes.push_back(node.Scalar());
    } else if (node && node.IsSequence()) {
      for (const auto& item : node) {
        includes.push_back(item.as<std::string>());
      }
    }
  } catch (const YAML::Exception& problem) {
    throw ArchiveError(fmt::format("{}: {}", file.string(), problem.what()));
  }
  return includes;
}

/// `__INCLUDE__` as recorded (a path, comma-separated paths or a list) with every archived
/// mixin replaced by its copy in the run folder.
nlohmann::json mapped_includes(const std::filesystem::path& run_folder, const RunMeta& meta,
                               const nlohmann::json& value) {
  const auto map = [&](const std::string& path) {
    const auto copy = archived_copy(run_folder, meta, path);
    return copy ? copy->string() : path;
  };
  if (value.is_array()) {
    nlohmann::json mapped = nlohmann::json::array();
    for (const auto& item : value) {
      mapped.push_back(item.is_string() ? nlohmann::json(map(item.get<std::string>())) : item);
    }
    return mapped;
  }
  if (!value.is_string()) {
    return value;
  }
  std::string joined;
  std::string rest = value.get<std::string>();
  for (std::size_t start = 0; start <= rest.size();) {
    auto comma = rest.find(',', start);
    if (comma == std::string::npos) {
      comma = rest.size();
    }
    auto part = rest.substr(start, comma - start);
    part.erase(0, part.find_first_not_of(' '));
    part.erase(part.find_last_not_of(' ') + 1);
    if (!part.empty()) {
      joined += (joined.empty() ? "" : ",") + map(part);
    }
    start = comma + 1;
  }
  return joined;
}

/// `path` made absolute and lexically normal, without a trailing separator.
std::filesystem::path normal_absolute(const std::filesystem::path& path) {
  auto normal = std::filesystem::absolute(path).lexically_normal();
  if (!normal.has_filename() && normal.has_relative_path()) {
    normal = normal.parent_path();
  }
  return normal;
}

/// The base path for a new run beside `folder` (absolute and normal). A run lives at
/// <base>/<namespace>/<id>: the base is what precedes the namespace in the folder's path, so a
/// moved or extracted archive reproduces into itself. A folder not laid out like that (moved
/// by hand) falls back to the recorded base path when it still exists, else to the folder's
/// parent, with a warning.
std::filesystem::path base_beside(const std::filesystem::path& folder, const RunMeta& meta,
                                  std::vector<std::string>& warnings) {
  const auto parent = folder.parent_path();
  const std::filesystem::path space = meta.namespace_name;
  // Compared after joining, so that `./results/x`, `results/x/` and `../shared/x` match too.
  for (auto candidate = parent;; candidate = candidate.parent_path()) {
    if (normal_absolute(candidate / space) == parent) {
      return candidate;
    }
    if (!candidate.has_relative_path()) {
      break;
    }
  }
  std::error_code error;
  const bool recorded =
      !meta.base_path.empty() && std::filesystem::is_directory(meta.base_path, error);
  const auto base = recorded ? std::filesystem::path(meta.base_path) : parent;
  warnings.push_back(
      fmt::format("run {} is not in a folder <base>/{}; {}, so the new run goes to {}",
                  folder.string(), meta.namespace_name,
                  recorded ? "its recorded base path is there"
                           : fmt::format("its recorded base path {} is gone", meta.base_path),
                  normal_absolute(base / space).string()));
  return base;
}

/// The parameters `arguments` give values (`--NAME VALUE`, `--NAME=VALUE`, a bare `--FLAG`),
/// read as the experiment process reads them.
std::set<std::string> given_parameters(const std::vector<std::string>& arguments,
                                       const RunMeta& meta) {
  const auto name_of = [](const std::string& arg) {
    return arg.substr(2,
                      arg.find('=') == std::string::npos ? std::string::npos : arg.find('=') - 2);
  };
  std::set<std::string> names;
  for (std::size_t i = 0; i < arguments.size(); ++i) {
    const auto& arg = arguments[i];
    if (!arg.starts_with("--") || arg.size() == 2) {
      continue;
    }
    names.insert(name_of(arg));
    if (arg.find('=') == std::string::npos && i + 1 < arguments.size()) {
      const auto& next = arguments[i + 1];
      // The next word is the value unless it names a parameter (`--FLAG --OTHER 1`).
      const bool next_is_parameter =
          next.starts_with("--") && next.size() > 2 && meta.parameter(name_of(next)) != nullptr;
      if (!next_is_parameter) {
        ++i;
      }
    }
  }
  return names;
}

/// The text of a recorded value JSON cannot hold exactly (`nan`, `inf`, `2**70` written out),
/// to be converted by the parameter's type as a command-line value is.
std::optional<std::string> exact_text(const ParameterRecord& parameter) {
  const auto exact = parameter.extra.find("exact");
  if (exact != parameter.extra.end() && exact->is_string()) {
    return exact->get<std::string>();
  }
  return std::nullopt;
}

} // namespace

Reproduction plan_reproduction(const std::filesystem::path& run_folder,
                               const std::vector<std::string>& arguments) {
  const RunMeta meta = read_meta(run_folder);
  // Absolute, so that the new run may start in the recorded working directory.
  const auto folder = normal_absolute(run_folder);
  const auto code = folder / "experiment_code.py";
  if (!usable_run_file(run_folder, "experiment_code.py")) {
    throw UsageError(
        fmt::format("run {} has no code snapshot (experiment_code.py)", run_folder.string()),
        "only runs recorded by xrun run can be reproduced");
  }
  Reproduction plan;
  Config& config = plan.config;
  config.experiment = code;
  config.name = meta.name;
  config.description = meta.description;
  config.base_path = base_beside(folder, meta, plan.warnings);
  config.namespace_name = meta.namespace_name;
  // A function run runs its function of the archived module again.
  if (const auto function = meta.extra.find("function");
      function != meta.extra.end() && function->is_object()) {
    const auto name = function->find("name");
    if (name == function->end() || !name->is_string() ||
        !core::is_identifier(name->get<std::string>())) {
      throw UsageError(fmt::format("run {} records a function without a usable name (meta "
                                   "function.name)",
                                   run_folder.string()));
    }
    config.function = name->get<std::string>();
  }
  std::error_code error;
  if (!meta.working_directory.empty() &&
      std::filesystem::is_directory(meta.working_directory, error)) {
    plan.working_directory = meta.working_directory;
  } else if (!meta.working_directory.empty()) {
    plan.warnings.push_back(fmt::format(
        "run {} ran in {}, which is gone; the new run runs in the current folder, where relative "
        "paths among its parameters may lead elsewhere",
        meta.id, meta.working_directory));
  }
  for (const auto& include : config_includes(run_folder)) {
    const auto copy = archived_copy(folder, meta, include);
    if (!copy) {
      throw UsageError(fmt::format("run {} included the mixin {}, which it did not archive",
                                   run_folder.string(), include));
    }
    config.includes.push_back(*copy);
  }
  // The plugins a config chose (choices given on the command line are given again).
  if (usable_run_file(run_folder, "experiment_config.yml")) {
    config.plugins = plugin_choices_of(run_folder / "experiment_config.yml");
  }
  // Values changed later by `xrun archive modify` are not what ran: the first recorded
  // change of each parameter holds the value it ran with.
  struct RanWith {
    nlohmann::json value;
    std::optional<std::string> exact; // the text of a value JSON cannot hold (NaN, big int)
  };
  std::map<std::string, RanWith> ran_with;
  const auto modifications = meta.extra.find("modifications");
  if (modifications != meta.extra.end() && modifications->is_array()) {
    for (const auto& record : *modifications) {
      const auto changes = record.find("changes");
      if (changes == record.end() || !changes->is_object()) {
        continue;
      }
      for (const auto& [name, change] : changes->items()) {
        if (!name.starts_with("meta.") && change.is_object() && change.contains("from")) {
          const auto exact = change.find("from_exact");
          ran_with.emplace(name, RanWith{plain_json(change["from"]),
                                         exact != change.end() && exact->is_string()
                                             ? std::optional(exact->get<std::string>())
                                             : std::nullopt});
        }
      }
    }
  }
  // No line and column: the meta is JSON written by xrun, not a file the user wrote.
  const Location where{(folder / k_meta_file).string(), 0, 0};
  const auto given = given_parameters(arguments, meta);
  for (const auto& parameter : meta.parameters) {
    if (given.contains(parameter.name)) {
      continue; // the command line's value replaces it, whatever was recorded
    }
    if (!parameter.usable) {
      plan.warnings.push_back(fmt::format(
          "{} was recorded as {} (not JSON) and takes the module's value", parameter.name,
          parameter.value.is_string() ? parameter.value.get<std::string>()
                                      : parameter.value.dump()));
      continue;
    }
    auto value = plain_json(parameter.value);
    auto exact = exact_text(parameter);
    if (const auto original = ran_with.find(parameter.name); original != ran_with.end()) {
      // `archive modify` moves the exact text into its change record; one written before it
      // did left the text on the parameter, where it still is the value the run had.
      if (original->second.exact) {
        exact = original->second.exact;
      }
      plan.warnings.push_back(fmt::format(
          "{} was changed after the run (to {}); reproducing with {}, the value it ran with "
          "(give --{} to choose)",
          parameter.name, value.dump(), exact ? *exact : original->second.value.dump(),
          parameter.name));
      value = original->second.value;
    }
    if (parameter.name == "__INCLUDE__") {
      value = mapped_includes(folder, meta, value);
    }
    config.parameters.push_back({parameter.name, std::move(value), exact, where, std::nullopt});
  }
  plan.reproduces = {{"run", folder.string()}, {"id", meta.id}};
  return plan;
}

} // namespace xrun::config
