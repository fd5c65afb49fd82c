// Creating run folders: `<base>/<namespace>/<run id>/`.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

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
/// create the same folders at the same time) and returns the namespace folder; the folders
/// this call created are added to `created` (parents first) when it is given. Throws
/// ConfigError when `base` is not an existing folder, ArchiveError when a folder cannot be
/// created.
std::filesystem::path ensure_namespace(const std::filesystem::path& base, std::string_view ns,
                                       std::vector<std::filesystem::path>* created = nullptr);

/// Throws UsageError when `prefix` (the parameter __PREFIX__) cannot begin a folder name.
void check_prefix(std::string_view prefix);

/// Creates a new, empty run folder in `namespace_dir` with an exclusive mkdir, drawing a new id
/// on every collision, so that any number of processes on any number of hosts can create runs in
/// one namespace in the same instant. Throws ArchiveError (or UsageError for a bad prefix).
RunFolder create_run_folder(const std::filesystem::path& namespace_dir, const RunNaming& naming,
                            const RunIdSource& source = RunIdSource::system());

/// A run folder prepared out of sight: the hidden folder `.<id>.starting` in the namespace
/// folder, which becomes the run's folder once everything its run starts with is written.
/// (One left behind is a start that never completed: its supervisor was killed meanwhile.)
struct StagedRunFolder {
  std::filesystem::path staging;
  RunFolder run; // the folder it becomes
};

/// Creates the hidden folder of a new run in `namespace_dir` and draws the run's id. A debug
/// run still alive in `debug` is refused here, before anything is written. Throws ArchiveError
/// (UsageError for a bad prefix or a live debug run).
StagedRunFolder stage_run_folder(const std::filesystem::path& namespace_dir,
                                 const RunNaming& naming,
                                 const RunIdSource& source = RunIdSource::system());

/// Renames the staged folder to its run's name in one step, so that a reader sees the whole
/// folder or none. When another run took that id meanwhile, draws a new id and calls
/// `renamed(folder)` (to rewrite what records the id) before trying again. A debug run takes
/// the place of the previous `debug` folder, which is deleted. Nothing is fsynced. Returns the
/// run's folder. Throws ArchiveError (UsageError when a debug run came alive meanwhile).
RunFolder publish_run_folder(const StagedRunFolder& staged, const RunNaming& naming,
                             const std::function<void(const RunFolder&)>& renamed,
                             const RunIdSource& source = RunIdSource::system());

} // namespace xrun
