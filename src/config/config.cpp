#include "config/config.hpp"

#include "core/run_labels.hpp"
#include "sweep/slurm.hpp"
#include "util/strings.hpp"
#include "xrun/error.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fmt/format.h>
#include <map>
#include <regex>
#include <set>
#include <yaml-cpp/yaml.h>

namespace xrun::config {

namespace {

using Json = nlohmann::json;

const std::vector<std::string> k_known_keys{"extend",    "parameters",  "include",
                                            "name",      "description", "base_path",
                                            "namespace", "plugins",     "sweep",
                                            "launcher",  "tags",        "note"};

Location location_of(const std::filesystem::path& file, const YAML::Mark& mark) {
  return {file.string(), mark.line + 1, mark.column + 1};
}

[[noreturn]] void fail(const Location& where, const std::string& message, std::string hint = {}) {
  throw ConfigError(fmt::format("{}: {}", where.str(), message), std::move(hint));
}

/// A plain (unquoted) scalar's value under the YAML 1.2 core schema; nullopt for a string.
std::optional<Json> resolve_plain(const std::string& text) {
  static const std::regex k_int("[-+]?[0-9]+");
  static const std::regex k_float("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return Json(nullptr);
  }
  if (text == "true" || text == "True" || text == "TRUE") {
    return Json(true);
  }
  if (text == "false" || text == "False" || text == "FALSE") {
    return Json(false);
  }
  if (std::regex_match(text, k_int)) {
    try {
      return Json(std::stoll(text));
    } catch (const std::out_of_range&) {
      return std::nullopt; // too large for a JSON integer: the declared type decides
    }
  }
  if (std::regex_match(text, k_float)) {
    return Json(std::stod(text));
  }
  return std::nullopt;
}

bool is_plain(const YAML::Node& node) {
  return node.Tag() == "?";
}

/// A YAML node as JSON, substituting environment variables in every string scalar.
Json to_json(const YAML::Node& node, const std::filesystem::path& file, const Environment& env) {
  switch (node.Type()) {
  case YAML::NodeType::Null:
  case YAML::NodeType::Undefined:
    return nullptr;
  case YAML::NodeType::Scalar: {
    const auto where = location_of(file, node.Mark());
    const auto text = substitute(node.Scalar(), env, where);
    // Text from the environment is typed as if written plainly: "${WIDTH}" with WIDTH=4 is 4.
    if (is_plain(node) || node.Scalar().find("${") != std::string::npos) {
      if (auto resolved = resolve_plain(text)) {
        return *resolved;
      }
    }
    return text;
  }
  case YAML::NodeType::Sequence: {
    Json list = Json::array();
    for (const auto& item : node) {
      list.push_back(to_json(item, file, env));
    }
    return list;
  }
  case YAML::NodeType::Map: {
    Json map = Json::object();
    for (const auto& item : node) {
      map[item.first.as<std::string>()] = to_json(item.second, file, env);
    }
    return map;
  }
  }
  return nullptr;
}

/// The string value of a scalar key such as `name:`, substituted; ConfigError otherwise.
std::string string_value(const YAML::Node& node, const char* key, const std::filesystem::path& file,
                         const Environment& env) {
  if (!node.IsScalar()) {
    fail(location_of(file, node.Mark()), fmt::format("'{}' must be a text", key));
  }
  return substitute(node.Scalar(), env, location_of(file, node.Mark()));
}

struct Layer {
  std::filesystem::path file;
  YAML::Node root;
};

YAML::Node parse_file(const std::filesystem::path& file) {
  try {
    return YAML::LoadFile(file.string());
  } catch (const YAML::ParserException& error) {
    fail(location_of(file, error.mark), fmt::format("malformed YAML: {}", error.msg));
  } catch (const YAML::BadFile&) {
    throw ConfigError(fmt::format("cannot read config {}", file.string()));
  }
}

/// The layer's `plugins:` mapping: `NAME: true` (or empty), `NAME: false` or
/// `NAME: {SETTING: value}` (on, with settings).
void read_plugins(const Layer& layer, const Environment& env, std::vector<PluginChoice>& out) {
  const auto plugins = layer.root["plugins"];
  if (!plugins || plugins.IsNull()) {
    return;
  }
  if (!plugins.IsMap()) {
    fail(location_of(layer.file, plugins.Mark()),
         "'plugins' must be a mapping of NAME: true, false or {SETTING: value}");
  }
  for (const auto& item : plugins) {
    PluginChoice choice;
    choice.name = item.first.as<std::string>();
    choice.where = location_of(layer.file, item.first.Mark());
    const auto value = to_json(item.second, layer.file, env);
    if (value.is_boolean()) {
      choice.enabled = value.get<bool>();
    } else if (value.is_object()) {
      choice.settings = value;
    } else if (!value.is_null()) {
      fail(location_of(layer.file, item.second.Mark()),
           fmt::format("plugin {} must be true, false or a mapping of its settings", choice.name));
    }
    out.push_back(std::move(choice));
  }
}

/// The layer's `launcher:` settings into `out` (a later layer's replace an earlier one's),
/// with where each was set (`file:line:column: launcher.KEY`).
void read_launcher(const Layer& layer, const Environment& env, Json& out,
                   std::map<std::string, std::string>& where) {
  const auto launcher = layer.root["launcher"];
  if (!launcher || launcher.IsNull()) {
    return;
  }
  if (!launcher.IsMap()) {
    fail(location_of(layer.file, launcher.Mark()),
         "'launcher' must be a mapping like {type: slurm, partition: gpu, time: 02:00:00}");
  }
  for (const auto& item : launcher) {
    const auto key = item.first.as<std::string>();
    out[key] = to_json(item.second, layer.file, env);
    where[key] =
        fmt::format("{}: launcher.{}", location_of(layer.file, item.first.Mark()).str(), key);
  }
}

/// A value of a sweep: typed as a `parameters:` entry is.
SweepValue sweep_value(const YAML::Node& node, const std::filesystem::path& file,
                       const Environment& env) {
  SweepValue value{to_json(node, file, env), std::nullopt};
  if (node.IsScalar()) {
    const bool substituted = node.Scalar().find("${") != std::string::npos;
    if (substituted || (is_plain(node) && value.value.is_string())) {
      value.text = substitute(node.Scalar(), env, location_of(file, node.Mark()));
    }
  }
  return value;
}

/// `[values...]`, `{range: [start, stop, step]}`, `{linspace: [first, last, count]}` or
/// `{logspace: [first exponent, last exponent, count]}` as its values.
std::vector<SweepValue> sweep_values(const YAML::Node& node, const std::string& name,
                                     const std::filesystem::path& file, const Environment& env) {
  const auto where = location_of(file, node.Mark());
  std::vector<SweepValue> values;
  if (node.IsSequence()) {
    for (const auto& item : node) {
      values.push_back(sweep_value(item, file, env));
    }
  } else if (node.IsMap() && node.size() == 1) {
    const auto kind = node.begin()->first.as<std::string>();
    const auto arguments = node.begin()->second;
    Json numbers = Json::array();
    if (arguments.IsSequence()) {
      for (const auto& argument : arguments) {
        numbers.push_back(to_json(argument, file, env));
        if (!numbers.back().is_number()) {
          fail(location_of(file, argument.Mark()),
               fmt::format("the arguments of {} of {} are numbers", kind, name));
        }
      }
    }
    if (kind == "range" && (numbers.size() == 2 || numbers.size() == 3)) {
      const auto step = numbers.size() == 3 ? numbers[2] : Json(1);
      if (!numbers[0].is_number_integer() || !numbers[1].is_number_integer() ||
          !step.is_number_integer() || step.get<long long>() == 0) {
        fail(where, fmt::format("range of {} takes integers [start, stop] or [start, stop, step] "
                                "(step not 0, stop left out, as in Python); for floats use "
                                "linspace",
                                name));
      }
      const auto start = numbers[0].get<long long>();
      const auto stop = numbers[1].get<long long>();
      const auto by = step.get<long long>();
      for (auto i = start; by > 0 ? i < stop : i > stop; i += by) {
        if (values.size() == 1000000) {
          fail(where, fmt::format("range of {} has more than a million values", name));
        }
        values.push_back({Json(i), std::nullopt});
      }
    } else if ((kind == "linspace" || kind == "logspace") && numbers.size() == 3) {
      if (!numbers[2].is_number_integer() || numbers[2].get<long long>() < 1 ||
          numbers[2].get<long long>() > 1000000) {
        fail(where, fmt::format("the count of {} of {} must be a whole number from 1", kind, name));
      }
      const auto n = numbers[2].get<long long>();
      const double first = numbers[0].get<double>();
      const double last = numbers[1].get<double>();
      for (long long i = 0; i < n; ++i) {
        const double x = n == 1 ? first : first + (last - first) * double(i) / double(n - 1);
        values.push_back({Json(kind == "logspace" ? std::pow(10.0, x) : x), std::nullopt});
      }
    } else {
      fail(where, fmt::format("{} must be a list, or one of {{range: [start, stop, step]}}, "
                              "{{linspace: [first, last, count]}}, "
                              "{{logspace: [first exponent, last exponent, count]}}",
                              name));
    }
  } else {
    fail(where, fmt::format("{} must be a list of values (or range, linspace, logspace)", name));
  }
  if (values.empty()) {
    fail(where, fmt::format("{} has no values to sweep", name));
  }
  return values;
}

/// The `sweep:` section of one config file.
SweepSpec read_sweep(const Layer& layer, const Environment& env) {
  SweepSpec spec;
  const auto sweep = layer.root["sweep"];
  if (!sweep || sweep.IsNull()) {
    return spec;
  }
  const auto& file = layer.file;
  spec.where = location_of(file, sweep.Mark());
  if (!sweep.IsMap()) {
    fail(spec.where, "'sweep' must be a mapping with grid, zip and random");
  }
  std::vector<std::pair<std::string, Location>> seen;
  for (const auto& section : sweep) {
    const auto key = section.first.as<std::string>();
    const auto where = location_of(file, section.first.Mark());
    const auto& body = section.second;
    if (key != "grid" && key != "zip" && key != "random") {
      static const std::vector<std::string> k_sections{"grid", "zip", "random"};
      const auto close = util::closest_match(key, k_sections);
      fail(where, fmt::format("unknown sweep section '{}'{} (sweep has grid, zip and random)", key,
                              close ? fmt::format("; did you mean '{}'?", *close) : ""));
    }
    if (!body.IsMap()) {
      fail(location_of(file, body.Mark()),
           fmt::format("'{}' must be a mapping of parameter names", key));
    }
    for (const auto& item : body) {
      const auto name = item.first.as<std::string>();
      const auto at = location_of(file, item.first.Mark());
      if (key == "random" && (name == "samples" || name == "seed")) {
        const auto value = to_json(item.second, file, env);
        const long long least = name == "samples" ? 1 : 0;
        if (!value.is_number_integer() || value.get<long long>() < least) {
          fail(location_of(file, item.second.Mark()),
               fmt::format("{} must be a whole number from {}", name, least));
        }
        (name == "samples" ? spec.samples : spec.seed) = value.get<long long>();
        continue;
      }
      for (const auto& [other, first] : seen) {
        if (other == name) {
          fail(at, fmt::format("{} is swept twice (first at {})", name, first.str()));
        }
      }
      seen.emplace_back(name, at);
      if (key == "random") {
        const auto& draw = item.second;
        if (!draw.IsMap() || draw.size() != 1 || !draw.begin()->second.IsSequence()) {
          fail(at, fmt::format("random {} must be one of {{uniform: [low, high]}}, "
                               "{{loguniform: [low, high]}}, {{integer: [low, high]}}, "
                               "{{choice: [values...]}}",
                               name));
        }
        SweepDraw entry{name, at, draw.begin()->first.as<std::string>(), {}};
        const YAML::Node arguments = draw.begin()->second; // held: the iterator is a temporary
        for (const auto& argument : arguments) {
          entry.arguments.push_back(sweep_value(argument, file, env));
        }
        spec.random.push_back(std::move(entry));
      } else {
        (key == "grid" ? spec.grid : spec.zip)
            .push_back({name, at, sweep_values(item.second, name, file, env)});
      }
    }
  }
  if (!spec.random.empty() && spec.samples == 0) {
    fail(spec.where, "random needs samples: N (how many draws)");
  }
  return spec;
}

/// A config's `tags:` (a list of tags, or one) added to `tags`, each checked.
void read_tags(const Layer& layer, const Environment& env, std::vector<std::string>& tags) {
  const auto node = layer.root["tags"];
  if (!node || node.IsNull()) {
    return;
  }
  if (!node.IsScalar() && !node.IsSequence()) {
    fail(location_of(layer.file, node.Mark()), "'tags' must be a list of tags, or one tag");
  }
  std::vector<YAML::Node> entries;
  if (node.IsScalar()) {
    entries.push_back(node);
  } else {
    for (const auto& entry : node) {
      entries.push_back(entry);
    }
  }
  for (const auto& entry : entries) {
    const auto tag = string_value(entry, "tags", layer.file, env);
    if (const auto problem = core::tag_problem(tag)) {
      fail(location_of(layer.file, entry.Mark()), fmt::format("tag '{}': {}", tag, *problem));
    }
    core::add_tag(tags, tag);
  }
}

void check_keys(const Layer& layer, bool strict, std::vector<std::string>& warnings) {
  for (const auto& item : layer.root) {
    const auto key = item.first.as<std::string>();
    if (std::find(k_known_keys.begin(), k_known_keys.end(), key) != k_known_keys.end()) {
      continue;
    }
    const auto where = location_of(layer.file, item.first.Mark());
    const auto close = util::closest_match(key, k_known_keys);
    const auto message = fmt::format("unknown key '{}'{}", key,
                                     close ? fmt::format(" (did you mean '{}'?)", *close) : "");
    if (strict) {
      fail(where, message, "--strict rejects keys xrun does not know");
    }
    warnings.push_back(fmt::format("{}:{}: {} (ignored)", where.file, where.line, message));
  }
}

} // namespace

std::string Location::str() const {
  return line > 0 ? fmt::format("{}:{}:{}", file, line, column) : file; // `--sweep A=1,2`
}

Environment process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    return value ? std::optional<std::string>(value) : std::nullopt;
  };
}

std::string substitute(std::string_view text, const Environment& environment,
                       const Location& where) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$' || i + 1 >= text.size()) {
      out.push_back(text[i]);
      continue;
    }
    if (text[i + 1] == '$') {
      out.push_back('$');
      ++i;
      continue;
    }
    if (text[i + 1] != '{') {
      out.push_back('$');
      continue;
    }
    const auto end = text.find('}', i + 2);
    if (end == std::string_view::npos) {
      fail(where, fmt::format("unterminated '${{' in '{}'", text));
    }
    const auto inside = std::string(text.substr(i + 2, end - i - 2));
    const auto separator = inside.find(":-");
    const auto name = inside.substr(0, separator);
    static const std::regex k_name("[A-Za-z_][A-Za-z0-9_]*");
    if (!std::regex_match(name, k_name)) {
      fail(where, fmt::format("'${{{}}}' does not name an environment variable", inside));
    }
    if (const auto value = environment(name)) {
      out += *value;
    } else if (separator != std::string::npos) {
      out += inside.substr(separator + 2);
    } else {
      fail(where, fmt::format("environment variable {} is not set", name),
           fmt::format("set it, or give a default: ${{{}:-value}}", name));
    }
    i = end;
  }
  return out;
}

Config load_config(const std::filesystem::path& file, bool strict, const Environment& env) {
  Config config;
  std::map<std::string, std::string> launcher_where;
  std::vector<Layer> layers; // top first
  std::vector<std::filesystem::path> seen;
  std::filesystem::path current = std::filesystem::absolute(file).lexically_normal();
  for (;;) {
    if (std::find(seen.begin(), seen.end(), current) != seen.end()) {
      std::string chain;
      for (const auto& path : seen) {
        chain += path.filename().string() + " -> ";
      }
      throw ConfigError(fmt::format("{}: extend cycle: {}{}", seen.front().string(), chain,
                                    current.filename().string()));
    }
    seen.push_back(current);
    Layer layer{current, parse_file(current)};
    if (!layer.root.IsMap()) {
      fail(location_of(current, layer.root.Mark()),
           "a config is a mapping with the keys extend, parameters, include, name, "
           "description, base_path, namespace, plugins, sweep, launcher, tags and note");
    }
    check_keys(layer, strict, config.warnings);
    const auto extend = layer.root["extend"];
    if (!extend) {
      fail({current.string(), 1, 1}, "the config does not say which experiment it extends",
           "add `extend: experiment.py` (or another config)");
    }
    const auto target_text = string_value(extend, "extend", current, env);
    const auto target = (current.parent_path() / target_text).lexically_normal();
    if (!std::filesystem::is_regular_file(target)) {
      fail(location_of(current, extend.Mark()),
           fmt::format("the extended file '{}' does not exist ({})", target_text, target.string()));
    }
    layers.push_back(std::move(layer));
    const auto extension = target.extension().string();
    if (extension == ".py") {
      config.experiment = target;
      break;
    }
    if (extension != ".yml" && extension != ".yaml") {
      fail(location_of(current, extend.Mark()),
           fmt::format("'{}' is neither an experiment module (.py) nor a config (.yml)",
                       target_text));
    }
    current = target;
  }

  // Apply from the root's child up to the top config, so that later settings win.
  for (auto layer = layers.rbegin(); layer != layers.rend(); ++layer) {
    config.files.push_back(layer->file);
    const auto& root = layer->root;
    if (const auto parameters = root["parameters"]) {
      if (!parameters.IsMap() && !parameters.IsNull()) {
        fail(location_of(layer->file, parameters.Mark()),
             "'parameters' must be a mapping of NAME: value");
      }
      for (const auto& item : parameters) {
        ParameterSetting setting;
        setting.name = item.first.as<std::string>();
        setting.where = location_of(layer->file, item.first.Mark());
        const auto& node = item.second;
        setting.value = to_json(node, layer->file, env);
        if (node.IsScalar()) {
          // Text from the environment, or a plain word, is converted by the declared type.
          const bool substituted = node.Scalar().find("${") != std::string::npos;
          if (substituted || (is_plain(node) && setting.value.is_string())) {
            setting.text = substitute(node.Scalar(), env, setting.where);
          }
        }
        std::erase_if(config.parameters,
                      [&](const ParameterSetting& other) { return other.name == setting.name; });
        config.parameters.push_back(std::move(setting));
      }
    }
    read_plugins(*layer, env, config.plugins);
    read_launcher(*layer, env, config.launcher, launcher_where);
    if (const auto include = root["include"]) {
      std::vector<YAML::Node> entries;
      if (include.IsSequence()) {
        for (std::size_t i = 0; i < include.size(); ++i) {
          entries.push_back(include[i]);
        }
      } else if (!include.IsNull()) {
        entries.push_back(include);
      }
      for (const auto& entry : entries) {
        const auto text = string_value(entry, "include", layer->file, env);
        const auto path = (layer->file.parent_path() / text).lexically_normal();
        if (!std::filesystem::is_regular_file(path)) {
          fail(location_of(layer->file, entry.Mark()),
               fmt::format("the mixin '{}' does not exist ({})", text, path.string()));
        }
        config.includes.push_back(path);
      }
    }
  }

  // Checked as a whole: a later file's setting replaces an earlier one's.
  sweep::slurm::Options::from_json(
      config.launcher, [&](const std::string& key) { return launcher_where[key]; });

  // The nearest config with a sweep sweeps.
  for (const auto& layer : layers) {
    if (layer.root["sweep"]) {
      config.sweep = read_sweep(layer, env);
      break;
    }
  }

  // name, description, base_path and namespace: the nearest config that sets one wins, as
  // for parameters; base_path is relative to the file that sets it.
  const auto& top = layers.front();
  std::optional<std::string> name;
  std::optional<std::string> ns;
  std::optional<std::filesystem::path> base;
  for (auto layer = layers.rbegin(); layer != layers.rend(); ++layer) {
    const auto text = [&](const char* key) -> std::optional<std::string> {
      const auto node = layer->root[key];
      return node && !node.IsNull() ? std::optional(string_value(node, key, layer->file, env))
                                    : std::nullopt;
    };
    if (auto value = text("name")) {
      name = std::move(value);
    }
    if (auto value = text("namespace")) {
      ns = std::move(value);
    }
    config.description = text("description").value_or(config.description);
    if (auto value = text("note")) {
      if (const auto problem = core::note_problem(*value)) {
        fail(location_of(layer->file, layer->root["note"].Mark()), *problem);
      }
      config.note = std::move(*value);
    }
    read_tags(*layer, env, config.tags);
    if (const auto path = text("base_path")) {
      base = (layer->file.parent_path() / *path).lexically_normal();
    }
  }
  config.name = name.value_or(top.file.stem().string());
  config.base_path = base.value_or(top.file.parent_path());
  config.namespace_name = ns.value_or("results/" + config.name);
  return config;
}

std::vector<PluginChoice> plugin_choices_of(const std::filesystem::path& file,
                                            const Environment& environment) {
  std::vector<PluginChoice> choices;
  const Layer layer{file, parse_file(file)};
  if (layer.root.IsMap()) {
    read_plugins(layer, environment, choices);
  }
  return choices;
}

Json PluginChoice::to_json() const {
  return {{"name", name}, {"enabled", enabled}, {"settings", settings}, {"where", where.str()}};
}

Json ParameterSetting::to_json(std::string_view source) const {
  Json entry = {{"name", name},       {"value", value},         {"file", where.file},
                {"line", where.line}, {"column", where.column}, {"source", source}};
  if (text) {
    entry["text"] = *text;
  }
  return entry;
}

ParameterSetting ParameterSetting::from_json(const Json& json) {
  ParameterSetting setting{
      json.value("name", ""),
      json.value("value", Json()),
      std::nullopt,
      {json.value("file", ""), json.value("line", 0), json.value("column", 0)}};
  if (json.contains("text") && json["text"].is_string()) {
    setting.text = json["text"].get<std::string>();
  }
  return setting;
}

void Config::set(ParameterSetting setting) {
  std::erase_if(parameters,
                [&](const ParameterSetting& other) { return other.name == setting.name; });
  parameters.push_back(std::move(setting));
}

Config Config::from_json(const Json& json) {
  Config config;
  config.experiment = json.value("experiment", "");
  for (const auto& file : json.value("files", Json::array())) {
    config.files.emplace_back(file.get<std::string>());
  }
  config.name = json.value("name", "");
  config.description = json.value("description", "");
  config.base_path = json.value("base_path", "");
  config.namespace_name = json.value("namespace", "");
  for (const auto& entry : json.value("parameters", Json::array())) {
    config.parameters.push_back(ParameterSetting::from_json(entry));
  }
  for (const auto& path : json.value("include", Json::array())) {
    config.includes.emplace_back(path.get<std::string>());
  }
  for (const auto& entry : json.value("plugins", Json::array())) {
    config.plugins.push_back({entry.value("name", ""),
                              entry.value("enabled", true),
                              entry.value("settings", Json::object()),
                              {entry.value("where", ""), 0, 0}});
  }
  return config;
}

Json Config::to_json() const {
  Json settings = Json::array();
  for (const auto& setting : parameters) {
    settings.push_back(setting.to_json());
  }
  Json chain = Json::array();
  for (const auto& path : files) {
    chain.push_back(path.string());
  }
  Json mixins = Json::array();
  for (const auto& path : includes) {
    mixins.push_back(path.string());
  }
  Json plugin_choices = Json::array();
  for (const auto& choice : plugins) {
    plugin_choices.push_back(choice.to_json());
  }
  return {{"experiment", experiment.string()},
          {"files", chain},
          {"name", name},
          {"description", description},
          {"base_path", base_path.string()},
          {"namespace", namespace_name},
          {"parameters", settings},
          {"include", mixins},
          {"plugins", plugin_choices}};
}

namespace {

void emit_value(YAML::Emitter& out, const Json& value) {
  switch (value.type()) {
  case Json::value_t::object:
    out << YAML::Flow << YAML::BeginMap;
    for (const auto& [key, item] : value.items()) {
      out << YAML::Key << key << YAML::Value;
      emit_value(out, item);
    }
    out << YAML::EndMap;
    return;
  case Json::value_t::array:
    out << YAML::Flow << YAML::BeginSeq;
    for (const auto& item : value) {
      emit_value(out, item);
    }
    out << YAML::EndSeq;
    return;
  case Json::value_t::string: {
    // `$` doubled, so that reading the file as a config gives the text back unchanged.
    std::string text;
    for (const char c : value.get_ref<const std::string&>()) {
      text += c == '$' ? "$$" : std::string(1, c);
    }
    if (resolve_plain(text)) {
      out << YAML::DoubleQuoted; // would read back as a number, bool or null
    }
    out << text;
    return;
  }
  case Json::value_t::boolean:
    out << value.get<bool>();
    return;
  case Json::value_t::number_integer:
    out << value.get<long long>();
    return;
  case Json::value_t::number_unsigned:
    out << value.get<unsigned long long>();
    return;
  case Json::value_t::number_float:
    out << value.get<double>();
    return;
  default:
    out << YAML::Null;
    return;
  }
}

} // namespace

std::string Config::resolved_yaml() const {
  YAML::Emitter out;
  out.SetDoublePrecision(17);
  out << YAML::Comment(files.empty() ? std::string("the settings xrun ran with")
                                     : fmt::format("resolved by xrun from {}",
                                                   files.back().filename().string()))
      << YAML::Newline;
  out << YAML::BeginMap;
  out << YAML::Key << "extend" << YAML::Value << experiment.string();
  out << YAML::Key << "name" << YAML::Value << name;
  if (!description.empty()) {
    out << YAML::Key << "description" << YAML::Value << YAML::Literal << description;
  }
  out << YAML::Key << "base_path" << YAML::Value << base_path.string();
  out << YAML::Key << "namespace" << YAML::Value << namespace_name;
  if (!includes.empty()) {
    out << YAML::Key << "include" << YAML::Value << YAML::BeginSeq;
    for (const auto& path : includes) {
      out << path.string();
    }
    out << YAML::EndSeq;
  }
  if (!plugins.empty()) {
    // Merged as the experiment process applies them: the last on/off wins, settings add up.
    std::vector<std::string> order;
    std::map<std::string, std::pair<bool, Json>> merged;
    for (const auto& choice : plugins) {
      auto [entry, added] = merged.try_emplace(choice.name, true, Json::object());
      if (added) {
        order.push_back(choice.name);
      }
      entry->second.first = choice.enabled;
      entry->second.second.update(choice.settings);
    }
    out << YAML::Key << "plugins" << YAML::Value << YAML::BeginMap;
    for (const auto& plugin : order) {
      const auto& [enabled, settings] = merged.at(plugin);
      out << YAML::Key << plugin << YAML::Value;
      emit_value(out, !enabled ? Json(false) : settings.empty() ? Json(true) : settings);
    }
    out << YAML::EndMap;
  }
  out << YAML::Key << "parameters" << YAML::Value << YAML::BeginMap;
  for (const auto& setting : parameters) {
    out << YAML::Key << setting.name << YAML::Value;
    emit_value(out, setting.value);
  }
  out << YAML::EndMap << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

} // namespace xrun::config
