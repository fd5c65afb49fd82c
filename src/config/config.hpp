// YAML experiment configs: `xrun run config.yml` runs a variation of an experiment module.
#pragma once

#include "config/location.hpp"
#include "config/sweep_grammar.hpp"
#include "xrun/meta.hpp"

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xrun::config {

/// One `parameters:` entry after environment substitution. A YAML-typed value (number, bool,
/// null, list, mapping, quoted string) is `value`; a plain string or a value built by `${VAR}`
/// substitution is also given as `text`, to be converted by the parameter's declared type as a
/// command-line value would be (`32` from the environment is the int 32 for an int parameter).
struct ParameterSetting {
  std::string name;
  nlohmann::json value;
  std::optional<std::string> text;
  Location where;
  /// Set when the value needs an environment variable that is not set: the error to report
  /// unless a later source (the command line, a sweep) gives the parameter a value.
  std::optional<std::string> unset;

  /// As the experiment process takes it (core::protocol::Setting); `source` is "config", or
  /// "cli" for a value from the command line.
  nlohmann::json to_json(std::string_view source = "config") const;
  /// The setting back from to_json().
  static ParameterSetting from_json(const nlohmann::json& json);
};

/// One `plugins:` entry: `NAME: true|false` turns a plugin on or off, `NAME: {KEY: value}`
/// turns it on with settings.
struct PluginChoice {
  std::string name;
  bool enabled = true;
  nlohmann::json settings = nlohmann::json::object();
  Location where;

  /// As the experiment process takes plugin choices (core::protocol::PluginChoice).
  nlohmann::json to_json() const;
};

struct Config {
  std::filesystem::path experiment;         // the Python module at the root of the chain
  std::string function; // `extend: mod.py:NAME`: the function of the module run; "" for a module
  std::vector<std::filesystem::path> files; // the config files, the root's child first ... top last
  std::string name;                         // default: the top config's file stem
  std::string description;
  std::filesystem::path base_path;             // empty: the experiment's own base path
  std::string namespace_name;                  // default: results/<name>; of a function: ""
  std::vector<ParameterSetting> parameters;    // a later file's setting replaces an earlier one's
  std::vector<std::filesystem::path> includes; // mixins of every file, in chain order
  std::vector<PluginChoice> plugins;           // of every file, in chain order (later ones win)
  SweepSpec sweep;                             // the nearest config's `sweep:` section
  nlohmann::json launcher = nlohmann::json::object(); // `launcher:` settings, later files win
  std::vector<std::string> tags;               // `tags:` of every file, base first, each once
  std::string note;                            // the nearest config's `note:`
  std::vector<std::string> warnings;           // "file:line: unknown key 'x' (ignored)"

  /// The resolved config as YAML, for experiment_config.yml: what ran, with
  /// `experiment_base_path` where the config sets no base path, and the values the command
  /// line gave, from the parameter records the experiment process reports (those of source
  /// `cli`, as their stated value: core::protocol::stated_value); `records` as JSON are read
  /// by core::protocol::parameter_from_json.
  std::string resolved_yaml(const std::filesystem::path& experiment_base_path = {},
                            const nlohmann::json& records = nlohmann::json::array()) const;
  std::string resolved_yaml(const std::filesystem::path& experiment_base_path,
                            const std::vector<ParameterRecord>& records) const;
  /// The JSON handed to the experiment process (core::protocol::InvocationConfig).
  nlohmann::json to_json() const;
  /// The config back from to_json() (as a sweep's manifest keeps it).
  static Config from_json(const nlohmann::json& json);
  /// Sets `setting`, in the place of an earlier setting of the same name if there is one.
  void set(ParameterSetting setting);
};

using Environment = std::function<std::optional<std::string>(const std::string&)>;

/// The process environment.
Environment process_environment();

/// `environment` with every variable that is not set read as empty (for shell completion,
/// which needs the experiment a config names, not its values).
Environment unset_as_empty(Environment environment);

/// Reads `file` and the chain of configs it extends down to a Python module. Throws
/// ConfigError with `file:line:column:` for malformed YAML or a file that is not UTF-8, a key
/// given twice in one mapping, a NUL character, an unknown tag, a value nested or expanding
/// (through aliases) beyond core/value_limits.hpp, a missing or cyclic `extend`, an
/// environment variable that is not set and has no default (in a `parameters:` value, the
/// setting's `unset` says so instead), a wrongly shaped key, or (with `strict`) an unknown
/// top-level key.
Config load_config(const std::filesystem::path& file, bool strict,
                   const Environment& environment = process_environment());

/// The `plugins:` choices of one config file alone (not the files it extends), e.g. of a run's
/// experiment_config.yml. Throws ConfigError as load_config does.
std::vector<PluginChoice> plugin_choices_of(const std::filesystem::path& file,
                                            const Environment& environment = process_environment());

/// Replaces `${NAME}` and `${NAME:-default}` in `text` (`$$` is a literal `$`); a default may
/// hold further `${...}`, expanded only when it is used. Throws ConfigError at `where` for a
/// variable that is not set and has no default, or an unterminated `${`.
std::string substitute(std::string_view text, const Environment& environment,
                       const Location& where);

/// Refuses a file name that is not UTF-8 (run folders record names in JSON): ConfigError at
/// `where`, or UsageError when `where` names no file.
void check_file_name(const std::filesystem::path& path, const Location& where);

} // namespace xrun::config
