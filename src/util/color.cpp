#include "util/color.hpp"

#include <cstdlib>
#include <unistd.h>

namespace xrun::util {

namespace {

std::string_view code_of(Color color) {
  switch (color) {
  case Color::none:
    break;
  case Color::red:
    return "\033[31m";
  case Color::green:
    return "\033[32m";
  case Color::yellow:
    return "\033[33m";
  case Color::magenta:
    return "\033[35m";
  case Color::cyan:
    return "\033[36m";
  case Color::bold_red:
    return "\033[1;31m";
  case Color::bold_yellow:
    return "\033[1;33m";
  }
  return {};
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
