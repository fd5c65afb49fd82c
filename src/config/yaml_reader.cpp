#include "config/yaml_reader.hpp"

#include "core/value_limits.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fmt/format.h>
#include <set>
#include <yaml-cpp/depthguard.h>

namespace xrun::config {

namespace yaml_file {

namespace {

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

} // namespace

Layer read_layer(const std::filesystem::path& file, const Environment& env) {
  return {file, parse_file(file), Reader(file, env)};
}

Location location_of(const std::filesystem::path& file, const YAML::Mark& mark) {
  return {file.string(), mark.line + 1, mark.column + 1};
}

[[noreturn]] void fail(const Location& where, const std::string& message, std::string hint) {
  throw ConfigError(fmt::format("{}: {}", where.str(), message), std::move(hint));
}

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
    try {
      return Json(std::stod(text));
    } catch (const std::out_of_range&) {
      return std::nullopt; // beyond a double (1e400, 1e-400): the declared type decides
    }
  }
  return std::nullopt;
}

bool is_plain(const YAML::Node& node) {
  return node.Tag() == "?";
}

Json Reader::convert(const YAML::Node& node, int depth, const Location& given) {
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

Json Reader::scalar(const YAML::Node& node, const Location& given) {
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

} // namespace yaml_file

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
  return yaml_file::Substitution(text, environment, where).run();
}

} // namespace xrun::config
