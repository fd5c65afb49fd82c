#include "archive/query.hpp"

#include "xrun/error.hpp"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <fnmatch.h>
#include <optional>
#include <variant>
#include <vector>

namespace xrun::archive {

using Json = nlohmann::json;

struct Query::Node {
  enum class Kind { literal, name, list, unary_not, logical_and, logical_or, compare, truthy };
  Kind kind;
  Json literal;     // literal
  std::string name; // name
  std::string op;   // compare: == != < <= > >= ~ !~ in notin
  std::vector<std::shared_ptr<const Node>> children;
};

namespace {

using NodePtr = std::shared_ptr<const Query::Node>;
using Kind = Query::Node::Kind;

struct Token {
  enum class Type { number, string, name, op, end } type;
  std::string text;
  Json value;
  std::size_t column; // 1-based
};

class Parser {
public:
  explicit Parser(std::string_view text) : m_text(text) { tokenize(); }

  NodePtr parse() {
    auto node = parse_or();
    if (peek().type != Token::Type::end) {
      fail(peek(), fmt::format("unexpected '{}'", peek().text));
    }
    return node;
  }

private:
  [[noreturn]] void fail(std::size_t column, const std::string& message) const {
    throw QueryError(column, fmt::format("--where: column {}: {}", column, message),
                     fmt::format("in\n    {}\n    {}^", m_text, std::string(column - 1, ' ')));
  }
  [[noreturn]] void fail(const Token& token, const std::string& message) const {
    fail(token.column, message);
  }

  void tokenize() {
    std::size_t i = 0;
    while (i < m_text.size()) {
      const char c = m_text[i];
      const std::size_t column = i + 1;
      if (std::isspace(static_cast<unsigned char>(c))) {
        ++i;
      } else if (c == '"' || c == '\'') {
        std::string value;
        std::size_t j = i + 1;
        for (; j < m_text.size() && m_text[j] != c; ++j) {
          if (m_text[j] == '\\' && j + 1 < m_text.size()) {
            ++j;
          }
          value.push_back(m_text[j]);
        }
        if (j >= m_text.size()) {
          fail(column, "unterminated string");
        }
        m_tokens.push_back({Token::Type::string, std::string(m_text.substr(i, j + 1 - i)),
                            Json(value), column});
        i = j + 1;
      } else if (std::isdigit(static_cast<unsigned char>(c)) ||
                 (c == '.' && i + 1 < m_text.size() &&
                  std::isdigit(static_cast<unsigned char>(m_text[i + 1]))) ||
                 (c == '-' && i + 1 < m_text.size() &&
                  (std::isdigit(static_cast<unsigned char>(m_text[i + 1])) ||
                   m_text[i + 1] == '.') &&
                  starts_value())) {
        std::size_t j = i + 1;
        while (j < m_text.size() &&
               (std::isalnum(static_cast<unsigned char>(m_text[j])) || m_text[j] == '.' ||
                ((m_text[j] == '-' || m_text[j] == '+') &&
                 (m_text[j - 1] == 'e' || m_text[j - 1] == 'E')))) {
          ++j;
        }
        const std::string number(m_text.substr(i, j - i));
        Json value = Json::parse(number, nullptr, false);
        if (value.is_discarded() || !value.is_number()) {
          fail(column, fmt::format("'{}' is not a number", number));
        }
        m_tokens.push_back({Token::Type::number, number, value, column});
        i = j;
      } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        std::size_t j = i + 1;
        while (j < m_text.size() &&
               (std::isalnum(static_cast<unsigned char>(m_text[j])) || m_text[j] == '_' ||
                m_text[j] == '.' || m_text[j] == '/')) {
          ++j;
        }
        const std::string word(m_text.substr(i, j - i));
        if (word.back() == '.' || word.find("..") != std::string::npos) {
          fail(column, fmt::format("'{}' is not a name", word));
        }
        m_tokens.push_back({Token::Type::name, word, {}, column});
        i = j;
      } else {
        static const char* k_ops[] = {"==", "!=", "<=", ">=", "!~", "<", ">", "~", "(", ")",
                                      "[",  "]",  ","};
        bool found = false;
        for (const char* op : k_ops) {
          const std::string_view candidate(op);
          if (m_text.substr(i, candidate.size()) == candidate) {
            m_tokens.push_back({Token::Type::op, std::string(candidate), {}, column});
            i += candidate.size();
            found = true;
            break;
          }
        }
        if (!found) {
          fail(column, c == '=' ? "use '==' to compare" : fmt::format("unexpected '{}'", c));
        }
      }
    }
    m_tokens.push_back({Token::Type::end, "end of the expression", {}, m_text.size() + 1});
  }

  /// A '-' starts a negative number where a value may begin (not after a value).
  bool starts_value() const {
    if (m_tokens.empty()) {
      return true;
    }
    const auto& last = m_tokens.back();
    return last.type == Token::Type::op && last.text != ")" && last.text != "]";
  }

  const Token& peek() const { return m_tokens[m_pos]; }
  const Token& next() { return m_tokens[m_pos++]; }
  bool is_word(const char* word) const {
    return peek().type == Token::Type::name && peek().text == word;
  }
  bool is_op(const char* op) const { return peek().type == Token::Type::op && peek().text == op; }
  void expect(const char* op) {
    if (!is_op(op)) {
      fail(peek(), fmt::format("expected '{}', found '{}'", op, peek().text));
    }
    ++m_pos;
  }

  static NodePtr make(Kind kind, std::vector<NodePtr> children, std::string op = {}) {
    auto node = std::make_shared<Query::Node>();
    node->kind = kind;
    node->children = std::move(children);
    node->op = std::move(op);
    return node;
  }

  /// One level deeper into the tree being parsed (evaluating it recurses as deep): an
  /// expression nested beyond any need is refused before the stack runs out. A failed parse
  /// is thrown away, so only the ways out that return step back up.
  void deeper(const Token& token) {
    if (++m_depth > k_most_nesting) {
      fail(token, fmt::format("nested more than {} levels deep", k_most_nesting));
    }
  }
  static constexpr int k_most_nesting = 200;

  NodePtr parse_or() {
    auto left = parse_and();
    const int depth = m_depth;
    while (is_word("or")) {
      deeper(next()); // each operand adds a level to the tree
      left = make(Kind::logical_or, {left, parse_and()});
    }
    m_depth = depth;
    return left;
  }

  NodePtr parse_and() {
    auto left = parse_not();
    const int depth = m_depth;
    while (is_word("and")) {
      deeper(next());
      left = make(Kind::logical_and, {left, parse_not()});
    }
    m_depth = depth;
    return left;
  }

  NodePtr parse_not() {
    if (is_word("not")) {
      deeper(next());
      auto node = make(Kind::unary_not, {parse_not()});
      --m_depth;
      return node;
    }
    return parse_comparison();
  }

  NodePtr parse_comparison() {
    auto left = parse_value();
    static const char* k_compare[] = {"==", "!=", "<", "<=", ">", ">=", "~", "!~"};
    for (const char* op : k_compare) {
      if (is_op(op)) {
        ++m_pos;
        const Token& token = peek();
        auto right = parse_value();
        if (left->kind == Kind::name && right->kind == Kind::name &&
            (left->name == "status" || left->name == "meta.status")) {
          // A status is a word, so `status == done` reads as a comparison with a field named
          // done, which no run has: say so rather than match nothing.
          fail(token, fmt::format("a status is a string: write {} {} \"{}\"", left->name, op,
                                  right->name));
        }
        return make(Kind::compare, {left, std::move(right)}, op);
      }
    }
    if (is_word("in")) {
      ++m_pos;
      return make(Kind::compare, {left, parse_list_value()}, "in");
    }
    if (is_word("not") && m_tokens[m_pos + 1].type == Token::Type::name &&
        m_tokens[m_pos + 1].text == "in") {
      m_pos += 2;
      return make(Kind::compare, {left, parse_list_value()}, "notin");
    }
    return make(Kind::truthy, {left});
  }

  NodePtr parse_list_value() {
    if (!is_op("[")) {
      fail(peek(), fmt::format("expected a list like [1, 2] after 'in', found '{}'", peek().text));
    }
    return parse_value();
  }

  NodePtr parse_value() {
    const Token& token = next();
    auto node = std::make_shared<Query::Node>();
    switch (token.type) {
    case Token::Type::number:
    case Token::Type::string:
      node->kind = Kind::literal;
      node->literal = token.value;
      return node;
    case Token::Type::name:
      if (token.text == "true" || token.text == "false" || token.text == "null") {
        node->kind = Kind::literal;
        node->literal = token.text == "null" ? Json(nullptr) : Json(token.text == "true");
        return node;
      }
      if (token.text == "and" || token.text == "or" || token.text == "not" ||
          token.text == "in") {
        fail(token, fmt::format("expected a value, found '{}'", token.text));
      }
      node->kind = Kind::name;
      node->name = token.text;
      return node;
    case Token::Type::op:
      if (token.text == "(") {
        deeper(token);
        auto inner = parse_or();
        expect(")");
        --m_depth;
        return inner;
      }
      if (token.text == "[") {
        deeper(token);
        node->kind = Kind::list;
        if (!is_op("]")) {
          node->children.push_back(parse_value());
          while (is_op(",")) {
            ++m_pos;
            node->children.push_back(parse_value());
          }
        }
        expect("]");
        --m_depth;
        return node;
      }
      break;
    case Token::Type::end:
      break;
    }
    fail(token, fmt::format("expected a value, found '{}'", token.text));
  }

  std::string_view m_text;
  std::vector<Token> m_tokens;
  std::size_t m_pos = 0;
  int m_depth = 0;
};

Json evaluate(const Query::Node& node, const Lookup& lookup);

bool truthy(const Json& value) {
  if (value.is_boolean()) {
    return value.get<bool>();
  }
  if (value.is_number()) {
    return value.get<double>() != 0;
  }
  if (value.is_string() || value.is_array() || value.is_object()) {
    return !value.empty();
  }
  return false;
}

/// -1, 0, 1, or nullopt for values that do not compare (different kinds, null, containers).
std::optional<int> order(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) {
    const double x = a.get<double>();
    const double y = b.get<double>();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_string() && b.is_string()) {
    const int c = a.get_ref<const std::string&>().compare(b.get_ref<const std::string&>());
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (a.is_boolean() && b.is_boolean()) {
    return static_cast<int>(a.get<bool>()) - static_cast<int>(b.get<bool>());
  }
  return std::nullopt;
}

/// The text a glob is matched against: a string as it is, a number or boolean as JSON writes
/// it (`16`, `0.5`, `true`); nothing for null, a list or an object.
std::optional<std::string> glob_text(const Json& value) {
  if (value.is_string()) {
    return value.get<std::string>();
  }
  if (value.is_number() || value.is_boolean()) {
    return value.dump();
  }
  return std::nullopt;
}

bool equal(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) {
    return a.get<double>() == b.get<double>();
  }
  return a == b;
}

bool compare(const std::string& op, const Json& left, const Json& right) {
  if (op == "==") {
    return equal(left, right);
  }
  if (op == "!=") {
    return !equal(left, right);
  }
  if (op == "in" || op == "notin") {
    bool found = false;
    for (const auto& item : right) {
      found = found || equal(left, item);
    }
    return op == "in" ? found : !found;
  }
  if (op == "~" || op == "!~") {
    if (!right.is_string()) {
      return false;
    }
    const auto& pattern = right.get_ref<const std::string&>();
    if (left.is_array()) {
      // A list matches when one of its elements does: `tags ~ "base*"`; `!~` when none does.
      const bool any = std::any_of(left.begin(), left.end(), [&](const Json& item) {
        const auto text = glob_text(item);
        return text && ::fnmatch(pattern.c_str(), text->c_str(), 0) == 0;
      });
      return op == "~" ? any : !any;
    }
    const auto text = glob_text(left);
    if (!text) {
      return false;
    }
    const bool match = ::fnmatch(pattern.c_str(), text->c_str(), 0) == 0;
    return op == "~" ? match : !match;
  }
  const auto result = order(left, right);
  if (!result) {
    return false;
  }
  if (op == "<") {
    return *result < 0;
  }
  if (op == "<=") {
    return *result <= 0;
  }
  if (op == ">") {
    return *result > 0;
  }
  return *result >= 0; // >=
}

Json evaluate(const Query::Node& node, const Lookup& lookup) {
  switch (node.kind) {
  case Kind::literal:
    return node.literal;
  case Kind::name:
    return lookup(node.name);
  case Kind::list: {
    Json list = Json::array();
    for (const auto& child : node.children) {
      list.push_back(evaluate(*child, lookup));
    }
    return list;
  }
  case Kind::unary_not:
    return !truthy(evaluate(*node.children[0], lookup));
  case Kind::logical_and:
    return truthy(evaluate(*node.children[0], lookup)) &&
           truthy(evaluate(*node.children[1], lookup));
  case Kind::logical_or:
    return truthy(evaluate(*node.children[0], lookup)) ||
           truthy(evaluate(*node.children[1], lookup));
  case Kind::compare:
    return compare(node.op, evaluate(*node.children[0], lookup),
                   evaluate(*node.children[1], lookup));
  case Kind::truthy:
    return truthy(evaluate(*node.children[0], lookup));
  }
  return false;
}

} // namespace

Query Query::parse(std::string_view text) {
  Query query;
  query.m_text = std::string(text);
  query.m_root = Parser(query.m_text).parse();
  return query;
}

bool Query::matches(const Lookup& lookup) const {
  return truthy(evaluate(*m_root, lookup));
}

std::vector<std::string> Query::names() const {
  std::vector<std::string> names;
  std::vector<const Node*> pending{m_root.get()};
  while (!pending.empty()) {
    const Node* node = pending.back();
    pending.pop_back();
    if (node->kind == Kind::name) {
      names.push_back(node->name);
    }
    for (const auto& child : node->children) {
      pending.push_back(child.get());
    }
  }
  return names;
}

} // namespace xrun::archive
