#include "util/fs.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace xrun::util {

namespace {

[[noreturn]] void throw_errno(int error, const std::string& what) {
  throw std::system_error(error, std::generic_category(), what);
}

class FileDescriptor {
public:
  explicit FileDescriptor(int fd) : m_fd(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
  }
  int get() const { return m_fd; }

private:
  int m_fd;
};

} // namespace

void write_all(int fd, std::string_view data, const std::filesystem::path& what) {
  while (!data.empty()) {
    const ssize_t written = ::write(fd, data.data(), data.size());
    if (written < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw_errno(errno, "cannot write " + what.string());
    }
    data.remove_prefix(static_cast<size_t>(written));
  }
}

void fsync_directory(const std::filesystem::path& dir) {
  const FileDescriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) {
    throw_errno(errno, "cannot open folder " + dir.string());
  }
  // Some filesystems (e.g. certain network mounts) do not support fsync on folders; the
  // rename is still atomic there, so EINVAL is not an error worth failing a run over.
  if (::fsync(fd.get()) != 0 && errno != EINVAL && errno != EROFS) {
    throw_errno(errno, "cannot sync folder " + dir.string());
  }
}

void make_directories(const std::filesystem::path& dir) {
  std::filesystem::path current;
  for (const auto& part : dir) {
    current /= part;
    if (part.empty() || part == "/" || part == "." || part == "..") {
      continue;
    }
    if (::mkdir(current.c_str(), 0777) == 0) {
      continue;
    }
    const int error = errno;
    struct stat info {};
    if (error == EEXIST && ::stat(current.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
      continue; // created meanwhile by someone else, or there all along
    }
    if (error == EEXIST) {
      throw_errno(ENOTDIR, "cannot create folder " + current.string() + " (a file is in the way)");
    }
    throw_errno(error, "cannot create folder " + current.string());
  }
}

std::uintmax_t tree_size(const std::filesystem::path& dir) {
  std::uintmax_t total = 0;
  std::error_code error;
  for (std::filesystem::recursive_directory_iterator it(dir, error), end; !error && it != end;
       it.increment(error)) {
    if (it->is_regular_file(error)) {
      total += it->file_size(error);
    }
  }
  return total;
}

std::optional<std::string> read_file(const std::filesystem::path& file) {
  const FileDescriptor fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) {
      return std::nullopt;
    }
    throw_errno(errno, "cannot open " + file.string());
  }
  std::string content;
  char buffer[65536];
  for (;;) {
    const ssize_t got = ::read(fd.get(), buffer, sizeof buffer);
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw_errno(errno, "cannot read " + file.string());
    }
    if (got == 0) {
      break;
    }
    content.append(buffer, static_cast<size_t>(got));
  }
  return content;
}

} // namespace xrun::util

namespace xrun::util {

unsigned process_umask() {
  static const unsigned mask = [] {
    const auto status = read_file("/proc/self/status");
    if (status) {
      const auto at = status->find("\nUmask:");
      if (at != std::string::npos) {
        return static_cast<unsigned>(std::stoul(status->substr(at + 7), nullptr, 8));
      }
    }
    return 022u;
  }();
  return mask;
}

} // namespace xrun::util
