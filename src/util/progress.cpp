#include "util/progress.hpp"

#include "util/strings.hpp"

#include <algorithm>
#include <cstdlib>
#include <fmt/format.h>
#include <unistd.h>

namespace xrun::util {

namespace {

constexpr auto k_redraw = std::chrono::milliseconds(100);
constexpr int k_bar_width = 24;

std::string clock_text(double seconds) {
  const auto total = static_cast<long>(seconds + 0.5);
  return total < 3600 ? fmt::format("{}:{:02}", total / 60, total % 60)
                      : fmt::format("{}:{:02}:{:02}", total / 3600, total / 60 % 60, total % 60);
}

void write_stderr(const std::string& text) {
  const char* data = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    const ssize_t wrote = ::write(STDERR_FILENO, data, left);
    if (wrote <= 0) {
      return; // a progress line is not worth failing for
    }
    data += wrote;
    left -= static_cast<std::size_t>(wrote);
  }
}

} // namespace

Progress::Progress(std::string label, std::uint64_t total, std::string unit)
    : m_label(std::move(label)), m_unit(std::move(unit)), m_total(total),
      m_start(std::chrono::steady_clock::now()), m_last_draw(m_start),
      m_shown(::isatty(STDERR_FILENO) && std::getenv("XRUN_NO_PROGRESS") == nullptr) {}

Progress::~Progress() {
  finish();
}

void Progress::advance(std::uint64_t items, std::uint64_t bytes) {
  m_done += items;
  m_bytes += bytes;
  if (!m_shown) {
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (now - m_last_draw >= k_redraw || (m_total > 0 && m_done >= m_total)) {
    m_last_draw = now;
    draw();
  }
}

void Progress::draw() {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
  std::string line = "\r" + m_label + " ";
  if (m_total > 0) {
    const double fraction = std::min(1.0, static_cast<double>(m_done) / static_cast<double>(m_total));
    const int filled = static_cast<int>(fraction * k_bar_width);
    line += "[" + std::string(static_cast<std::size_t>(filled), '#') +
            std::string(static_cast<std::size_t>(k_bar_width - filled), ' ') + "] ";
    line += fmt::format("{}/{} {}", m_done, m_total, m_unit);
  } else {
    line += fmt::format("{} {}", m_done, m_unit);
  }
  if (m_bytes > 0 && elapsed > 0) {
    line += fmt::format("  {}/s", format_bytes(static_cast<double>(m_bytes) / elapsed));
  }
  if (m_total > 0 && m_done > 0 && m_done < m_total) {
    const double left = elapsed / static_cast<double>(m_done) *
                        static_cast<double>(m_total - m_done);
    line += "  ETA " + clock_text(left);
  }
  line += "\033[K"; // clear what a longer earlier line left
  write_stderr(line);
  m_drawn = true;
}

void Progress::finish() {
  if (m_drawn) {
    write_stderr("\r\033[K");
    m_drawn = false;
  }
}

} // namespace xrun::util
