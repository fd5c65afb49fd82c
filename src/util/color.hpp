// ANSI colors for text written to a terminal, following https://no-color.org.
#pragma once

#include <string>
#include <string_view>

namespace xrun::util {

enum class Color { none, red, green, yellow, magenta, cyan, bold_red, bold_yellow };

/// Whether text written to `fd` may be colored: `fd` is a terminal, `NO_COLOR` is unset or
/// empty, and `TERM` is not `dumb`.
bool color_enabled(int fd);

/// `text` wrapped in the escape sequences of `color` when `enabled`, else `text` unchanged.
std::string paint(std::string_view text, Color color, bool enabled);

} // namespace xrun::util
