// One YAML config file as config/ reads it: environment substitution, the YAML 1.2 core
// schema's types and tags, the bounds on nesting and alias expansion, and errors located at
// file:line:column. Internal to config/ (load_config and the sweep grammar read through it).
#pragma once

#include "config/config.hpp"
#include "xrun/error.hpp"

#include <filesystem>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <yaml-cpp/yaml.h>

namespace xrun::config::yaml_file {

using Json = nlohmann::json;

/// The YAML 1.2 core schema's tags, as yaml-cpp spells `!!str` and the others.
inline constexpr std::string_view k_core_tag = "tag:yaml.org,2002:";

/// Where a parser mark stands in `file`.
Location location_of(const std::filesystem::path& file, const YAML::Mark& mark);

/// Throws ConfigError `where: message`.
[[noreturn]] void fail(const Location& where, const std::string& message, std::string hint = {});

/// An environment variable that is not set and has no default. In a `parameters:` value it
/// waits for a later source (the command line, a sweep) to give the parameter a value;
/// anywhere else it is an error at once.
class UnsetVariable : public ConfigError {
public:
  UnsetVariable(const Location& where, std::string name)
      : ConfigError(fmt::format("{}: environment variable {} is not set", where.str(), name),
                    fmt::format("set it, or give a default: ${{{}:-value}}", name)),
        m_name(std::move(name)) {}

  const std::string& name() const noexcept { return m_name; }

private:
  std::string m_name;
};

/// A plain (unquoted) scalar's value under the YAML 1.2 core schema; nullopt for a string.
std::optional<Json> resolve_plain(const std::string& text);

/// Whether the scalar was written plainly (no quotes, no tag).
bool is_plain(const YAML::Node& node);

/// The values of one config file: environment substitution, the core schema's types and
/// tags, and the bounds on nesting and on what aliases expand to (core/value_limits.hpp).
class Reader {
public:
  Reader(std::filesystem::path file, const Environment& environment)
      : m_file(std::move(file)), m_environment(&environment) {}

  Location where(const YAML::Node& node) const { return location_of(m_file, node.Mark()); }

  /// The node as JSON, substituting environment variables in every text. `given` is where the
  /// value is given (its key), which errors about its size name: an alias's parts stand
  /// elsewhere in the file.
  Json value(const YAML::Node& node, const std::optional<Location>& given = std::nullopt) {
    return convert(node, 1, given.value_or(where(node)));
  }

  /// A scalar's text with the environment substituted.
  std::string substituted(const YAML::Node& node) const {
    return substitute(node.Scalar(), *m_environment, where(node));
  }

  /// The text of a key such as `name:`, substituted; ConfigError for anything but a text.
  std::string text(const YAML::Node& node, const char* key) const {
    if (!node.IsScalar()) {
      fail(where(node), fmt::format("'{}' must be a text", key));
    }
    return substituted(node);
  }

  /// A mapping's key as a name (not substituted); ConfigError for a list or mapping as a key.
  std::string key(const YAML::Node& node) const {
    if (!node.IsScalar()) {
      fail(where(node), "a key must be a name, not a list or mapping");
    }
    return node.Scalar();
  }

  /// A value given for a parameter: `text` when the declared type converts it as a
  /// command-line value (a plain word, or text from the environment).
  SweepValue setting(const YAML::Node& node, const std::optional<Location>& given = std::nullopt) {
    SweepValue result{value(node, given), std::nullopt};
    if (node.IsScalar()) {
      const bool from_environment = node.Scalar().find("${") != std::string::npos;
      if (from_environment || (is_plain(node) && result.value.is_string())) {
        result.text = substituted(node);
      }
    }
    return result;
  }

private:
  /// `node`, a part of the value given at `given`.
  Json convert(const YAML::Node& node, int depth, const Location& given);
  Json scalar(const YAML::Node& node, const Location& given);

  std::filesystem::path m_file;
  const Environment* m_environment;
  std::size_t m_nodes = 0; // converted so far, aliases counted at every use
  std::size_t m_text = 0;  // bytes of text converted so far, likewise
};

struct Layer {
  std::filesystem::path file;
  YAML::Node root;
  Reader reader;
};

/// Reads and checks `file` (UTF-8, no NUL, well-formed, known tags, no duplicate keys).
Layer read_layer(const std::filesystem::path& file, const Environment& env);

} // namespace xrun::config::yaml_file
