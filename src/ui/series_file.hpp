// Reading a tracked series file (`.track/<name>.csv`, see the README's run folder table) a
// range of bytes at a time: the viewer never holds a whole series in memory, and a summary
// block names the bytes of its lines so that they can be read again alone.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace xrun::ui {

/// One point of a series file. `stage` points into the line it was parsed from.
struct SeriesPoint {
  double step = 0;
  double value = 0;
  double time = 0;
  std::string_view stage;
};

/// Parses a line (without its `\n`) of `step,value,time,stage`, or of the older
/// `step,value,time`: `value` may be `nan`, `inf` or `-inf`, the step and time must be finite.
/// False for anything else: the header, a line damaged by hand.
bool parse_series_line(std::string_view line, SeriesPoint& point);

/// Reads the complete lines of an open file between two byte offsets in chunks (pread, so
/// readers on other threads share the descriptor safely). The bytes after the last `\n` before
/// `end` are a line still being written (or cut by a kill) and are left alone.
class SeriesLineReader {
public:
  SeriesLineReader(int fd, std::uint64_t begin, std::uint64_t end)
      : m_fd(fd), m_offset(begin), m_end(end), m_read(begin) {}

  /// The next complete line (without its `\n`) and the offset of its first byte; false at
  /// the end. Throws ArchiveError when the file cannot be read.
  bool next(std::string_view& line, std::uint64_t& line_offset);

  /// The offset after the last line returned.
  std::uint64_t offset() const { return m_offset; }

private:
  bool fill();

  int m_fd;
  std::uint64_t m_offset; // of the first byte not yet returned
  std::uint64_t m_end;
  std::uint64_t m_read; // offset of the byte after the buffer
  std::string m_buffer;
  std::size_t m_start = 0;   // of the first byte not yet returned, in m_buffer
  std::size_t m_scanned = 0; // bytes of m_buffer known to hold no `\n` after m_start
};

/// Reads byte ranges of an open series file through one buffer: a range inside the last one
/// read (a block of a group read whole) costs no read.
class SeriesChunks {
public:
  SeriesChunks(int fd, std::uint64_t end) : m_fd(fd), m_end(end) {}

  /// The bytes [begin, end) of the file (fewer when it is shorter now). Valid until the next
  /// call. Throws ArchiveError when the file cannot be read.
  std::string_view bytes(std::uint64_t begin, std::uint64_t end);

private:
  int m_fd;
  std::uint64_t m_end; // of what may be read
  std::string m_buffer;
  std::uint64_t m_at = 0; // offset of m_buffer's first byte
};

/// Calls `visit(point)` for each point of `lines` (whole lines, each ending with `\n`; a last
/// one without is left alone), in order.
template <class Visit> void for_each_point_in(std::string_view lines, Visit&& visit) {
  SeriesPoint point;
  for (;;) {
    const auto newline = lines.find('\n');
    if (newline == std::string_view::npos) {
      return;
    }
    if (parse_series_line(lines.substr(0, newline), point)) {
      visit(point);
    }
    lines.remove_prefix(newline + 1);
  }
}

/// Calls `visit(point, line_offset, next_offset)` for every point between `begin` and `end`,
/// in file order, until it returns false. Returns the offset after the last line visited.
template <class Visit>
std::uint64_t for_each_point(int fd, std::uint64_t begin, std::uint64_t end, Visit&& visit) {
  SeriesLineReader reader(fd, begin, end);
  std::string_view line;
  std::uint64_t line_offset = 0;
  SeriesPoint point;
  while (reader.next(line, line_offset)) {
    if (parse_series_line(line, point) && !visit(point, line_offset, reader.offset())) {
      break;
    }
  }
  return reader.offset();
}

} // namespace xrun::ui
