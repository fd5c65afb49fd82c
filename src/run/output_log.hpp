// experiment_out.log: everything the experiment printed, line by line as it arrives.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace xrun::run {

/// Turns the raw bytes of one output stream into log lines: a `\r` that is not part of `\r\n`
/// starts the line over (a progress bar redrawing itself), so only its last state is kept.
class LineCollector {
public:
  /// Feeds bytes; calls `emit(line)` (without the newline) for every completed line.
  template <class Emit> void feed(std::string_view bytes, Emit&& emit) {
    for (const char c : bytes) {
      if (m_pending_cr) {
        m_pending_cr = false;
        if (c != '\n') {
          m_line.clear();
        }
      }
      if (c == '\n') {
        emit(m_line);
        m_line.clear();
      } else if (c == '\r') {
        m_pending_cr = true;
      } else {
        m_line.push_back(c);
      }
    }
  }

  /// Emits a last line that ended without a newline.
  template <class Emit> void finish(Emit&& emit) {
    if (!m_line.empty()) {
      emit(m_line);
      m_line.clear();
    }
    m_pending_cr = false;
  }

private:
  std::string m_line;
  bool m_pending_cr = false;
};

/// The log file of a run. Lines that arrive before the run folder exists are kept in memory
/// and written when open() is called.
class OutputLog {
public:
  OutputLog() = default;
  OutputLog(const OutputLog&) = delete;
  OutputLog& operator=(const OutputLog&) = delete;
  ~OutputLog();

  /// Opens (appending) the log file and writes what was buffered. Throws ArchiveError.
  void open(const std::filesystem::path& file);

  /// The name the open log file goes by now (its folder was renamed), for messages.
  void renamed(const std::filesystem::path& file) { m_file = file; }

  /// Closes the log file: lines are kept in memory again (the run it belonged to was not
  /// recorded).
  void close();

  /// Appends one line. Write errors are reported once on stderr and do not stop the run:
  /// the terminal still shows the output and the meta still records the outcome.
  void append(std::string_view line);

private:
  int m_fd = -1;
  std::filesystem::path m_file;
  std::string m_buffer;
  bool m_reported = false;
};

} // namespace xrun::run
