// experiment_out.log: everything the experiment printed, line by line as it arrives.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace xrun::run {

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
