#include "config/config.hpp"

#include "core/run_labels.hpp"
#include "core/value_limits.hpp"
#include "sweep/slurm.hpp"
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

namespace {

using Json = nlohmann::json;

const std::vector<std::string> k_known_keys{"extend",    "parameters",  "include",
                                            "name",      "description", "base_path",
                                            "namespace", "plugins",     "sweep",
                                            "launcher",  "tags",        "note"};

/// The YAML 1.2 core schema's tags, as yaml-cpp spells `!!str` and the others.
constexpr std::string_view k_core_tag = "tag:yaml.org,2002:";

Location location_of(const std::filesystem::path& file, const YAML::Mark& mark) {
  return {file.string(), mark.line + 1, mark.column + 1};
}

[[noreturn]] void fail(const Location& where, const std::string& message, std::string hint = {}) {
  throw ConfigError(fmt::format("{}: {}", where.str(), message), std::move(hint));
}

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

/// `${NAME}`, `${NAME:-default}` (the default may hold further `${...}`, expanded only when it
/// is used, as a shell does) and `$$` in one text.
class Substitution {
public:
  Substitution(std::string_view text, const Environment& environment, const Location& where)
      : m_text(text), m_environment(environment), m_where(where) {}

  std::string run() {
    if (m_text.find('$') == std::string_view::npos) {
      return std::string(m_text);
    }
    // The whole text is read once before anything is looked up, so that a mistake in it is
    // reported as such, not as a variable it happens to need.
    std::size_t position = 0;
    expand(position, 0, false);
    position = 0;
    return expand(position, 0, true);
  }

private:
  /// The text from `position` to its end, or (`depth` > 0) to the `}` that closes the
  /// default being read, where `position` is left. Without `evaluate`, only finds the end.
  std::string expand(std::size_t& position, int depth, bool evaluate) {
    std::string out;
    while (position < m_text.size()) {
      const char c = m_text[position];
      if (c == '}' && depth > 0) {
        return out;
      }
      const char next = position + 1 < m_text.size() ? m_text[position + 1] : '\0';
      if (c != '$' || (next != '$' && next != '{')) {
        out.push_back(c);
        ++position;
      } else if (next == '$') {
        out.push_back('$');
        position += 2;
      } else {
        out += variable(position, depth, evaluate);
      }
    }
    if (depth > 0) {
      fail(m_where, fmt::format("unterminated '${{' in '{}'", util::shorten(m_text)));
    }
    return out;
  }

  /// The `${...}` at `position`, which is left after its `}`.
  std::string variable(std::size_t& position, int depth, bool evaluate) {
    const auto start = position;
    position += 2;
    const auto name_end = m_text.find_first_not_of(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_", position);
    const auto name = m_text.substr(position, name_end - position);
    const auto rest =
        name_end == std::string_view::npos ? std::string_view() : m_text.substr(name_end);
    if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0])) ||
        !(rest.starts_with("}") || rest.starts_with(":-"))) {
      if (m_text.find('}', start) == std::string_view::npos) {
        fail(m_where, fmt::format("unterminated '${{' in '{}'", util::shorten(m_text)));
      }
      const auto shown = m_text.substr(start, m_text.find('}', start) - start + 1);
      fail(m_where,
           fmt::format("'{}' does not name an environment variable", util::shorten(shown)));
    }
    position = name_end;
    const auto value = evaluate ? m_environment(std::string(name)) : std::optional<std::string>();
    if (value && !util::valid_utf8(*value)) {
      fail(m_where, fmt::format("environment variable {} is not UTF-8 text", name),
           "xrun takes values as text (UTF-8), as they are recorded in JSON");
    }
    if (rest.starts_with("}")) {
      ++position;
      if (evaluate && !value) {
        throw UnsetVariable(m_where, std::string(name));
      }
      return value.value_or("");
    }
    if (depth + 1 > core::k_max_value_depth) {
      fail(m_where, fmt::format("defaults nested more than {} levels deep in '{}'",
                                core::k_max_value_depth, util::shorten(m_text)));
    }
    position += 2;
    auto fallback = expand(position, depth + 1, evaluate && !value);
    ++position; // the closing `}`
    return value ? *value : fallback;
  }

  std::string_view m_text;
  const Environment& m_environment;
  Location m_where;
};

/// How many digits `text` starts with from `at` on (moving `at` past them).
std::size_t digits(std::string_view text, std::size_t& at) {
  const auto start = at;
  while (at < text.size() && std::isdigit(static_cast<unsigned char>(text[at]))) {
    ++at;
  }
  return at - start;
}

/// Whether `text` is an integer of the core schema: `[-+]?[0-9]+`.
bool is_integer_text(std::string_view text) {
  std::size_t at = !text.empty() && (text[0] == '-' || text[0] == '+') ? 1 : 0;
  return digits(text, at) > 0 && at == text.size();
}

/// Whether `text` is a number of the core schema:
/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?` (hand-matched: a regex costs
/// microseconds a scalar, and a config may hold many).
bool is_number_text(std::string_view text) {
  std::size_t at = !text.empty() && (text[0] == '-' || text[0] == '+') ? 1 : 0;
  const auto whole = digits(text, at);
  std::size_t fraction = 0;
  if (at < text.size() && text[at] == '.') {
    ++at;
    fraction = digits(text, at);
  }
  if (whole == 0 && fraction == 0) {
    return false;
  }
  if (at < text.size() && (text[at] == 'e' || text[at] == 'E')) {
    ++at;
    if (at < text.size() && (text[at] == '-' || text[at] == '+')) {
      ++at;
    }
    if (digits(text, at) == 0) {
      return false;
    }
  }
  return at == text.size();
}

/// A plain (unquoted) scalar's value under the YAML 1.2 core schema; nullopt for a string.
std::optional<Json> resolve_plain(const std::string& text) {
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return Json(nullptr);
  }
  if (text == "true" || text == "True" || text == "TRUE") {
    return Json(true);
  }
  if (text == "false" || text == "False" || text == "FALSE") {
    return Json(false);
  }
  if (is_integer_text(text)) {
    try {
      return Json(std::stoll(text));
    } catch (const std::out_of_range&) {
      return std::nullopt; // too large for a JSON integer: the declared type decides
    }
  }
  if (is_number_text(text)) {
    return Json(std::stod(text));
  }
  return std::nullopt;
}

bool is_plain(const YAML::Node& node) {
  return node.Tag() == "?";
}

/// A node's tag as it was written (`!!int`, `!foo`).
std::string shown_tag(const std::string& tag) {
  return tag.starts_with(k_core_tag) ? "!!" + tag.substr(k_core_tag.size()) : tag;
}

/// Refuses a tag other than the core schema's, or one that does not fit its node (`!!seq` on a
/// text).
void check_tag(const YAML::Node& node, const std::filesystem::path& file) {
  const auto& tag = node.Tag();
  if (tag == "?" || tag == "!" || tag.empty()) {
    return;
  }
  static const std::vector<std::string> k_scalar{"str", "int", "float", "bool", "null"};
  const auto name = tag.starts_with(k_core_tag) ? tag.substr(k_core_tag.size()) : std::string();
  const bool scalar = std::find(k_scalar.begin(), k_scalar.end(), name) != k_scalar.end();
  if (!scalar && name != "seq" && name != "map") {
    fail(location_of(file, node.Mark()),
         fmt::format("unknown YAML tag '{}'", util::shorten(shown_tag(tag))),
         "a config knows the tags !!str, !!int, !!float, !!bool, !!null, !!seq and !!map");
  }
  const bool fits = node.IsSequence() ? name == "seq" : node.IsMap() ? name == "map" : scalar;
  if (!fits) {
    fail(location_of(file, node.Mark()), fmt::format("the tag {} does not fit a {}", shown_tag(tag),
                                                     node.IsSequence() ? "list"
                                                     : node.IsMap()    ? "mapping"
                                                                       : "single value"));
  }
}

/// Refuses what the YAML parser lets through but a config must not hold: a key given twice in
/// one mapping (yaml-cpp keeps both), a NUL character (it would cut the text short in
/// Python's view of it) and an unknown tag. Walks the document in its order without
/// recursion, visiting a mapping or list once however many aliases use it.
void check_document(const YAML::Node& root, const std::filesystem::path& file) {
  std::set<std::pair<std::size_t, int>> visited; // (position, type) of the collections seen
  std::vector<YAML::Node> pending{root};
  while (!pending.empty()) {
    const YAML::Node node = pending.back();
    pending.pop_back();
    check_tag(node, file);
    if (node.IsScalar()) {
      if (const auto nul = node.Scalar().find('\0'); nul != std::string::npos) {
        fail(location_of(file, node.Mark()), "a NUL character in a value",
             "xrun's values are text without NUL characters (\\0)");
      }
      continue;
    }
    if (!(node.IsMap() || node.IsSequence()) ||
        !visited.emplace(node.Mark().pos, static_cast<int>(node.Type())).second) {
      continue;
    }
    std::vector<YAML::Node> children;
    std::map<std::string, YAML::Mark> keys;
    for (const auto& item : node) {
      if (node.IsSequence()) {
        children.push_back(item);
        continue;
      }
      if (item.first.IsScalar()) {
        const auto [first, added] = keys.emplace(item.first.Scalar(), item.first.Mark());
        if (!added) {
          fail(location_of(file, item.first.Mark()),
               fmt::format("duplicate key '{}' (first at line {})",
                           util::shorten(item.first.Scalar()), first->second.line + 1),
               "a key may appear once in a mapping: remove one of them");
        }
      }
      children.push_back(item.first);
      children.push_back(item.second);
    }
    pending.insert(pending.end(), children.rbegin(), children.rend());
  }
}

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
    return Substitution(node.Scalar(), *m_environment, where(node)).run();
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
  Json convert(const YAML::Node& node, int depth, const Location& given) {
    if (depth > core::k_max_value_depth) {
      fail(where(node),
           fmt::format("a value nested more than {} levels deep", core::k_max_value_depth));
    }
    if (++m_nodes > core::k_max_config_nodes) {
      fail(given, fmt::format("the config's values expand to more than {} YAML nodes "
                              "(an alias counts each time it is used)",
                              core::k_max_config_nodes));
    }
    switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      return scalar(node, given);
    case YAML::NodeType::Sequence: {
      Json list = Json::array();
      for (const auto& item : node) {
        list.push_back(convert(item, depth + 1, given));
      }
      return list;
    }
    case YAML::NodeType::Map: {
      Json map = Json::object();
      for (const auto& item : node) {
        map[key(item.first)] = convert(item.second, depth + 1, given);
      }
      return map;
    }
    }
    return nullptr;
  }

  Json scalar(const YAML::Node& node, const Location& given) {
    auto text = substituted(node);
    m_text += text.size();
    if (m_text > core::k_max_config_text) {
      fail(given, fmt::format("the config's values expand to more than {} MB of text "
                              "(an alias counts each time it is used)",
                              core::k_max_config_text >> 20));
    }
    const auto& tag = node.Tag();
    // Text from the environment is typed as if written plainly: "${WIDTH}" with WIDTH=4 is 4.
    if (is_plain(node) || (tag == "!" && node.Scalar().find("${") != std::string::npos)) {
      return resolve_plain(text).value_or(Json(std::move(text)));
    }
    if (!tag.starts_with(k_core_tag) || tag == fmt::format("{}str", k_core_tag)) {
      return text;
    }
    const auto resolved = resolve_plain(text);
    const auto type = tag.substr(k_core_tag.size());
    const bool fits = resolved && (type == "int"     ? resolved->is_number_integer()
                                   : type == "float" ? resolved->is_number()
                                   : type == "bool"  ? resolved->is_boolean()
                                                     : resolved->is_null());
    if (!fits) {
      fail(where(node), fmt::format("'{}' is not {} (its tag is !!{})", util::shorten(text),
                                    type == "int"     ? "an int"
                                    : type == "float" ? "a number"
                                    : type == "bool"  ? "true or false"
                                                      : "null",
                                    type));
    }
    return type == "float" ? Json(resolved->get<double>()) : *resolved;
  }

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

/// Where byte `offset` of `text` stands in `file`.
Location location_at(const std::filesystem::path& file, std::string_view text, std::size_t offset) {
  const auto before = text.substr(0, offset);
  const auto newline = before.rfind('\n');
  const auto column = newline == std::string_view::npos ? offset : offset - newline - 1;
  return {file.string(), static_cast<int>(std::count(before.begin(), before.end(), '\n')) + 1,
          static_cast<int>(column) + 1};
}

YAML::Node parse_file(const std::filesystem::path& file) {
  const auto text = util::read_file(file);
  if (!text) {
    throw ConfigError(fmt::format("cannot read config {}", file.string()));
  }
  // YAML is Unicode text: a file in another encoding (Latin-1, say) is refused where it is
  // not UTF-8, rather than passed on as text no one can read back; the parser would end the
  // file at a NUL byte without a word.
  if (const auto bad = util::invalid_utf8_at(*text)) {
    fail(location_at(file, *text, *bad),
         fmt::format("the config is not UTF-8 (byte \\x{:02x})",
                     static_cast<unsigned char>((*text)[*bad])),
         "save the file as UTF-8, the encoding of YAML");
  }
  if (const auto nul = text->find('\0'); nul != std::string::npos) {
    fail(location_at(file, *text, nul), "a NUL character in a value",
         "xrun's values are text without NUL characters (\\0)");
  }
  YAML::Node root;
  try {
    root = YAML::Load(*text);
  } catch (const YAML::DeepRecursion& error) {
    fail(location_of(file, error.mark),
         fmt::format("malformed YAML: nested too deeply (a value may nest at most {} levels)",
                     core::k_max_value_depth));
  } catch (const YAML::ParserException& error) {
    fail(location_of(file, error.mark), fmt::format("malformed YAML: {}", error.msg));
  }
  check_document(root, file);
  return root;
}

Layer read_layer(const std::filesystem::path& file, const Environment& env) {
  return {file, parse_file(file), Reader(file, env)};
}

/// The layer's `plugins:` mapping: `NAME: true` (or empty), `NAME: false` or
/// `NAME: {SETTING: value}` (on, with settings).
void read_plugins(Layer& layer, std::vector<PluginChoice>& out) {
  const auto plugins = layer.root["plugins"];
  if (!plugins || plugins.IsNull()) {
    return;
  }
  auto& reader = layer.reader;
  if (!plugins.IsMap()) {
    fail(reader.where(plugins),
         "'plugins' must be a mapping of NAME: true, false or {SETTING: value}");
  }
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
  const auto launcher = layer.root["launcher"];
  if (!launcher || launcher.IsNull()) {
    return;
  }
  auto& reader = layer.reader;
  if (!launcher.IsMap()) {
    fail(reader.where(launcher),
         "'launcher' must be a mapping like {type: slurm, partition: gpu, time: 02:00:00}");
  }
  for (const auto& item : launcher) {
    const auto key = reader.key(item.first);
    out[key] = reader.value(item.second, reader.where(item.first));
    where[key] = fmt::format("{}: launcher.{}", reader.where(item.first).str(), key);
  }
}

/// `[values...]`, `{range: [start, stop, step]}`, `{linspace: [first, last, count]}` or
/// `{logspace: [first exponent, last exponent, count]}` as its values.
std::vector<SweepValue> sweep_values(const YAML::Node& node, const std::string& name,
                                     const Location& given, Reader& reader) {
  const auto where = reader.where(node);
  std::vector<SweepValue> values;
  if (node.IsSequence()) {
    for (const auto& item : node) {
      values.push_back(reader.setting(item, given));
    }
  } else if (node.IsMap() && node.size() == 1) {
    const auto kind = reader.key(node.begin()->first);
    const auto arguments = node.begin()->second;
    Json numbers = Json::array();
    if (arguments.IsSequence()) {
      for (const auto& argument : arguments) {
        numbers.push_back(reader.value(argument, given));
        if (!numbers.back().is_number()) {
          fail(reader.where(argument),
               fmt::format("the arguments of {} of {} are numbers", util::shorten(kind), name));
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
SweepSpec read_sweep(Layer& layer) {
  SweepSpec spec;
  const auto sweep = layer.root["sweep"];
  if (!sweep || sweep.IsNull()) {
    return spec;
  }
  auto& reader = layer.reader;
  spec.where = reader.where(sweep);
  if (!sweep.IsMap()) {
    fail(spec.where, "'sweep' must be a mapping with grid, zip and random");
  }
  std::vector<std::pair<std::string, Location>> seen;
  for (const auto& section : sweep) {
    const auto key = reader.key(section.first);
    const auto where = reader.where(section.first);
    const auto& body = section.second;
    if (key != "grid" && key != "zip" && key != "random") {
      static const std::vector<std::string> k_sections{"grid", "zip", "random"};
      const auto close = util::closest_match(key, k_sections);
      fail(where, fmt::format("unknown sweep section '{}'{} (sweep has grid, zip and random)",
                              util::shorten(key),
                              close ? fmt::format("; did you mean '{}'?", *close) : ""));
    }
    if (!body.IsMap()) {
      fail(reader.where(body), fmt::format("'{}' must be a mapping of parameter names", key));
    }
    for (const auto& item : body) {
      const auto name = reader.key(item.first);
      const auto at = reader.where(item.first);
      if (key == "random" && (name == "samples" || name == "seed")) {
        const auto value = reader.value(item.second, at);
        const long long least = name == "samples" ? 1 : 0;
        if (!value.is_number_integer() || value.get<long long>() < least) {
          fail(reader.where(item.second),
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
        SweepDraw entry{name, at, reader.key(draw.begin()->first), {}};
        const YAML::Node arguments = draw.begin()->second; // held: the iterator is a temporary
        for (const auto& argument : arguments) {
          entry.arguments.push_back(reader.setting(argument, at));
        }
        spec.random.push_back(std::move(entry));
      } else {
        (key == "grid" ? spec.grid : spec.zip)
            .push_back({name, at, sweep_values(item.second, name, at, reader)});
      }
    }
  }
  if (!spec.random.empty() && spec.samples == 0) {
    fail(spec.where, "random needs samples: N (how many draws)");
  }
  return spec;
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

std::string Location::str() const {
  return line > 0 ? fmt::format("{}:{}:{}", file, line, column) : file; // `--sweep A=1,2`
}

Environment process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    return value ? std::optional<std::string>(value) : std::nullopt;
  };
}

Environment unset_as_empty(Environment environment) {
  return [environment = std::move(environment)](const std::string& name) {
    return std::optional<std::string>(environment(name).value_or(""));
  };
}

std::string substitute(std::string_view text, const Environment& environment,
                       const Location& where) {
  return Substitution(text, environment, where).run();
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
    const auto target = (current.parent_path() / target_text).lexically_normal();
    check_file_name(target, layer.reader.where(extend));
    if (!std::filesystem::is_regular_file(target)) {
      fail(layer.reader.where(extend),
           fmt::format("the extended file '{}' does not exist ({})", util::shorten(target_text),
                       util::shorten(target.string())));
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
                       util::shorten(target_text)));
    }
    current = target;
  }

  // Apply from the root's child up to the top config, so that later settings win.
  for (auto layer = layers.rbegin(); layer != layers.rend(); ++layer) {
    config.files.push_back(layer->file);
    auto& reader = layer->reader;
    const auto& root = layer->root;
    if (const auto parameters = root["parameters"]) {
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
        std::erase_if(config.parameters,
                      [&](const ParameterSetting& other) { return other.name == setting.name; });
        config.parameters.push_back(std::move(setting));
      }
    }
    read_plugins(*layer, config.plugins);
    read_launcher(*layer, config.launcher, launcher_where);
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
        const auto text = reader.text(entry, "include");
        const auto path = (layer->file.parent_path() / text).lexically_normal();
        check_file_name(path, reader.where(entry));
        if (!std::filesystem::is_regular_file(path)) {
          fail(reader.where(entry), fmt::format("the mixin '{}' does not exist ({})",
                                                util::shorten(text), util::shorten(path.string())));
        }
        config.includes.push_back(path);
      }
    }
  }

  // Checked as a whole: a later file's setting replaces an earlier one's.
  sweep::slurm::Options::from_json(
      config.launcher, [&](const std::string& key) { return launcher_where[key]; });

  // The nearest config with a sweep sweeps.
  for (auto& layer : layers) {
    if (layer.root["sweep"]) {
      config.sweep = read_sweep(layer);
      break;
    }
  }

  // name, description, base_path and namespace: the nearest config that sets one wins, as
  // for parameters; base_path is relative to the file that sets it. Without one, runs go
  // where the experiment's own runs go: a config is a variation of it, listed beside it.
  const auto& top = layers.front();
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
  config.name = name.value_or(top.file.stem().string());
  config.namespace_name = ns.value_or("results/" + config.name);
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
  return {{"name", name}, {"enabled", enabled}, {"settings", settings}, {"where", where.str()}};
}

Json ParameterSetting::to_json(std::string_view source) const {
  Json entry = {{"name", name},       {"value", value},         {"file", where.file},
                {"line", where.line}, {"column", where.column}, {"source", source}};
  if (text) {
    entry["text"] = *text;
  }
  if (unset) {
    entry["unset"] = *unset;
  }
  return entry;
}

ParameterSetting ParameterSetting::from_json(const Json& json) {
  ParameterSetting setting{json.value("name", ""),
                           json.value("value", Json()),
                           std::nullopt,
                           {json.value("file", ""), json.value("line", 0), json.value("column", 0)},
                           std::nullopt};
  if (json.contains("text") && json["text"].is_string()) {
    setting.text = json["text"].get<std::string>();
  }
  if (json.contains("unset") && json["unset"].is_string()) {
    setting.unset = json["unset"].get<std::string>();
  }
  return setting;
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
    out << util::float_repr(value.get<double>()); // `0.3`, not `0.29999999999999999`
    return;
  default:
    out << YAML::Null;
    return;
  }
}

} // namespace

std::string Config::resolved_yaml(const std::filesystem::path& experiment_base_path,
                                  const Json& records) const {
  // What ran: the command line's values over the config's.
  auto parameters_ran = parameters;
  bool command_line = false;
  for (const auto& record : records) {
    if (record.value("source", "") != "cli") {
      continue;
    }
    command_line = true;
    auto value = record.value("value", Json());
    if (const auto exact = record.find("exact"); exact != record.end() && exact->is_string()) {
      value = *exact; // NaN, 2**70: as the text its declared type reads back
    }
    const auto parameter = record.value("name", "");
    const auto same =
        std::find_if(parameters_ran.begin(), parameters_ran.end(),
                     [&](const ParameterSetting& setting) { return setting.name == parameter; });
    if (same != parameters_ran.end()) {
      same->value = std::move(value);
    } else {
      parameters_ran.push_back({parameter, std::move(value), std::nullopt, {}, std::nullopt});
    }
  }
  YAML::Emitter out;
  out << YAML::Comment(files.empty() ? std::string("the settings xrun ran with")
                                     : fmt::format("resolved by xrun from {}{}",
                                                   files.back().filename().string(),
                                                   command_line ? " and the command line" : ""))
      << YAML::Newline;
  out << YAML::BeginMap;
  out << YAML::Key << "extend" << YAML::Value << experiment.string();
  out << YAML::Key << "name" << YAML::Value << name;
  if (!description.empty()) {
    out << YAML::Key << "description" << YAML::Value << YAML::Literal << description;
  }
  out << YAML::Key << "base_path" << YAML::Value
      << (base_path.empty() ? experiment_base_path : base_path).string();
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
  for (const auto& setting : parameters_ran) {
    out << YAML::Key << setting.name << YAML::Value;
    emit_value(out, setting.value);
  }
  out << YAML::EndMap << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

} // namespace xrun::config
