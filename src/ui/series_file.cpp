#include "ui/series_file.hpp"

#include "util/fs.hpp"
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

/// Bytes read at once: a file in few reads.
constexpr std::uint64_t k_chunk_bytes = std::uint64_t{1} << 18;

/// 10^k for the digits after a decimal point, exact in a double.
constexpr double k_powers_of_ten[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                      1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

/// `[-]digits[.digits]` of at most 15 digits, the form of nearly every step, time and value a
/// series holds: the integer of its digits and the power of ten below it are both exact
/// doubles, so their quotient is the correctly rounded value, as from_chars gives it, at a
/// fraction of its cost. False for anything else.
bool parse_plain_decimal(std::string_view field, double& number) {
  std::size_t at = 0;
  const bool negative = !field.empty() && field[0] == '-';
  at += negative ? 1 : 0;
  std::uint64_t digits = 0;
  std::size_t count = 0;
  std::size_t after_point = 0;
  bool point = false;
  for (; at < field.size(); ++at) {
    const char c = field[at];
    if (c >= '0' && c <= '9') {
      digits = digits * 10 + static_cast<std::uint64_t>(c - '0');
      after_point += point ? 1 : 0;
      if (++count > 15) {
        return false;
      }
    } else if (c == '.' && !point) {
      point = true;
    } else {
      return false;
    }
  }
  if (count == 0 || (point && after_point == 0)) {
    return false;
  }
  const double value = static_cast<double>(digits) / k_powers_of_ten[after_point];
  number = negative ? -value : value;
  return true;
}

/// `field` parsed whole as a number (`nan`, `inf` and `-inf` included).
bool parse_number(std::string_view field, double& number) {
  if (parse_plain_decimal(field, number)) {
    return true;
  }
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

/// Reads `size` bytes of a series file from `offset` (fewer at its end); a read error is an
/// ArchiveError.
std::size_t read_or_throw(int fd, std::uint64_t offset, char* buffer, std::size_t size) {
  const long got = util::read_at(fd, offset, buffer, size);
  if (got < 0) {
    throw ArchiveError(fmt::format("a series file cannot be read: {}", std::strerror(errno)));
  }
  return static_cast<std::size_t>(got);
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

std::string_view SeriesChunks::bytes(std::uint64_t begin, std::uint64_t end) {
  end = std::min(end, m_end);
  if (begin >= end) {
    return {};
  }
  if (begin < m_at || end > m_at + m_buffer.size()) {
    m_at = begin;
    m_buffer.resize(static_cast<std::size_t>(end - begin));
    // Shorter than when it was opened means replaced in place: what is there is read.
    m_buffer.resize(read_or_throw(m_fd, m_at, m_buffer.data(), m_buffer.size()));
  }
  const auto from = static_cast<std::size_t>(begin - m_at);
  return std::string_view(m_buffer).substr(from, static_cast<std::size_t>(end - begin));
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
  const std::size_t got = read_or_throw(m_fd, m_read, m_buffer.data() + kept, wanted);
  m_buffer.resize(kept + got);
  m_read += got;
  if (got < wanted) {
    m_end = m_read;
  }
  return got > 0;
}

} // namespace xrun::ui
