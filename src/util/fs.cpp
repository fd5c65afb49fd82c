#include "util/fs.hpp"

#include "util/strings.hpp"

#include <cerrno>
#include <cstdio> // renameat2
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <optional>
#include <variant>
#include <vector>

namespace xrun::util {

namespace {

[[noreturn]] void throw_errno(int error, const std::string& what) {
  throw std::system_error(error, std::generic_category(), what);
}

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

long read_at(int fd, std::uint64_t offset, char* buffer, std::size_t size) {
  std::size_t got = 0;
  while (got < size) {
    const ssize_t n = ::pread(fd, buffer + got, size - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return -1;
    }
    if (n == 0) {
      break;
    }
    got += static_cast<std::size_t>(n);
  }
  return static_cast<long>(got);
}

std::string read_at(int fd, std::uint64_t offset, std::size_t size) {
  std::string bytes(size, '\0');
  const long got = read_at(fd, offset, bytes.data(), size);
  bytes.resize(got < 0 ? 0 : static_cast<std::size_t>(got));
  return bytes;
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

void fsync_file(const std::filesystem::path& file) {
  const FileDescriptor fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) {
    throw_errno(errno, "cannot open " + file.string());
  }
  if (::fsync(fd.get()) != 0) {
    throw_errno(errno, "cannot sync " + file.string());
  }
}

std::vector<std::filesystem::path> make_directories(const std::filesystem::path& dir,
                                                    unsigned mode) {
  std::vector<std::filesystem::path> created;
  std::filesystem::path current;
  for (const auto& part : dir) {
    current /= part;
    if (part.empty() || part == "/" || part == "." || part == "..") {
      continue;
    }
    if (::mkdir(current.c_str(), mode) == 0) {
      created.push_back(current);
      continue;
    }
    const int error = errno;
    struct stat info {};
    if (error == EEXIST && ::stat(current.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
      continue; // created meanwhile by someone else, or there all along
    }
    // What this call made is taken back (unless someone put something in it meanwhile).
    for (auto it = created.rbegin(); it != created.rend(); ++it) {
      ::rmdir(it->c_str());
    }
    if (error == EEXIST) {
      throw_errno(ENOTDIR, "cannot create folder " + current.string() + " (a file is in the way)");
    }
    throw_errno(error, "cannot create folder " + current.string());
  }
  return created;
}

void write_new_file(const std::filesystem::path& file, std::string_view content) {
  const FileDescriptor fd(
      ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666));
  if (fd.get() < 0) {
    throw_errno(errno, "cannot create " + file.string());
  }
  try {
    write_all(fd.get(), content, file);
  } catch (const std::system_error&) {
    ::unlink(file.c_str());
    throw;
  }
}

int rename_no_replace(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) {
    return 0;
  }
  if (errno != EINVAL && errno != ENOSYS) {
    return -1;
  }
  // A file system without the flag: a hard link fails the same way on an existing name.
  if (::link(from.c_str(), to.c_str()) == 0) {
    ::unlink(from.c_str());
    return 0;
  }
  if (errno != EPERM && errno != EOPNOTSUPP && errno != ENOSYS) {
    return -1;
  }
  // Nor with hard links (or a folder, which cannot have them): look, then rename (not one
  // step, but the best there is there; a folder is never renamed over one that has files).
  struct stat info {};
  if (::lstat(to.c_str(), &info) == 0) {
    errno = EEXIST;
    return -1;
  }
  return ::rename(from.c_str(), to.c_str());
}

namespace {

/// Why a folder this user takes code from is not safe: the owner, then the mode.
std::optional<std::string> foreign(const std::filesystem::path& dir, const struct stat& info,
                                   bool ancestor) {
  const uid_t self = ::geteuid();
  if (info.st_uid != self && !(ancestor && info.st_uid == 0)) {
    return dir.string() + " belongs to user " + std::to_string(info.st_uid);
  }
  const bool sticky = (info.st_mode & S_ISVTX) != 0;
  if (ancestor ? ((info.st_mode & S_IWOTH) && !sticky) : (info.st_mode & (S_IWGRP | S_IWOTH))) {
    return dir.string() + " is writable by other users";
  }
  return std::nullopt;
}

} // namespace

std::optional<std::string> make_private_directories(const std::filesystem::path& root,
                                                    const std::filesystem::path& relative) {
  try {
    make_directories(root, 0700);
  } catch (const std::system_error& error) {
    return std::string(error.what());
  }
  std::error_code error;
  const auto real = std::filesystem::canonical(root, error);
  if (error) {
    return root.string() + ": " + error.message();
  }
  for (auto dir = real;; dir = dir.parent_path()) {
    struct stat info {};
    if (::stat(dir.c_str(), &info) != 0) {
      return dir.string() + ": " + std::strerror(errno);
    }
    if (auto problem = foreign(dir, info, true)) {
      return problem;
    }
    if (dir == dir.root_path()) {
      break;
    }
  }
  auto current = root;
  for (const auto& part : relative) {
    current /= part;
    if (::mkdir(current.c_str(), 0700) != 0 && errno != EEXIST) {
      return current.string() + ": " + std::strerror(errno);
    }
    struct stat info {};
    if (::lstat(current.c_str(), &info) != 0) {
      return current.string() + ": " + std::strerror(errno);
    }
    if (!S_ISDIR(info.st_mode)) {
      return current.string() + " is not a folder" +
             (S_ISLNK(info.st_mode) ? std::string(" but a link") : std::string());
    }
    if (auto problem = foreign(current, info, false)) {
      return problem;
    }
  }
  return std::nullopt;
}

std::uintmax_t tree_size(const std::filesystem::path& dir) {
  std::uintmax_t total = 0;
  std::error_code error;
  for (std::filesystem::recursive_directory_iterator it(dir, error), end; !error && it != end;
       it.increment(error)) {
    // A link is counted as itself, never as what it points to (a file outside, a device).
    if (std::filesystem::is_regular_file(it->symlink_status(error))) {
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

FileDescriptor& FileDescriptor::operator=(FileDescriptor&& other) noexcept {
  if (this != &other) {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
    m_fd = std::exchange(other.m_fd, -1);
  }
  return *this;
}

FileDescriptor::~FileDescriptor() {
  if (m_fd >= 0) {
    ::close(m_fd);
  }
}

namespace {

std::string_view kind_of(mode_t mode) {
  if (S_ISDIR(mode)) {
    return "a folder";
  }
  if (S_ISFIFO(mode)) {
    return "a FIFO";
  }
  if (S_ISSOCK(mode)) {
    return "a socket";
  }
  if (S_ISCHR(mode) || S_ISBLK(mode)) {
    return "a device";
  }
  return "not a regular file";
}

RegularFile refused(FileProblem problem, std::string why) {
  RegularFile file;
  file.problem = problem;
  file.why = std::move(why);
  return file;
}

/// What is at `name` in `folder_fd` when opening it failed with `error`: the open flags make
/// a link, a FIFO and a folder fail alike, so the entry itself tells them apart.
RegularFile why_not(int folder_fd, const std::string& name, int error) {
  struct stat info {};
  if (::fstatat(folder_fd, name.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0) {
    return errno == ENOENT ? refused(FileProblem::missing, "does not exist")
                           : refused(FileProblem::unreadable,
                                     fmt::format("cannot be read: {}", std::strerror(errno)));
  }
  if (S_ISLNK(info.st_mode)) {
    return refused(FileProblem::link, "is a symbolic link");
  }
  if (!S_ISREG(info.st_mode)) {
    return refused(FileProblem::not_regular,
                   fmt::format("is {}, not a regular file", kind_of(info.st_mode)));
  }
  return refused(FileProblem::unreadable,
                 fmt::format("cannot be read: {}", std::strerror(error)));
}

} // namespace

namespace {

/// The folders of `parts` but the last, opened one after another below `at` without following
/// a link; `at` then holds the last of them. Returns why not when one cannot be.
std::optional<RegularFile> walk_folders(FileDescriptor& at, const std::vector<std::string>& parts,
                                        std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    FileDescriptor next(
        ::openat(at.get(), parts[i].c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next.valid()) {
      const int error = errno;
      auto problem = why_not(at.get(), parts[i], error);
      if (problem.problem == FileProblem::link) {
        problem.why = fmt::format("goes through the symbolic link {}", parts[i]);
      } else if (problem.problem == FileProblem::not_regular ||
                 (problem.problem == FileProblem::unreadable && error == ENOTDIR)) {
        problem = refused(FileProblem::missing,
                          fmt::format("does not exist ({} is not a folder)", parts[i]));
      }
      return problem;
    }
    at = std::move(next);
  }
  return std::nullopt;
}

/// The names of `relative`, or why it names nothing inside its folder.
std::variant<std::vector<std::string>, RegularFile> relative_parts(std::string_view relative) {
  std::vector<std::string> parts;
  for (const auto& part : split(relative, '/')) {
    if (part == "..") {
      return refused(FileProblem::outside, "climbs out of its folder with '..'");
    }
    if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
  }
  if (relative.starts_with('/') || parts.empty()) {
    return refused(FileProblem::outside, "does not name a file inside its folder");
  }
  return parts;
}

FileDescriptor open_given_folder(const std::filesystem::path& folder) {
  return FileDescriptor(::open(folder.empty() ? "." : folder.c_str(),
                               O_PATH | O_DIRECTORY | O_CLOEXEC));
}

} // namespace

FolderAt open_folder_of(const std::filesystem::path& folder, std::string_view relative) {
  auto parsed = relative_parts(relative);
  if (auto* refusal = std::get_if<RegularFile>(&parsed)) {
    return {FileDescriptor(), {}, refusal->why};
  }
  auto& parts = std::get<std::vector<std::string>>(parsed);
  FileDescriptor at = open_given_folder(folder);
  if (!at.valid()) {
    return {FileDescriptor(), {}, fmt::format("cannot be opened: {}", std::strerror(errno))};
  }
  if (auto problem = walk_folders(at, parts, parts.size() - 1)) {
    return {FileDescriptor(), {}, problem->why};
  }
  return {std::move(at), parts.back(), {}};
}

RegularFile open_regular_file(const std::filesystem::path& folder, std::string_view relative) {
  auto parsed = relative_parts(relative);
  if (auto* refusal = std::get_if<RegularFile>(&parsed)) {
    return std::move(*refusal);
  }
  auto& parts = std::get<std::vector<std::string>>(parsed);
  // The folder as given (it may be reached through links the user made), then each step
  // below it without following any. A file directly inside needs no descriptor of the folder:
  // O_NOFOLLOW guards the last step of its path.
  FileDescriptor at;
  std::string last = parts.back();
  if (parts.size() == 1) {
    last = (folder.empty() ? std::filesystem::path(".") : folder / last).string();
  } else {
    at = open_given_folder(folder);
    if (!at.valid()) {
      return errno == ENOENT || errno == ENOTDIR
                 ? refused(FileProblem::missing, "does not exist (nor does its folder)")
                 : refused(FileProblem::unreadable,
                           fmt::format("cannot be read: {}", std::strerror(errno)));
    }
  }
  if (auto problem = walk_folders(at, parts, parts.size() - 1)) {
    return std::move(*problem);
  }
  const int last_at = at.valid() ? at.get() : AT_FDCWD;
  RegularFile file;
  // O_NONBLOCK: a FIFO opens at once (to be refused below) instead of waiting for a writer.
  file.fd = FileDescriptor(::openat(last_at, last.c_str(),
                                    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!file.fd.valid()) {
    return why_not(last_at, last, errno);
  }
  struct stat info {};
  if (::fstat(file.fd.get(), &info) != 0) {
    return refused(FileProblem::unreadable, fmt::format("cannot be read: {}", std::strerror(errno)));
  }
  if (!S_ISREG(info.st_mode)) {
    return refused(FileProblem::not_regular,
                   fmt::format("is {}, not a regular file", kind_of(info.st_mode)));
  }
  file.size = static_cast<std::uintmax_t>(info.st_size);
  return file;
}

FileText read_regular_file(const std::filesystem::path& folder, std::string_view relative,
                           std::uintmax_t max_size) {
  FileText result;
  auto file = open_regular_file(folder, relative);
  const auto too_large = [&] {
    result.text.clear();
    result.problem = FileProblem::too_large;
    result.why = fmt::format("is larger than {}", format_bytes(static_cast<double>(max_size)));
    return std::move(result);
  };
  if (!file.ok()) {
    result.problem = file.problem;
    result.why = std::move(file.why);
    return result;
  }
  if (file.size > max_size) {
    return too_large();
  }
  result.text.reserve(static_cast<std::size_t>(file.size));
  char buffer[65536];
  for (;;) {
    const ssize_t got = ::read(file.fd.get(), buffer, sizeof buffer);
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      result.text.clear();
      result.problem = FileProblem::unreadable;
      result.why = fmt::format("cannot be read: {}", std::strerror(errno));
      return result;
    }
    if (got == 0) {
      return result;
    }
    if (result.text.size() + static_cast<std::size_t>(got) > max_size) {
      return too_large(); // it grew while being read
    }
    result.text.append(buffer, static_cast<std::size_t>(got));
  }
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
