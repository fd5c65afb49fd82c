// Newline-framed text: lines cut out of bytes that arrive in chunks of any size.
#pragma once

#include <string>
#include <string_view>

namespace xrun::util {

/// What a `\r` in the bytes means.
enum class CarriageReturn {
  kept,        // an ordinary byte of the line
  line_end,    // one right before the `\n` is part of the line end (`\r\n`); others are kept
  starts_over, // the line starts over (a progress bar redrawing itself): its last state is
               // kept; `\r\n` is a line end
  each_state,  // as starts_over, but every state is a line of its own
  dropped,     // a line that redraws itself is dropped whole (no progress bars at all)
};

/// Cuts the bytes of one stream into lines. The bytes after the last `\n` wait for the next
/// feed(), or for finish().
class LineReader {
public:
  explicit LineReader(CarriageReturn carriage_return = CarriageReturn::kept)
      : m_carriage_return(carriage_return) {}

  /// Feeds bytes; calls `emit(line)` (without the line end) for every completed line.
  template <class Emit> void feed(std::string_view bytes, Emit&& emit) {
    for (const char c : bytes) {
      if (m_pending_cr) {
        m_pending_cr = false;
        if (c != '\n') {
          start_over(emit);
        }
      }
      if (c == '\n') {
        if (!m_redrawn || m_carriage_return != CarriageReturn::dropped) {
          emit(std::string_view(m_line));
        }
        m_line.clear();
        m_redrawn = false;
      } else if (c == '\r' && m_carriage_return != CarriageReturn::kept) {
        m_pending_cr = true;
      } else {
        m_line.push_back(c);
      }
    }
  }

  /// Emits a last line that ended without a newline (if it holds anything), and starts over.
  template <class Emit> void finish(Emit&& emit) {
    if (m_pending_cr && m_carriage_return == CarriageReturn::line_end) {
      m_line.push_back('\r');
    }
    if (m_pending_cr && m_carriage_return == CarriageReturn::dropped) {
      m_redrawn = true; // it ended while redrawing itself
    }
    m_pending_cr = false;
    if (!m_line.empty() && (!m_redrawn || m_carriage_return != CarriageReturn::dropped)) {
      emit(std::string_view(m_line));
    }
    m_line.clear();
    m_redrawn = false;
  }

private:
  /// A `\r` not before `\n`: what becomes of the line so far.
  template <class Emit> void start_over(Emit&& emit) {
    switch (m_carriage_return) {
    case CarriageReturn::kept:
    case CarriageReturn::line_end:
      m_line.push_back('\r');
      return;
    case CarriageReturn::each_state:
      if (!m_line.empty()) {
        emit(std::string_view(m_line));
      }
      break;
    case CarriageReturn::starts_over:
    case CarriageReturn::dropped:
      break;
    }
    m_redrawn = true;
    m_line.clear();
  }

  CarriageReturn m_carriage_return;
  std::string m_line;
  bool m_pending_cr = false;
  bool m_redrawn = false; // the line started over since its last `\n`
};

} // namespace xrun::util
