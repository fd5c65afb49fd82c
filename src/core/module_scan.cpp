#include "core/module_scan.hpp"

#include "util/strings.hpp"

#include <algorithm>
#include <cctype>
#include <set>

namespace xrun::core {

namespace {

using util::trim;

bool is_identifier_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}

bool is_identifier_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

/// A logical top-level statement: its text with every string literal replaced by one
/// placeholder character (so an `=` inside a string never looks like an assignment), and the
/// literals in order.
struct Statement {
  int line = 1;
  std::string text;
  std::vector<std::string> literals;
};

constexpr char k_literal = '\x01';

/// `text` (a piece of a statement whose first placeholder is literal number `first`) with the
/// literals put back.
std::string restore_literals(std::string_view text, const std::vector<std::string>& literals,
                             std::size_t first) {
  std::string restored;
  for (const char c : text) {
    if (c == k_literal && first < literals.size()) {
      restored += literals[first++];
    } else {
      restored += c;
    }
  }
  return restored;
}

/// A comment with the line it is on.
struct Comment {
  int line;
  std::string text; // after the '#'
};

/// Splits source into logical top-level statements (their text, with strings and comments
/// blanked out of the way) and comments.
class Scanner {
public:
  explicit Scanner(std::string_view source) : m_source(source) {}

  void run(std::vector<Statement>& statements, std::vector<Comment>& comments) {
    Statement statement;
    int depth = 0;
    bool at_start = true;
    for (m_pos = 0; m_pos < m_source.size(); ++m_pos) {
      const char c = m_source[m_pos];
      if (at_start) {
        statement.line = m_line;
        at_start = false;
      }
      if (c == '#') {
        const auto end = m_source.find('\n', m_pos);
        const auto stop = end == std::string_view::npos ? m_source.size() : end;
        comments.push_back({m_line, std::string(m_source.substr(m_pos + 1, stop - m_pos - 1))});
        m_pos = stop - 1;
        continue;
      }
      if (c == '"' || c == '\'') {
        const auto start = m_pos;
        skip_string(c);
        const auto stop = std::min(m_pos + 1, m_source.size());
        statement.literals.emplace_back(m_source.substr(start, stop - start));
        statement.text += k_literal;
        continue;
      }
      if (c == '\\' && m_pos + 1 < m_source.size() && m_source[m_pos + 1] == '\n') {
        ++m_pos;
        ++m_line;
        statement.text += ' ';
        continue;
      }
      if (c == '\n') {
        ++m_line;
        if (depth == 0) {
          statements.push_back(std::move(statement));
          statement = Statement();
          at_start = true;
        } else {
          statement.text += ' ';
        }
        continue;
      }
      if (c == '(' || c == '[' || c == '{') {
        ++depth;
      } else if ((c == ')' || c == ']' || c == '}') && depth > 0) {
        --depth;
      }
      statement.text += c;
    }
    if (!statement.text.empty()) {
      statements.push_back(std::move(statement));
    }
  }

private:
  void skip_string(char quote) {
    const bool triple = m_source.substr(m_pos, 3) == std::string(3, quote);
    m_pos += triple ? 3 : 1;
    for (; m_pos < m_source.size(); ++m_pos) {
      const char c = m_source[m_pos];
      if (c == '\\') {
        if (m_pos + 1 < m_source.size() && m_source[m_pos + 1] == '\n') {
          ++m_line;
        }
        ++m_pos;
        continue;
      }
      if (c == '\n') {
        ++m_line;
        if (!triple) {
          return; // an unterminated one-line string: give up on it at the line's end
        }
        continue;
      }
      if (c == quote && (!triple || m_source.substr(m_pos, 3) == std::string(3, quote))) {
        m_pos += triple ? 2 : 0;
        return;
      }
    }
  }

  std::string_view m_source;
  std::size_t m_pos = 0;
  int m_line = 1;
};

/// `NAME = ...`, `NAME: annotation = ...` at column 0.
void parse_assignment(const Statement& parsed, std::vector<Assignment>& out,
                      std::set<std::string>& seen) {
  const std::string& statement = parsed.text;
  const auto literals_before = [&](std::size_t at) {
    return static_cast<std::size_t>(
        std::count(statement.begin(), statement.begin() + static_cast<std::ptrdiff_t>(at),
                   k_literal));
  };
  if (statement.empty() || !is_identifier_start(statement[0])) {
    return;
  }
  std::size_t end = 1;
  while (end < statement.size() && is_identifier_char(statement[end])) {
    ++end;
  }
  const std::string name = statement.substr(0, end);
  std::size_t pos = statement.find_first_not_of(" \t", end);
  if (pos == std::string::npos) {
    return;
  }
  std::string annotation;
  if (statement[pos] == ':' && statement.compare(pos, 2, ":=") != 0) {
    // The annotation runs to the first `=` outside brackets.
    int depth = 0;
    std::size_t equals = std::string::npos;
    for (std::size_t i = pos + 1; i < statement.size(); ++i) {
      const char c = statement[i];
      if (c == '(' || c == '[' || c == '{') {
        ++depth;
      } else if (c == ')' || c == ']' || c == '}') {
        --depth;
      } else if (c == '=' && depth == 0) {
        equals = i;
        break;
      }
    }
    if (equals == std::string::npos) {
      return; // `NAME: int` declares without assigning
    }
    annotation = restore_literals(
        trim(std::string_view(statement).substr(pos + 1, equals - pos - 1)), parsed.literals,
        literals_before(pos + 1));
    pos = equals;
  }
  if (statement[pos] != '=' || statement.compare(pos, 2, "==") == 0) {
    return;
  }
  if (seen.insert(name).second) {
    out.push_back({name, annotation, parsed.line,
                   restore_literals(trim(std::string_view(statement).substr(pos + 1)),
                                    parsed.literals, literals_before(pos + 1))});
  }
}

/// The pieces of `text` between commas outside brackets, each with where it starts.
std::vector<std::pair<std::size_t, std::string_view>> split_at_commas(std::string_view text) {
  std::vector<std::pair<std::size_t, std::string_view>> pieces;
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    const char c = i < text.size() ? text[i] : ',';
    if (c == '(' || c == '[' || c == '{') {
      ++depth;
    } else if ((c == ')' || c == ']' || c == '}') && depth > 0) {
      --depth;
    } else if (c == ',' && depth == 0) {
      pieces.emplace_back(start, text.substr(start, i - start));
      start = i + 1;
    }
  }
  return pieces;
}

/// Where `wanted` first occurs in `text` outside brackets; npos when it does not.
std::size_t find_outside_brackets(std::string_view text, char wanted) {
  int depth = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == wanted && depth == 0) {
      return i;
    }
    if (c == '(' || c == '[' || c == '{') {
      ++depth;
    } else if ((c == ')' || c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::string_view::npos;
}

/// `def NAME(...)` or `async def NAME(...)` at column 0: the function and its parameters.
void parse_function(const Statement& parsed, std::vector<FunctionDefinition>& out) {
  std::string_view statement = parsed.text;
  std::size_t offset = 0; // of `statement` in parsed.text
  if (statement.starts_with("async ")) {
    offset = statement.find_first_not_of(" \t", 6);
  }
  if (offset == std::string_view::npos || statement.substr(offset, 4) != "def ") {
    return;
  }
  const auto name_start = statement.find_first_not_of(" \t", offset + 4);
  if (name_start == std::string_view::npos || !is_identifier_start(statement[name_start])) {
    return;
  }
  auto name_end = name_start;
  while (name_end < statement.size() && is_identifier_char(statement[name_end])) {
    ++name_end;
  }
  const auto open = statement.find_first_not_of(" \t", name_end);
  if (open == std::string_view::npos || statement[open] != '(') {
    return;
  }
  int depth = 0;
  auto close = open;
  for (; close < statement.size(); ++close) {
    depth += statement[close] == '(' || statement[close] == '[' || statement[close] == '{';
    depth -= statement[close] == ')' || statement[close] == ']' || statement[close] == '}';
    if (depth == 0) {
      break;
    }
  }
  if (close == statement.size()) {
    return; // no closing parenthesis: not a definition this scan understands
  }
  FunctionDefinition function{
      std::string(statement.substr(name_start, name_end - name_start)), parsed.line, {}};
  const auto list = statement.substr(open + 1, close - open - 1);
  const auto literals_before = [&](std::size_t at) {
    return static_cast<std::size_t>(std::count(
        statement.begin(), statement.begin() + static_cast<std::ptrdiff_t>(at), k_literal));
  };
  for (const auto& [start, piece] : split_at_commas(list)) {
    const auto text = trim(piece);
    if (text.empty() || !is_identifier_start(text[0])) {
      continue; // `*args`, `**kwargs`, `*` and `/` are not given by name on the command line
    }
    const auto at = open + 1 + start + piece.find(text[0]);
    FunctionParameter parameter;
    auto end = std::size_t{1};
    while (end < text.size() && is_identifier_char(text[end])) {
      ++end;
    }
    parameter.name = text.substr(0, end);
    const auto rest = std::string_view(text).substr(end);
    const auto equals = find_outside_brackets(rest, '=');
    const auto colon = rest.find(':');
    if (colon != std::string_view::npos && (equals == std::string_view::npos || colon < equals)) {
      const auto annotation =
          rest.substr(colon + 1, equals == std::string_view::npos ? std::string_view::npos
                                                                  : equals - colon - 1);
      parameter.annotation = restore_literals(trim(annotation), parsed.literals,
                                              literals_before(at + end + colon + 1));
    }
    if (equals != std::string_view::npos) {
      parameter.default_value = restore_literals(trim(rest.substr(equals + 1)), parsed.literals,
                                                 literals_before(at + end + equals + 1));
    }
    function.parameters.push_back(std::move(parameter));
  }
  out.push_back(std::move(function));
}

/// `:param NAME:` / `:hook NAME:` blocks: the rest of that comment line and the indented comment
/// lines directly below it, joined with spaces.
void parse_descriptions(const std::vector<Comment>& comments, ModuleScan& scan) {
  for (std::size_t i = 0; i < comments.size(); ++i) {
    const auto text = trim(comments[i].text);
    std::map<std::string, std::string>* target = nullptr;
    std::size_t skip = 0;
    if (text.rfind(":param ", 0) == 0) {
      target = &scan.descriptions;
      skip = 7;
    } else if (text.rfind(":hook ", 0) == 0) {
      target = &scan.hook_descriptions;
      skip = 6;
    }
    const auto colon = target ? text.find(':', skip) : std::string::npos;
    if (colon == std::string::npos) {
      continue;
    }
    const auto name = trim(std::string_view(text).substr(skip, colon - skip));
    std::string description = trim(std::string_view(text).substr(colon + 1));
    std::size_t next = i + 1;
    for (; next < comments.size(); ++next) {
      const auto& comment = comments[next];
      const bool adjacent = comment.line == comments[next - 1].line + 1;
      const bool indented = comment.text.rfind("  ", 0) == 0 || comment.text.rfind("\t", 0) == 0;
      const auto body = trim(comment.text);
      if (!adjacent || !indented || body.empty()) {
        break;
      }
      description += description.empty() ? body : " " + body;
    }
    (*target)[name] = description;
    i = next - 1;
  }
}

} // namespace

ModuleScan scan_module(std::string_view source) {
  std::vector<Statement> statements;
  std::vector<Comment> comments;
  Scanner(source).run(statements, comments);
  ModuleScan scan;
  std::set<std::string> seen;
  for (const auto& statement : statements) {
    parse_assignment(statement, scan.assignments, seen);
    parse_function(statement, scan.functions);
  }
  parse_descriptions(comments, scan);
  return scan;
}

bool is_upper_name(std::string_view name) {
  const bool has_letter =
      std::any_of(name.begin(), name.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); });
  const bool has_lower =
      std::any_of(name.begin(), name.end(), [](char c) { return std::islower(static_cast<unsigned char>(c)); });
  return has_letter && !has_lower;
}

} // namespace xrun::core
