// How xrun reports on stderr and shows statuses: `xrun: error:` and `xrun: warning:` lines,
// and run statuses, colored on a terminal (util/color.hpp decides when).
#pragma once

#include "util/color.hpp"

#include <string>
#include <string_view>

namespace xrun::core {

/// Writes `xrun: error: MESSAGE` to stderr, and `xrun: hint: HINT` below it when there is one.
void print_error(std::string_view message, std::string_view hint = {});

/// Writes `xrun: warning: MESSAGE` to stderr.
void print_warning(std::string_view message);

/// The color a run's (or a sweep row's) status is shown in: done green; failed, lost and
/// corrupt red; interrupted yellow; killed magenta; anything else (running, pending) cyan.
util::Color status_color(std::string_view status);

/// `status` in its color when `enabled`, padded with spaces (outside the color) to `width`.
std::string paint_status(std::string_view status, bool enabled, std::size_t width = 0);

/// `chunk` (output of an experiment process, echoed to a terminal) with the prefixes of xrun's
/// messages colored where they start a line. `at_line_start` tells whether `chunk` starts a
/// line, and is updated for the chunk that follows.
std::string paint_message_prefixes(std::string_view chunk, bool& at_line_start);

} // namespace xrun::core
