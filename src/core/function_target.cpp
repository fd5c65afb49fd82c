#include "core/function_target.hpp"

#include <algorithm>
#include <cctype>

namespace xrun::core {

bool is_identifier(std::string_view name) {
  return !name.empty() && !std::isdigit(static_cast<unsigned char>(name.front())) &&
         std::all_of(name.begin(), name.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '_'; });
}

FunctionTarget split_function_target(std::string_view word) {
  const auto colon = word.rfind(':');
  if (colon == std::string_view::npos) {
    return {std::string(word), {}};
  }
  const auto file = word.substr(0, colon);
  const auto name = word.substr(colon + 1);
  if (!file.ends_with(".py") || !is_identifier(name)) {
    return {std::string(word), {}};
  }
  return {std::string(file), std::string(name)};
}

} // namespace xrun::core
