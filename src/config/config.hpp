// YAML experiment configs: `xrun run config.yml` runs a variation of an experiment module.
#pragma once

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xrun::config {

/// Where something stands in a config file (1-based line and column).
struct Location {
  std::string file;
  int line = 0;
  int column = 0;

  std::string str() const; // "file:line:column"
};

/// One `parameters:` entry after environment substitution. A YAML-typed value (number, bool,
/// null, list, mapping, quoted string) is `value`; a plain string or a value built by `${VAR}`
/// substitution is also given as `text`, to be converted by the parameter's declared type as a
/// command-line value would be (`32` from the environment is the int 32 for an int parameter).
struct ParameterSetting {
  std::string name;
  nlohmann::json value;
  std::optional<std::string> text;
  Location where;
};

/// One `plugins:` entry: `NAME: true|false` turns a plugin on or off, `NAME: {KEY: value}`
/// turns it on with settings.
struct PluginChoice {
  std::string name;
  bool enabled = true;
  nlohmann::json settings = nlohmann::json::object();
  Location where;

  /// As the experiment process takes plugin choices: {"name", "enabled", "settings", "where"}.
  nlohmann::json to_json() const;
};

struct Config {
  std::filesystem::path experiment;         // the Python module at the root of the chain
  std::vector<std::filesystem::path> files; // the config files, the root's child first ... top last
  std::string name;                         // default: the top config's file stem
  std::string description;
  std::filesystem::path base_path;             // default: the top config's folder
  std::string namespace_name;                  // default: results/<name>
  std::vector<ParameterSetting> parameters;    // a later file's setting replaces an earlier one's
  std::vector<std::filesystem::path> includes; // mixins of every file, in chain order
  std::vector<PluginChoice> plugins;           // of every file, in chain order (later ones win)
  std::vector<std::string> warnings;           // "file:line: unknown key 'x' (ignored)"

  /// The resolved config as YAML (what ran), for experiment_config.yml.
  std::string resolved_yaml() const;
  /// The JSON handed to the experiment process.
  nlohmann::json to_json() const;
};

using Environment = std::function<std::optional<std::string>(const std::string&)>;

/// The process environment.
Environment process_environment();

/// Reads `file` and the chain of configs it extends down to a Python module. Throws
/// ConfigError with `file:line:column:` for malformed YAML, a missing or cyclic `extend`, an
/// environment variable that is not set and has no default, a wrongly shaped key, or (with
/// `strict`) an unknown top-level key.
Config load_config(const std::filesystem::path& file, bool strict,
                   const Environment& environment = process_environment());

/// The `plugins:` choices of one config file alone (not the files it extends), e.g. of a run's
/// experiment_config.yml. Throws ConfigError as load_config does.
std::vector<PluginChoice> plugin_choices_of(const std::filesystem::path& file,
                                            const Environment& environment = process_environment());

/// Replaces `${NAME}` and `${NAME:-default}` in `text` (`$$` is a literal `$`). Throws
/// ConfigError at `where` for a variable that is not set and has no default, or an
/// unterminated `${`.
std::string substitute(std::string_view text, const Environment& environment,
                       const Location& where);

} // namespace xrun::config
