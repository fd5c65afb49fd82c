// A progress line for long operations, drawn on stderr only when stderr is a terminal.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace xrun::util {

class Progress {
public:
  /// `total` items (0 when unknown: a count without a bar), named `unit` ("runs").
  Progress(std::string label, std::uint64_t total, std::string unit);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  /// `items` more done, `bytes` more handled (for the rate). Redraws at most ten times a
  /// second.
  void advance(std::uint64_t items, std::uint64_t bytes = 0);

  /// Clears the line (also done on destruction), so what follows starts on a clean line.
  void finish();

  /// Whether anything is drawn: stderr is a terminal and XRUN_NO_PROGRESS is not set.
  bool shown() const { return m_shown; }

private:
  void draw();

  std::string m_label;
  std::string m_unit;
  std::uint64_t m_total;
  std::uint64_t m_done = 0;
  std::uint64_t m_bytes = 0;
  std::chrono::steady_clock::time_point m_start;
  std::chrono::steady_clock::time_point m_last_draw;
  bool m_shown;
  bool m_drawn = false;
};

} // namespace xrun::util
