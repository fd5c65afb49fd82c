// Creating run folders: `<base>/<namespace>/<run id>/`.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace xrun {

/// How a run's folder is named, from the special parameters.
struct RunNaming {
  std::string prefix{}; // __PREFIX__: the folder is `<prefix>__<id>`
  bool debug = false; // __DEBUG__: the folder is `debug`, replacing the previous debug run
};

/// Where run ids get their time and their random part. Tests substitute both.
struct RunIdSource {
  std::function<std::chrono::system_clock::time_point()> now;
  std::function<std::string()> suffix;

  /// The wall clock and four characters from the kernel's random source.
  static RunIdSource system();
};

/// A run folder that this process created and owns.
struct RunFolder {
  std::filesystem::path path;
  std::string id; // the folder's name
  std::chrono::system_clock::time_point created;
};

/// `2026-11-23_13-21-17-482_k3x9` (UTC, milliseconds, random suffix), or `<prefix>__` before it.
/// Ids with the same prefix sort chronologically as plain strings.
std::string format_run_id(std::chrono::system_clock::time_point time, std::string_view suffix,
                          std::string_view prefix = {});

/// `<base>/<namespace>` after checking that `ns` is a relative path without `..`.
/// Throws ConfigError naming the namespace.
std::filesystem::path namespace_path(const std::filesystem::path& base, std::string_view ns);

/// Creates the namespace folders under the existing `base` (race-free: other processes may
/// create the same folders at the same time) and returns the namespace folder.
/// Throws ArchiveError when `base` does not exist or a folder cannot be created.
std::filesystem::path ensure_namespace(const std::filesystem::path& base, std::string_view ns);

/// Throws UsageError when `prefix` (the parameter __PREFIX__) cannot begin a folder name.
void check_prefix(std::string_view prefix);

/// Creates a new, empty run folder in `namespace_dir` with an exclusive mkdir, drawing a new id
/// on every collision, so that any number of processes on any number of hosts can create runs in
/// one namespace in the same instant. Throws ArchiveError (or UsageError for a bad prefix).
RunFolder create_run_folder(const std::filesystem::path& namespace_dir, const RunNaming& naming,
                            const RunIdSource& source = RunIdSource::system());

} // namespace xrun
