// Small POSIX filesystem helpers. Nothing here knows about xrun; errors are std::system_error.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

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
