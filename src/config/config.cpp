#include "config/config.hpp"

#include "config/launcher.hpp"
#include "config/yaml_reader.hpp"
#include "core/function_target.hpp"
#include "core/protocol.hpp"
#include "core/run_labels.hpp"
#include "core/value_limits.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"
#include "xrun/error.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fmt/format.h>
#include <map>
#include <set>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

namespace xrun::config {

using namespace yaml_file;

namespace {

const std::vector<std::string> k_known_keys{"extend",    "parameters",  "include",
                                            "name",      "description", "base_path",
                                            "namespace", "plugins",     "sweep",
                                            "launcher",  "tags",        "note"};

/// The layer's section `key`, which must be `shape` (a mapping); an empty node when the layer
/// has none (or it is empty).
YAML::Node mapping_section(const Layer& layer, const char* key, const char* shape) {
  const auto node = layer.root[key];
  if (!node || node.IsNull()) {
    return YAML::Node(YAML::NodeType::Map);
  }
  if (!node.IsMap()) {
    fail(layer.reader.where(node), fmt::format("'{}' must be {}", key, shape));
  }
  return node;
}

/// The layer's `plugins:` mapping: `NAME: true` (or empty), `NAME: false` or
/// `NAME: {SETTING: value}` (on, with settings).
void read_plugins(Layer& layer, std::vector<PluginChoice>& out) {
  const auto plugins =
      mapping_section(layer, "plugins", "a mapping of NAME: true, false or {SETTING: value}");
  auto& reader = layer.reader;
  for (const auto& item : plugins) {
    PluginChoice choice;
    choice.name = reader.key(item.first);
    choice.where = reader.where(item.first);
    const auto value = reader.value(item.second, choice.where);
    if (value.is_boolean()) {
      choice.enabled = value.get<bool>();
    } else if (value.is_object()) {
      choice.settings = value;
    } else if (!value.is_null()) {
      fail(reader.where(item.second),
           fmt::format("plugin {} must be true, false or a mapping of its settings",
                       util::shorten(choice.name)));
    }
    out.push_back(std::move(choice));
  }
}

/// The layer's `launcher:` settings into `out` (a later layer's replace an earlier one's),
/// with where each was set (`file:line:column: launcher.KEY`).
void read_launcher(Layer& layer, Json& out, std::map<std::string, std::string>& where) {
  const auto launcher = mapping_section(
      layer, "launcher", "a mapping like {type: slurm, partition: gpu, time: 02:00:00}");
  auto& reader = layer.reader;
  for (const auto& item : launcher) {
    const auto key = reader.key(item.first);
    out[key] = reader.value(item.second, reader.where(item.first));
    where[key] = fmt::format("{}: launcher.{}", reader.where(item.first).str(), key);
  }
}

/// A config's `tags:` (a list of tags, or one) added to `tags`, each checked.
void read_tags(const Layer& layer, std::vector<std::string>& tags) {
  const auto node = layer.root["tags"];
  if (!node || node.IsNull()) {
    return;
  }
  if (!node.IsScalar() && !node.IsSequence()) {
    fail(layer.reader.where(node), "'tags' must be a list of tags, or one tag");
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
    const auto tag = layer.reader.text(entry, "tags");
    if (const auto problem = core::tag_problem(tag)) {
      fail(layer.reader.where(entry), fmt::format("tag '{}': {}", tag, *problem));
    }
    core::add_tag(tags, tag);
  }
}

void check_keys(const Layer& layer, bool strict, std::vector<std::string>& warnings) {
  for (const auto& item : layer.root) {
    const auto key = layer.reader.key(item.first);
    if (std::find(k_known_keys.begin(), k_known_keys.end(), key) != k_known_keys.end()) {
      continue;
    }
    const auto where = location_of(layer.file, item.first.Mark());
    const auto close = util::closest_match(key, k_known_keys);
    const auto message = fmt::format("unknown key '{}'{}", util::shorten(key),
                                     close ? fmt::format(" (did you mean '{}'?)", *close) : "");
    if (strict) {
      fail(where, message, "--strict rejects keys xrun does not know");
    }
    warnings.push_back(fmt::format("{}:{}: {} (ignored)", where.file, where.line, message));
  }
}

} // namespace

namespace {

/// The files of the `extend` chain from `file` down to the Python module (top first), which
/// goes into `config.experiment`.
std::vector<Layer> read_chain(const std::filesystem::path& file, bool strict,
                              const Environment& env, Config& config) {
  std::vector<Layer> layers;
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
    auto layer = read_layer(current, env);
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
    const auto target_text = layer.reader.text(extend, "extend");
    // `mod.py:train`: the function train of mod.py, whose file is what must exist.
    const auto named = core::split_function_target(target_text);
    const auto target = (current.parent_path() / named.file).lexically_normal();
    check_file_name(target, layer.reader.where(extend));
    // A name too long for the system is a file that does not exist, not a filesystem_error.
    std::error_code unreadable;
    if (!std::filesystem::is_regular_file(target, unreadable)) {
      fail(layer.reader.where(extend),
           fmt::format("the extended file '{}' does not exist ({})", util::shorten(target_text),
                       util::shorten(target.string())));
    }
    layers.push_back(std::move(layer));
    const auto extension = target.extension().string();
    if (extension == ".py") {
      config.experiment = target;
      config.function = named.function;
      return layers;
    }
    if (extension != ".yml" && extension != ".yaml") {
      fail(location_of(current, extend.Mark()),
           fmt::format("'{}' is neither an experiment module (.py) nor a config (.yml)",
                       util::shorten(target_text)));
    }
    current = target;
  }
}

/// The layer's `parameters:`, each replacing an earlier setting of the same name.
void read_parameters(Layer& layer, std::vector<ParameterSetting>& out) {
  auto& reader = layer.reader;
  const auto parameters = layer.root["parameters"];
  if (!parameters) {
    return;
  }
  if (!parameters.IsMap() && !parameters.IsNull()) {
    fail(reader.where(parameters), "'parameters' must be a mapping of NAME: value");
  }
  for (const auto& item : parameters) {
    ParameterSetting setting;
    setting.name = reader.key(item.first);
    setting.where = reader.where(item.first);
    try {
      auto [value, text] = reader.setting(item.second, setting.where);
      setting.value = std::move(value);
      setting.text = std::move(text);
    } catch (const UnsetVariable& unset) {
      // Like a mandatory value: an error only if nothing later gives the parameter one.
      setting.unset = fmt::format("{} (set it, give it a default as ${{{}:-value}}, or give "
                                  "--{} a value)",
                                  unset.what(), unset.name(), setting.name);
    }
    std::erase_if(out, [&](const ParameterSetting& other) { return other.name == setting.name; });
    out.push_back(std::move(setting));
  }
}

/// The layer's `include:` (a mixin, or a list of them), relative to its file.
void read_includes(Layer& layer, std::vector<std::filesystem::path>& out) {
  auto& reader = layer.reader;
  const auto include = layer.root["include"];
  if (!include) {
    return;
  }
  std::vector<YAML::Node> entries;
  if (include.IsSequence()) {
    for (std::size_t i = 0; i < include.size(); ++i) {
      entries.push_back(include[i]);
    }
  } else if (!include.IsNull()) {
    entries.push_back(include);
  }
  for (const auto& entry : entries) {
    const auto text = reader.text(entry, "include");
    const auto path = (layer.file.parent_path() / text).lexically_normal();
    check_file_name(path, reader.where(entry));
    std::error_code unreadable;
    if (!std::filesystem::is_regular_file(path, unreadable)) {
      fail(reader.where(entry), fmt::format("the mixin '{}' does not exist ({})",
                                            util::shorten(text), util::shorten(path.string())));
    }
    out.push_back(path);
  }
}

/// name, description, base_path, namespace, note and tags: the nearest config that sets one
/// wins, as for parameters; base_path is relative to the file that sets it. Without one, runs
/// go where the experiment's own runs go: a config is a variation of it, listed beside it.
void read_labels(std::vector<Layer>& layers, Config& config) {
  std::optional<std::string> name;
  std::optional<std::string> ns;
  for (auto layer = layers.rbegin(); layer != layers.rend(); ++layer) {
    const auto text = [&](const char* key) -> std::optional<std::string> {
      const auto node = layer->root[key];
      return node && !node.IsNull() ? std::optional(layer->reader.text(node, key)) : std::nullopt;
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
        fail(layer->reader.where(layer->root["note"]), *problem);
      }
      config.note = std::move(*value);
    }
    read_tags(*layer, config.tags);
    if (const auto path = text("base_path")) {
      config.base_path = (layer->file.parent_path() / *path).lexically_normal();
    }
  }
  config.name = name.value_or(layers.front().file.stem().string());
  // A function's runs are one folder, where its cache is looked up: a config of it runs there
  // (empty: the function's own namespace, which its decorator may set).
  config.namespace_name = ns.value_or(config.function.empty() ? "results/" + config.name : "");
}

} // namespace

Config load_config(const std::filesystem::path& file, bool strict, const Environment& env) {
  Config config;
  auto layers = read_chain(file, strict, env, config); // top first

  // Apply from the root's child up to the top config, so that later settings win.
  std::map<std::string, std::string> launcher_where;
  for (auto layer = layers.rbegin(); layer != layers.rend(); ++layer) {
    config.files.push_back(layer->file);
    read_parameters(*layer, config.parameters);
    read_plugins(*layer, config.plugins);
    read_launcher(*layer, config.launcher, launcher_where);
    read_includes(*layer, config.includes);
  }

  // Checked as a whole: a later file's setting replaces an earlier one's.
  SlurmOptions::from_json(
      config.launcher, [&](const std::string& key) { return launcher_where[key]; });

  // The nearest config with a sweep sweeps.
  for (auto& layer : layers) {
    if (layer.root["sweep"]) {
      config.sweep = read_sweep(layer);
      break;
    }
  }
  read_labels(layers, config);
  return config;
}

void check_file_name(const std::filesystem::path& path, const Location& where) {
  if (util::valid_utf8(path.string())) {
    return;
  }
  const auto message = fmt::format("the file name {} is not UTF-8",
                                   util::shorten(util::escape_non_utf8(path.string())));
  const auto hint = "xrun records file names in JSON, which holds UTF-8 only: rename the file";
  if (where.file.empty()) {
    throw UsageError(message, hint);
  }
  fail(where, message, hint);
}

std::vector<PluginChoice> plugin_choices_of(const std::filesystem::path& file,
                                            const Environment& environment) {
  std::vector<PluginChoice> choices;
  auto layer = read_layer(file, environment);
  if (layer.root.IsMap()) {
    read_plugins(layer, choices);
  }
  return choices;
}

Json PluginChoice::to_json() const {
  return core::protocol::PluginChoice{name, enabled, settings, where.str()}.to_json();
}

Json ParameterSetting::to_json(std::string_view source) const {
  return core::protocol::Setting{name,      value,     text, unset, where.file, where.line,
                                 where.column, std::string(source)}
      .to_json();
}

namespace {

ParameterSetting setting_of(core::protocol::Setting setting) {
  return {std::move(setting.name), std::move(setting.value), std::move(setting.text),
          {std::move(setting.file), setting.line, setting.column}, std::move(setting.unset)};
}

} // namespace

ParameterSetting ParameterSetting::from_json(const Json& json) {
  return setting_of(core::protocol::Setting::from_json(json));
}

void Config::set(ParameterSetting setting) {
  const auto same =
      std::find_if(parameters.begin(), parameters.end(),
                   [&](const ParameterSetting& other) { return other.name == setting.name; });
  if (same != parameters.end()) {
    *same = std::move(setting);
  } else {
    parameters.push_back(std::move(setting));
  }
}

Config Config::from_json(const Json& json) {
  const auto given = core::protocol::InvocationConfig::from_json(json);
  Config config;
  config.experiment = given.experiment;
  config.function = given.function;
  config.files.assign(given.files.begin(), given.files.end());
  config.name = given.name;
  config.description = given.description;
  config.base_path = given.base_path;
  config.namespace_name = given.namespace_name;
  for (const auto& setting : given.parameters) {
    config.parameters.push_back(setting_of(setting));
  }
  config.includes.assign(given.include.begin(), given.include.end());
  for (const auto& choice : given.plugins) {
    config.plugins.push_back({choice.name, choice.enabled, choice.settings, {choice.where, 0, 0}});
  }
  return config;
}

Json Config::to_json() const {
  core::protocol::InvocationConfig given;
  given.experiment = experiment.string();
  given.function = function;
  for (const auto& path : files) {
    given.files.push_back(path.string());
  }
  given.name = name;
  given.description = description;
  given.base_path = base_path.string();
  given.namespace_name = namespace_name;
  for (const auto& setting : parameters) {
    given.parameters.push_back(core::protocol::Setting::from_json(setting.to_json()));
  }
  for (const auto& path : includes) {
    given.include.push_back(path.string());
  }
  for (const auto& choice : plugins) {
    given.plugins.push_back(core::protocol::PluginChoice::from_json(choice.to_json()));
  }
  return given.to_json();
}

} // namespace xrun::config
