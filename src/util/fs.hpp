// Small POSIX filesystem helpers. Nothing here knows about xrun; errors are std::system_error.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace xrun::util {

/// Writes all of `data` to `fd`, retrying on EINTR and short writes. Throws std::system_error.
void write_all(int fd, std::string_view data, const std::filesystem::path& what);

/// fsyncs a directory so that a rename or mkdir inside it survives a crash. Throws std::system_error.
void fsync_directory(const std::filesystem::path& dir);

/// Creates `dir` and its missing parents. Safe when other processes create the same folders at
/// the same time: a folder that appears between the check and the mkdir counts as created.
/// Throws std::system_error, naming the component that failed.
void make_directories(const std::filesystem::path& dir);

/// The bytes of all regular files under `dir` (0 for a missing folder; unreadable parts are
/// skipped; symbolic links are not followed).
std::uintmax_t tree_size(const std::filesystem::path& dir);

/// The whole content of a file, or nullopt when it does not exist. Throws std::system_error on
/// other errors (permission, I/O, a directory in the way).
std::optional<std::string> read_file(const std::filesystem::path& file);

/// An open file descriptor, closed when it goes.
class FileDescriptor {
public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) : m_fd(fd) {}
  FileDescriptor(FileDescriptor&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}
  FileDescriptor& operator=(FileDescriptor&& other) noexcept;
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor();

  int get() const { return m_fd; }
  bool valid() const { return m_fd >= 0; }

private:
  int m_fd = -1;
};

/// Why a file was not opened or read as a regular file.
enum class FileProblem {
  none,
  missing,     // nothing of that name
  link,        // a symbolic link at or on the way to it (never followed)
  outside,     // the name is absolute or climbs out with `..`
  not_regular, // a folder, FIFO, socket or device
  too_large,   // more bytes than the reader's bound
  unreadable,  // permissions, I/O
};

/// A regular file opened for reading, or why it was not.
struct RegularFile {
  FileDescriptor fd;     // valid when `problem` is none
  std::uintmax_t size = 0; // when it was opened
  FileProblem problem = FileProblem::none;
  std::string why; // what is wrong, to follow the file's name: "is a symbolic link"

  bool ok() const { return problem == FileProblem::none; }
};

/// Opens `relative` (a name, or names joined by '/') inside `folder` for reading, without ever
/// following a symbolic link at or below `folder` (the folder itself is taken as given) and
/// without opening anything but a regular file: a FIFO would block the reader, a device never
/// ends, a link may lead out of the folder. A name that is absolute or has `..` is refused.
RegularFile open_regular_file(const std::filesystem::path& folder, std::string_view relative);

/// The content of a file opened as open_regular_file() opens it, or why there is none; a file
/// of more than `max_size` bytes (also one that grows past it while read) is not read.
struct FileText {
  std::string text;
  FileProblem problem = FileProblem::none;
  std::string why;

  bool ok() const { return problem == FileProblem::none; }
};
FileText read_regular_file(const std::filesystem::path& folder, std::string_view relative,
                           std::uintmax_t max_size);

} // namespace xrun::util

namespace xrun::util {

/// The process's file-creation mask, read without changing it (umask(2) cannot do that
/// without a window in which other threads create files with the wrong mode).
unsigned process_umask();

} // namespace xrun::util
