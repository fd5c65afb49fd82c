#include "scaffold/templates.hpp"

#include "core/atomic_file.hpp"
#include "core/module_scan.hpp"
#include "util/fs.hpp"
#include "xrun/error.hpp"
#include "xrun/meta.hpp"
#include "xrun/template_analysis.hpp"
#include "xrun/template_config.hpp"
#include "xrun/template_experiment.hpp"
#include "xrun/template_extend.hpp"
#include "xrun/template_mixin.hpp"

#include <array>
#include <fmt/format.h>
#include <kainjow/mustache.hpp>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

namespace xrun::scaffold {

namespace {

using kainjow::mustache::data;
using kainjow::mustache::mustache;

constexpr std::array k_python_keywords = {
    "False", "None",   "True",    "and",      "as",       "assert", "async",  "await",
    "break", "class",  "continue", "def",     "del",      "elif",   "else",   "except",
    "finally", "for",  "from",    "global",   "if",       "import", "in",     "is",
    "lambda", "nonlocal", "not",  "or",       "pass",     "raise",  "return", "try",
    "while", "with",   "yield",   "match",    "case",     "type"};

/// Modules the generated files import: a file of that name beside them would be imported
/// instead.
constexpr std::array k_taken_names = {"xrun",   "random", "json",   "csv",    "pathlib",
                                      "math",   "typing", "matplotlib", "numpy", "os",
                                      "sys",    "time",   "collections", "functools"};

/// A name usable as a Python module (so that `import NAME` and `--__INCLUDE__ NAME.py` work).
void check_module_name(const std::string& name) {
  static const std::regex identifier("[A-Za-z_][A-Za-z0-9_]*");
  if (!std::regex_match(name, identifier)) {
    throw UsageError(fmt::format("'{}' is not a valid Python module name", name),
                     "use letters, digits and underscores, not starting with a digit "
                     "(e.g. train_mlp)");
  }
  for (const char* keyword : k_python_keywords) {
    if (name == keyword) {
      throw UsageError(fmt::format("'{}' is a Python keyword and cannot name a module", name),
                       fmt::format("e.g. {}_experiment", name));
    }
  }
  for (const char* taken : k_taken_names) {
    if (name == taken) {
      throw UsageError(fmt::format("'{}' is the name of a module experiments import; a file of "
                                   "that name would be imported in its place",
                                   name),
                       fmt::format("e.g. {}_experiment", name));
    }
  }
}

/// `text` as a Python (and JSON) string literal, quotes included.
std::string python_string(const std::string& text) {
  return nlohmann::json(text).dump();
}

/// `text` as a double-quoted YAML string for xrun's config loader (`$` written as `$$`).
std::string yaml_string(const std::string& text) {
  std::string quoted;
  for (const char c : nlohmann::json(text).dump()) {
    quoted += c == '$' ? std::string("$$") : std::string(1, c);
  }
  return quoted;
}

/// Whether an annotation names only builtin types, so that a file without the base's imports
/// can repeat it.
bool builtin_annotation(const std::string& annotation) {
  static const std::regex name("[A-Za-z_][A-Za-z0-9_.]*");
  static const std::set<std::string> builtins{"int",  "float", "str", "bool", "bytes", "list",
                                              "dict", "tuple", "set", "None"};
  for (std::sregex_iterator it(annotation.begin(), annotation.end(), name), end; it != end;
       ++it) {
    if (!builtins.count(it->str())) {
      return false;
    }
  }
  return true;
}

std::string render(std::string_view text, const data& values) {
  mustache engine{std::string(text)};
  if (!engine.is_valid()) {
    throw std::logic_error("a template compiled into xrun is broken: " +
                           engine.error_message());
  }
  return engine.render(values);
}

/// A module to build on, read as text (never imported).
core::ModuleScan read_module(const std::filesystem::path& file, const char* what) {
  std::error_code error;
  if (file.empty()) {
    throw UsageError(fmt::format("{} needs --from FILE.py", what));
  }
  if (!std::filesystem::is_regular_file(file, error) || file.extension() != ".py") {
    throw UsageError(fmt::format("{} is not a Python module (.py) that exists", file.string()),
                     "give the experiment module to start from with --from");
  }
  const auto text = util::read_file(file);
  return core::scan_module(text ? *text : std::string());
}

/// `path` as written in a file in `folder`: relative to it.
std::string relative_to(const std::filesystem::path& path, const std::filesystem::path& folder) {
  const auto absolute = std::filesystem::absolute(path).lexically_normal();
  const auto base = std::filesystem::absolute(folder).lexically_normal();
  const auto relative = absolute.lexically_relative(base);
  return relative.empty() ? absolute.string() : relative.generic_string();
}

/// A Python literal as YAML, when it is a plain one (number, bool, None, simple string).
std::optional<std::string> yaml_value(const std::string& python) {
  static const std::regex number(R"([-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)");
  static const std::regex simple_string(R"(^(["'])([^"'\\\n]*)\1$)");
  if (std::regex_match(python, number)) {
    return python;
  }
  if (python == "True" || python == "False") {
    return python == "True" ? "true" : "false";
  }
  if (python == "None") {
    return "null";
  }
  std::smatch match;
  if (std::regex_match(python, match, simple_string)) {
    return yaml_string(match[2].str());
  }
  return std::nullopt;
}

std::string one_line(std::string text) {
  for (auto& c : text) {
    if (c == '\n') {
      c = ' ';
    }
  }
  return text;
}

data parameter_list(const core::ModuleScan& scan, bool with_values) {
  data list{data::type::list};
  for (const auto& assignment : scan.assignments) {
    if (!core::is_upper_name(assignment.name) || assignment.name.starts_with("__")) {
      continue;
    }
    data item;
    item.set("name", assignment.name);
    // A bare `NAME = INHERIT` keeps the base's type; an annotation that needs the base's
    // imports is only mentioned.
    const bool repeatable = builtin_annotation(assignment.annotation);
    item.set("annotation", assignment.annotation.empty() || !repeatable
                               ? ""
                               : ": " + assignment.annotation);
    const auto described = scan.descriptions.find(assignment.name);
    const auto description =
        described != scan.descriptions.end() ? one_line(described->second) : std::string();
    // A config shows no annotations, so its comments carry the type as well.
    const auto& type = with_values || !repeatable ? assignment.annotation : std::string();
    if (description.empty()) {
      item.set("description", type.empty() ? std::string("(no description)") : type);
    } else {
      item.set("description", type.empty() ? description : type + ": " + description);
    }
    if (with_values) {
      if (const auto value = yaml_value(assignment.value)) {
        item.set("value", *value);
      } else {
        item.set("value", false);
      }
      item.set("source", one_line(assignment.value));
    }
    list.push_back(item);
  }
  return list;
}

} // namespace

int make_template(const TemplateRequest& request, std::ostream& out) {
  std::string stem = request.name;
  std::string extension = ".py";
  data values;
  std::string_view text;
  switch (request.kind) {
  case Kind::experiment:
    check_module_name(stem);
    text = k_template_experiment;
    break;
  case Kind::mixin:
    check_module_name(stem);
    text = k_template_mixin;
    {
      std::string parameter = stem;
      for (auto& c : parameter) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      }
      parameter.erase(0, parameter.find_first_not_of('_')); // `_x` would not be a parameter
    values.set("parameter", (parameter.empty() ? std::string("MIXIN") : parameter) + "_FILE");
    }
    break;
  case Kind::extend: {
    check_module_name(stem);
    const auto scan = read_module(request.from, "extend");
    text = k_template_extend;
    values.set("base_file", request.from.filename().string());
    values.set("base_literal", python_string(relative_to(request.from, request.folder)));
    values.set("parameters", parameter_list(scan, false));
    break;
  }
  case Kind::config: {
    static const std::regex config_name("[A-Za-z0-9_][A-Za-z0-9_.-]*");
    if (!std::regex_match(stem, config_name)) {
      throw UsageError(fmt::format("'{}' is not a usable config name", stem),
                       "use letters, digits, '_', '-' and '.'");
    }
    const auto scan = read_module(request.from, "config");
    extension = ".yml";
    text = k_template_config;
    values.set("experiment_file", request.from.filename().string());
    values.set("experiment_literal", yaml_string(relative_to(request.from, request.folder)));
    values.set("parameters", parameter_list(scan, true));
    break;
  }
  case Kind::analysis: {
    const auto& run = request.run;
    const auto meta = read_meta(run);
    stem = "analysis_" + meta.id.substr(meta.id.size() >= 4 ? meta.id.size() - 4 : 0);
    static const std::regex unsafe("[^A-Za-z0-9_]");
    stem = std::regex_replace(stem, unsafe, "_");
    text = k_template_analysis;
    values.set("run_id", meta.id);
    values.set("run_name", meta.name);
    values.set("run_status", std::string(to_string(meta.status)));
    values.set("run_literal",
               python_string(std::filesystem::absolute(run).lexically_normal().string()));
    break;
  }
  }
  const auto file = request.folder / (stem + extension);
  values.set("name", stem);
  values.set("stem", stem);
  values.set("file", file.filename().string());
  std::error_code error;
  if (!request.from.empty() &&
      std::filesystem::weakly_canonical(request.from, error) ==
          std::filesystem::weakly_canonical(file, error)) {
    throw UsageError(fmt::format("{} would replace the file it starts from", file.string()),
                     "give the new file another name");
  }
  if (std::filesystem::exists(std::filesystem::symlink_status(file, error)) && !request.force) {
    throw UsageError(fmt::format("{} exists already; nothing was written", file.string()),
                     "--force replaces it");
  }
  const auto rendered = render(text, values);
  std::filesystem::create_directories(request.folder, error);
  core::write_file_atomic(file, rendered);
  out << fmt::format("wrote {}\n", file.string());
  return 0;
}

} // namespace xrun::scaffold
