#include "ui/series_file.hpp"

#include "xrun/error.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <unistd.h>

namespace xrun::ui {

namespace {

/// Chunks of at most this many bytes: a block's lines are read in one, a whole file in many.
constexpr std::uint64_t k_chunk_bytes = std::uint64_t{1} << 20;

/// `field` parsed whole as a number (`nan`, `inf` and `-inf` included).
bool parse_number(std::string_view field, double& number) {
  const char* const end = field.data() + field.size();
  const auto [stop, error] = std::from_chars(field.data(), end, number);
  return error == std::errc() && stop == end && !field.empty();
}

/// The text up to the next comma (all of it when there is none); advances past the comma.
std::string_view take_field(std::string_view& text) {
  const auto comma = text.find(',');
  const auto field = text.substr(0, comma);
  text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
  return field;
}

} // namespace

bool parse_series_line(std::string_view line, SeriesPoint& point) {
  if (line.ends_with('\r')) {
    line.remove_suffix(1); // a file edited on Windows
  }
  // What follows the time is the stage; the three-column files of earlier versions have none.
  if (!parse_number(take_field(line), point.step) || !parse_number(take_field(line), point.value) ||
      !parse_number(take_field(line), point.time)) {
    return false;
  }
  point.stage = line;
  // A point needs a place on the x axis; only its value may be NaN or infinite.
  return std::isfinite(point.step) && std::isfinite(point.time);
}

bool SeriesLineReader::next(std::string_view& line, std::uint64_t& line_offset) {
  for (;;) {
    const char* const begin = m_buffer.data() + m_start;
    const std::size_t available = m_buffer.size() - m_start;
    const auto* newline =
        static_cast<const char*>(std::memchr(begin + m_scanned, '\n', available - m_scanned));
    if (newline != nullptr) {
      const auto length = static_cast<std::size_t>(newline - begin);
      line = std::string_view(begin, length);
      line_offset = m_offset;
      m_offset += length + 1;
      m_start += length + 1;
      m_scanned = 0;
      return true;
    }
    m_scanned = available;
    if (!fill()) {
      return false;
    }
  }
}

bool SeriesLineReader::fill() {
  if (m_read >= m_end) {
    return false;
  }
  m_buffer.erase(0, m_start);
  m_start = 0;
  const auto wanted = static_cast<std::size_t>(std::min(k_chunk_bytes, m_end - m_read));
  const std::size_t kept = m_buffer.size();
  m_buffer.resize(kept + wanted);
  std::size_t got = 0;
  while (got < wanted) {
    const ssize_t n =
        ::pread(m_fd, m_buffer.data() + kept + got, wanted - got, static_cast<off_t>(m_read + got));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      throw ArchiveError(fmt::format("a series file cannot be read: {}", std::strerror(errno)));
    }
    if (n == 0) {
      break; // shorter than when it was opened: replaced in place
    }
    got += static_cast<std::size_t>(n);
  }
  m_buffer.resize(kept + got);
  m_read += got;
  if (got < wanted) {
    m_end = m_read;
  }
  return got > 0;
}

} // namespace xrun::ui
