// Small POSIX filesystem helpers. Nothing here knows about xrun; errors are std::system_error.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xrun::util {

/// Writes all of `data` to `fd`, retrying on EINTR and short writes. Throws std::system_error.
void write_all(int fd, std::string_view data, const std::filesystem::path& what);

/// fsyncs a directory so that a rename or mkdir inside it survives a crash. Throws std::system_error.
void fsync_directory(const std::filesystem::path& dir);

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
/// skipped).
std::uintmax_t tree_size(const std::filesystem::path& dir);

/// The whole content of a file, or nullopt when it does not exist. Throws std::system_error on
/// other errors (permission, I/O, a directory in the way).
std::optional<std::string> read_file(const std::filesystem::path& file);

} // namespace xrun::util

namespace xrun::util {

/// The process's file-creation mask, read without changing it (umask(2) cannot do that
/// without a window in which other threads create files with the wrong mode).
unsigned process_umask();

} // namespace xrun::util
