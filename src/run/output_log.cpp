#include "run/output_log.hpp"

#include "core/diagnostics.hpp"
#include "util/fs.hpp"
#include "xrun/error.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <iostream>
#include <system_error>
#include <unistd.h>

namespace xrun::run {

OutputLog::~OutputLog() {
  close();
}

void OutputLog::close() {
  if (m_fd >= 0) {
    ::close(m_fd);
    m_fd = -1;
  }
}

void OutputLog::open(const std::filesystem::path& file) {
  m_fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0666);
  if (m_fd < 0) {
    throw ArchiveError(fmt::format("cannot create {}: {}", file.string(), std::strerror(errno)));
  }
  m_file = file;
  std::string buffered;
  buffered.swap(m_buffer);
  if (!buffered.empty()) {
    try {
      util::write_all(m_fd, buffered, m_file);
    } catch (const std::system_error& error) {
      throw ArchiveError(fmt::format("cannot write {}: {}", file.string(), error.code().message()));
    }
  }
}

void OutputLog::append(std::string_view line) {
  std::string record(line);
  record.push_back('\n');
  if (m_fd < 0) {
    m_buffer += record;
    return;
  }
  try {
    util::write_all(m_fd, record, m_file);
  } catch (const std::system_error& error) {
    if (!m_reported) {
      m_reported = true;
      core::print_warning(fmt::format("{} (output still shown here)", error.what()));
    }
  }
}

} // namespace xrun::run
