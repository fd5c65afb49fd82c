#include "core/atomic_file.hpp"

#include "util/fs.hpp"
#include "util/random.hpp"
#include "xrun/error.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <vector>

namespace xrun::core {

namespace {

[[noreturn]] void fail(const std::filesystem::path& target, const std::string& why) {
  throw ArchiveError(fmt::format("cannot write {}: {}", target.string(), why));
}

/// Whether a file opened with O_TMPFILE can be given a name: linkat() through /proc (the
/// AT_EMPTY_PATH way needs a capability).
bool can_name_unnamed_files() {
  static const bool available = ::access("/proc/self/fd", X_OK) == 0;
  return available;
}

std::string proc_fd_path(int fd) {
  return fmt::format("/proc/self/fd/{}", fd);
}

} // namespace

AtomicFile::AtomicFile(std::filesystem::path target) : m_target(std::move(target)) {
  const auto folder = m_target.has_parent_path() ? m_target.parent_path() : ".";
  // An unnamed file while it is written: a process killed meanwhile leaves nothing in the
  // folder. File systems without O_TMPFILE get a named temp file.
  if (can_name_unnamed_files()) {
    m_fd = ::open(folder.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
    if (m_fd >= 0) {
      return;
    }
  }
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
    util::write_all(m_fd, data, m_temp.empty() ? m_target : m_temp);
  } catch (const std::system_error& error) {
    discard();
    fail(m_target, error.code().message());
  }
}

void AtomicFile::commit(bool replace, FolderSync folder_sync) {
  if (m_fd < 0) {
    fail(m_target, "the file was already committed or discarded");
  }
  if (::fsync(m_fd) != 0) {
    const int error = errno;
    discard();
    fail(m_target, std::strerror(error));
  }
  if (m_temp.empty() && !replace) {
    // The unnamed file becomes the target in one step, or not at all when it exists.
    if (::linkat(AT_FDCWD, proc_fd_path(m_fd).c_str(), AT_FDCWD, m_target.c_str(),
                 AT_SYMLINK_FOLLOW) != 0) {
      const int error = errno;
      discard();
      fail(m_target, error == EEXIST ? "it exists already (made while this was written)"
                                     : std::strerror(error));
    }
    m_committed = true;
  } else if (m_temp.empty()) {
    // A name of its own first (rename replaces atomically; a link cannot): it exists only
    // between these two calls.
    const auto folder = m_target.has_parent_path() ? m_target.parent_path() : ".";
    for (int attempt = 0; m_temp.empty(); ++attempt) {
      const auto temp =
          folder / ("." + m_target.filename().string() + ".tmp." + util::random_token(6));
      if (::linkat(AT_FDCWD, proc_fd_path(m_fd).c_str(), AT_FDCWD, temp.c_str(),
                   AT_SYMLINK_FOLLOW) == 0) {
        m_temp = temp;
      } else if (errno != EEXIST || attempt >= 100) {
        const int error = errno;
        discard();
        fail(m_target, std::strerror(error));
      }
    }
  }
  const int fd = m_fd;
  m_fd = -1;
  if (::close(fd) != 0) {
    const int error = errno;
    discard();
    fail(m_target, std::strerror(error));
  }
  if (!m_committed && (replace ? ::rename(m_temp.c_str(), m_target.c_str())
                               : util::rename_no_replace(m_temp, m_target)) != 0) {
    const int error = errno;
    discard();
    fail(m_target, error == EEXIST ? "it exists already (made while this was written)"
                                   : std::strerror(error));
  }
  m_committed = true;
  if (folder_sync == FolderSync::by_caller) {
    return;
  }
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

void write_file_atomic(const std::filesystem::path& target, std::string_view content,
                       FolderSync folder_sync) {
  AtomicFile file(target);
  file.write(content);
  file.commit(true, folder_sync);
}

} // namespace xrun::core
