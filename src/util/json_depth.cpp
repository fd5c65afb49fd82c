#include "util/json_depth.hpp"

namespace xrun::util {

std::optional<std::size_t> json_nesting_beyond(std::string_view text, std::size_t limit) {
  std::size_t depth = 0;
  const char* const begin = text.data();
  const char* const end = begin + text.size();
  for (const char* at = begin; at < end; ++at) {
    switch (*at) {
    case '"':
      // To the closing quote: an escaped quote or backslash does not close it.
      for (++at; at < end && *at != '"'; ++at) {
        if (*at == '\\') {
          ++at;
        }
      }
      break;
    case '[':
    case '{':
      if (++depth > limit) {
        return static_cast<std::size_t>(at - begin);
      }
      break;
    case ']':
    case '}':
      depth -= depth > 0 ? 1 : 0;
      break;
    default:
      break;
    }
  }
  return std::nullopt;
}

} // namespace xrun::util
