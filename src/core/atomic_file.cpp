#include "core/atomic_file.hpp"

#include "util/fs.hpp"
#include "xrun/error.hpp"

#include <cerrno>
#include <cstdio> // renameat2
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <fmt/format.h>
#include <system_error>
#include <unistd.h>
#include <vector>

namespace xrun::core {

namespace {

[[noreturn]] void fail(const std::filesystem::path& target, const std::string& why) {
  throw ArchiveError(fmt::format("cannot write {}: {}", target.string(), why));
}

} // namespace

AtomicFile::AtomicFile(std::filesystem::path target) : m_target(std::move(target)) {
  const auto folder = m_target.has_parent_path() ? m_target.parent_path() : ".";
  // A dot-name keeps the temp out of listings of the folder; mkstemp makes it unique.
  auto pattern = (folder / ("." + m_target.filename().string() + ".tmp.XXXXXX")).string();
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  m_fd = ::mkostemp(buffer.data(), O_CLOEXEC);
  if (m_fd < 0) {
    fail(m_target, std::strerror(errno));
  }
  m_temp = buffer.data();
  // mkstemp creates 0600; a result file should have the usual permissions.
  ::fchmod(m_fd, 0666 & ~util::process_umask());
}

AtomicFile::~AtomicFile() {
  if (!m_committed) {
    discard();
  }
}

void AtomicFile::write(std::string_view data) {
  if (m_fd < 0) {
    fail(m_target, "the file was already committed or discarded");
  }
  try {
    util::write_all(m_fd, data, m_temp);
  } catch (const std::system_error& error) {
    discard();
    fail(m_target, error.code().message());
  }
}

namespace {

/// Renames `from` to `to` unless `to` exists, in one step; errno EEXIST when it does.
int rename_no_replace(const char* from, const char* to) {
  if (::renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0) {
    return 0;
  }
  if (errno != EINVAL && errno != ENOSYS) {
    return -1;
  }
  // A file system without the flag: a hard link fails the same way on an existing name.
  if (::link(from, to) == 0) {
    ::unlink(from);
    return 0;
  }
  if (errno != EPERM && errno != EOPNOTSUPP && errno != ENOSYS) {
    return -1;
  }
  // Nor with hard links: look, then rename (not one step, but the best there is there).
  struct stat info {};
  if (::lstat(to, &info) == 0) {
    errno = EEXIST;
    return -1;
  }
  return ::rename(from, to);
}

} // namespace

void AtomicFile::commit(bool replace) {
  if (m_fd < 0) {
    fail(m_target, "the file was already committed or discarded");
  }
  if (::fsync(m_fd) != 0) {
    const int error = errno;
    discard();
    fail(m_target, std::strerror(error));
  }
  const int fd = m_fd;
  m_fd = -1;
  if (::close(fd) != 0) {
    const int error = errno;
    discard();
    fail(m_target, std::strerror(error));
  }
  if ((replace ? ::rename(m_temp.c_str(), m_target.c_str())
               : rename_no_replace(m_temp.c_str(), m_target.c_str())) != 0) {
    const int error = errno;
    discard();
    fail(m_target, error == EEXIST ? "it exists already (made while this was written)"
                                   : std::strerror(error));
  }
  m_committed = true;
  try {
    util::fsync_directory(m_target.has_parent_path() ? m_target.parent_path() : ".");
  } catch (const std::system_error& error) {
    fail(m_target, error.code().message());
  }
}

void AtomicFile::discard() noexcept {
  if (m_fd >= 0) {
    ::close(m_fd);
    m_fd = -1;
  }
  if (!m_temp.empty()) {
    ::unlink(m_temp.c_str());
    m_temp.clear();
  }
}

void write_file_atomic(const std::filesystem::path& target, std::string_view content) {
  AtomicFile file(target);
  file.write(content);
  file.commit();
}

} // namespace xrun::core
