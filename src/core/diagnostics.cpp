#include "core/diagnostics.hpp"

#include <array>
#include <iostream>
#include <unistd.h>
#include <utility>

namespace xrun::core {

namespace {

constexpr std::array<std::pair<std::string_view, util::Color>, 2> k_prefixes{{
    {"xrun: error:", util::Color::bold_red},
    {"xrun: warning:", util::Color::bold_yellow},
}};

void print_line(std::string_view prefix, util::Color color, std::string_view message) {
  // One write of the whole line: lines of processes sharing the terminal do not interleave.
  std::string line = util::paint(prefix, color, util::color_enabled(STDERR_FILENO));
  line.append(" ").append(message).append("\n");
  std::cerr << line << std::flush;
}

} // namespace

void print_error(std::string_view message, std::string_view hint) {
  print_line(k_prefixes[0].first, k_prefixes[0].second, message);
  if (!hint.empty()) {
    std::cerr << "xrun: hint: " << hint << '\n';
  }
}

void print_warning(std::string_view message) {
  print_line(k_prefixes[1].first, k_prefixes[1].second, message);
}

util::Color status_color(std::string_view status) {
  if (status == "done") {
    return util::Color::green;
  }
  if (status == "failed" || status == "lost" || status == "corrupt") {
    return util::Color::red;
  }
  if (status == "interrupted") {
    return util::Color::yellow;
  }
  if (status == "killed") {
    return util::Color::magenta;
  }
  return util::Color::cyan;
}

std::string paint_status(std::string_view status, bool enabled, std::size_t width) {
  auto text = util::paint(status, status_color(status), enabled);
  if (status.size() < width) {
    text.append(width - status.size(), ' ');
  }
  return text;
}

std::string paint_message_prefixes(std::string_view chunk, bool& at_line_start) {
  std::string painted;
  painted.reserve(chunk.size());
  std::size_t at = 0;
  while (at < chunk.size()) {
    if (at_line_start) {
      for (const auto& [prefix, color] : k_prefixes) {
        if (chunk.substr(at).starts_with(prefix)) {
          painted += util::paint(prefix, color, true);
          at += prefix.size();
          break;
        }
      }
    }
    const auto end = chunk.find('\n', at);
    const auto stop = end == std::string_view::npos ? chunk.size() : end + 1;
    painted.append(chunk.substr(at, stop - at));
    at_line_start = end != std::string_view::npos;
    at = stop;
  }
  return painted;
}

} // namespace xrun::core
