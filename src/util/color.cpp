#include "util/color.hpp"

#include <array>
#include <cstdlib>
#include <unistd.h>

namespace xrun::util {

namespace {

/// The escape sequence of each Color, in the enum's order (none has none).
constexpr std::array<std::string_view, 8> k_codes{
    "", "\033[31m", "\033[32m", "\033[33m", "\033[35m", "\033[36m", "\033[1;31m", "\033[1;33m"};
static_assert(static_cast<std::size_t>(Color::bold_yellow) + 1 == k_codes.size());

std::string_view code_of(Color color) {
  return k_codes[static_cast<std::size_t>(color)];
}

} // namespace

bool color_enabled(int fd) {
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && *no_color != '\0') {
    return false;
  }
  const char* term = std::getenv("TERM");
  if (term != nullptr && std::string_view(term) == "dumb") {
    return false;
  }
  return ::isatty(fd) != 0;
}

std::string paint(std::string_view text, Color color, bool enabled) {
  const auto code = code_of(color);
  if (!enabled || code.empty()) {
    return std::string(text);
  }
  std::string painted;
  painted.reserve(code.size() + text.size() + 4);
  painted.append(code).append(text).append("\033[0m");
  return painted;
}

} // namespace xrun::util
