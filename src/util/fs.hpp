// Small POSIX filesystem helpers. Nothing here knows about xrun; errors are std::system_error.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace xrun::util {

/// Writes all of `data` to `fd`, retrying on EINTR and short writes. Throws std::system_error.
void write_all(int fd, std::string_view data, const std::filesystem::path& what);

/// fsyncs a directory so that a rename or mkdir inside it survives a crash. Throws std::system_error.
void fsync_directory(const std::filesystem::path& dir);

/// Reads up to `size` bytes of `fd` from `offset` into `buffer` (pread, again after EINTR and
/// short reads): fewer only at the file's end. Returns the count, or -1 with errno set.
long read_at(int fd, std::uint64_t offset, char* buffer, std::size_t size);

/// Up to `size` bytes of `fd` from `offset` as read_at() reads them: fewer at the file's end,
/// and only those read before an error.
std::string read_at(int fd, std::uint64_t offset, std::size_t size);

/// fsyncs a regular file, so that its content survives a crash. Throws std::system_error.
void fsync_file(const std::filesystem::path& file);

/// Creates `dir` and its missing parents, each with `mode` (less the umask). Safe when other
/// processes create the same folders at the same time: a folder that appears between the check
/// and the mkdir counts as there already. Returns the folders this call created, parents first.
/// Throws std::system_error, naming the component that failed, after removing what it created.
std::vector<std::filesystem::path> make_directories(const std::filesystem::path& dir,
                                                    unsigned mode = 0777);

/// Creates `file`, which must not exist, with `content` and the usual mode (0666 less the
/// umask); no link is followed and nothing is synced (see fsync_file). A file that could not be
/// written whole is removed. Throws std::system_error.
void write_new_file(const std::filesystem::path& file, std::string_view content);

/// Renames `from` to `to` unless `to` exists, in one step where the file system allows it;
/// returns 0, or -1 with errno (EEXIST when `to` exists; ENOTEMPTY for a folder in the way).
int rename_no_replace(const std::filesystem::path& from, const std::filesystem::path& to);

/// Creates the folders of `relative` under `root`, each private to this user (mode 0700), or
/// takes them as they are when they are: real folders (no link is followed) owned by this
/// user and writable by nobody else. `root` may be a link; it is created (0700) when missing,
/// and it and the folders above it must belong to this user or root and must not be writable
/// by others (unless sticky, as /tmp). So no other user can put files where this process
/// takes code from. Returns nullopt, or why a folder is not private, naming it.
std::optional<std::string> make_private_directories(const std::filesystem::path& root,
                                                    const std::filesystem::path& relative);

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

/// The folder holding the last name of `relative` inside `folder`, reached as
/// open_regular_file() reaches it (no link followed below `folder`), for making a file there
/// with `openat`: `at` is invalid and `why` says why when it cannot be.
struct FolderAt {
  FileDescriptor at; // O_PATH
  std::string name;  // the last name of `relative`
  std::string why;
};
FolderAt open_folder_of(const std::filesystem::path& folder, std::string_view relative);

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
