// The `--where` language of the archive commands: a small, safe expression language over a
// run's parameters, data values and meta fields. Never Python eval.
//
//   LR >= 0.01 and status == "done" and data.metrics.acc > 0.9
//   not (MODEL in ["resnet", "vit"]) or name ~ "lr_*"
//
// Values: numbers, "strings" or 'strings', true, false, null, [lists], and names (dotted
// paths). Operators: == != < <= > >= ~ (glob match) !~ in, not in; and, or, not; parentheses.
// A glob matches a string, a number or boolean by its JSON text, and a list by its elements:
// `~` when one of them matches, `!~` when none does.
#pragma once

#include "xrun/error.hpp"

#include <cstddef>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace xrun::archive {

/// Finds the value of a name in the run being tested; null for a name the run does not have.
using Lookup = std::function<nlohmann::json(std::string_view name)>;

/// An expression that does not parse. Its message names the column (what the command line
/// prints); the column is also kept apart for callers that point at it themselves.
class QueryError : public UsageError {
public:
  QueryError(std::size_t column, const std::string& message, std::string hint)
      : UsageError(message, std::move(hint)), m_column(column) {}

  /// 1-based, in the expression's text.
  std::size_t column() const noexcept { return m_column; }

private:
  std::size_t m_column;
};

class Query {
public:
  /// Parses `text`. Throws QueryError naming the column of a syntax error, with the
  /// expression and a caret under that column as the hint.
  static Query parse(std::string_view text);

  /// Whether a run matches. A comparison with a missing (null) value is false, except
  /// `== null` and `!= null`; values of different kinds are unequal and unordered.
  bool matches(const Lookup& lookup) const;

  const std::string& text() const { return m_text; }

  /// Every name the expression looks up (`LR`, `data.metrics.acc`, ...).
  std::vector<std::string> names() const;

  struct Node;

private:
  std::string m_text;
  std::shared_ptr<const Node> m_root;
};

} // namespace xrun::archive
