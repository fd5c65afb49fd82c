#include "xrun/run_folder.hpp"

#include "util/fs.hpp"
#include "util/random.hpp"
#include "util/time.hpp"
#include "xrun/error.hpp"
#include "xrun/meta.hpp"

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <sys/stat.h>
#include <system_error>

namespace xrun {

namespace {

constexpr int k_max_attempts = 1000;
constexpr std::size_t k_suffix_length = 4;
// A running debug run whose heartbeat (written every few seconds) is younger than this is alive.
constexpr double k_debug_alive_seconds = 60.0;

[[noreturn]] void fail_create(const std::filesystem::path& path, int error) {
  throw ArchiveError(
      fmt::format("cannot create run folder {}: {}", path.string(), std::strerror(error)));
}

/// Replacing a debug run that is still going on would have two runs write into one folder.
void refuse_live_debug_run(const std::filesystem::path& path) {
  RunMeta meta;
  try {
    meta = read_meta(path);
  } catch (const Error&) {
    return; // no meta, or a broken one: nothing alive to protect
  }
  const double now = util::to_epoch_seconds(util::Clock::now());
  if (meta.status == RunStatus::running && now - meta.heartbeat < k_debug_alive_seconds) {
    throw UsageError(fmt::format("a debug run is still running in {} (host {}, pid {})",
                                 path.string(), meta.host, meta.pid),
                     "wait for it to end, stop it, or run without __DEBUG__");
  }
}

/// Moves the previous debug run out of the way (atomically: no run ever writes into a
/// half-deleted folder) and returns where it went, or an empty path when there was none.
std::filesystem::path move_debug_aside(const std::filesystem::path& path) {
  refuse_live_debug_run(path);
  const auto aside = path.parent_path() / (".debug.old." + util::random_token(8));
  if (::rename(path.c_str(), aside.c_str()) != 0) {
    if (errno == ENOENT) {
      return {};
    }
    fail_create(path, errno);
  }
  return aside;
}

} // namespace

RunIdSource RunIdSource::system() {
  return {[] { return std::chrono::system_clock::now(); },
          [] { return util::random_token(k_suffix_length); }};
}

std::string format_run_id(std::chrono::system_clock::time_point time, std::string_view suffix,
                          std::string_view prefix) {
  const auto t = util::to_utc(time);
  const auto id = fmt::format("{:04}-{:02}-{:02}_{:02}-{:02}-{:02}-{:03}_{}", t.year, t.month, t.day,
                              t.hour, t.minute, t.second, t.millisecond, suffix);
  return prefix.empty() ? id : fmt::format("{}__{}", prefix, id);
}

std::filesystem::path namespace_path(const std::filesystem::path& base, std::string_view ns) {
  const std::filesystem::path relative(ns);
  if (ns.empty() || relative.is_absolute()) {
    throw ConfigError(fmt::format("namespace '{}' must be a relative path such as 'results/exp'",
                                  ns));
  }
  for (const auto& part : relative) {
    if (part == "..") {
      throw ConfigError(fmt::format("namespace '{}' must not leave the base path ('..')", ns));
    }
  }
  return base / relative;
}

std::filesystem::path ensure_namespace(const std::filesystem::path& base, std::string_view ns,
                                       std::vector<std::filesystem::path>* created) {
  const auto dir = namespace_path(base, ns);
  struct stat info {};
  if (::stat(base.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
    throw ConfigError(fmt::format("base path {} is not an existing folder", base.string()));
  }
  try {
    auto made = util::make_directories(dir);
    if (created) {
      created->insert(created->end(), made.begin(), made.end());
    }
  } catch (const std::system_error& error) {
    throw ArchiveError(fmt::format("cannot create namespace '{}' in {}: {}", ns, base.string(),
                                   error.what()));
  }
  return dir;
}

void check_prefix(std::string_view prefix) {
  if (prefix.find_first_of("/\\") != std::string_view::npos ||
      prefix.find('\0') != std::string_view::npos || prefix.starts_with('.')) {
    throw UsageError(fmt::format("parameter __PREFIX__ cannot be used in a folder name: '{}'",
                                 prefix),
                     "use letters, digits, '-' and '_'");
  }
}

RunFolder create_run_folder(const std::filesystem::path& namespace_dir, const RunNaming& naming,
                            const RunIdSource& source) {
  if (naming.debug) {
    const auto staged = stage_run_folder(namespace_dir, naming, source);
    try {
      return publish_run_folder(staged, naming, {}, source);
    } catch (const Error&) {
      std::error_code ignored;
      std::filesystem::remove_all(staged.staging, ignored);
      throw;
    }
  }
  check_prefix(naming.prefix);
  for (int attempt = 0; attempt < k_max_attempts; ++attempt) {
    const auto now = source.now();
    const auto id = format_run_id(now, source.suffix(), naming.prefix);
    const auto path = namespace_dir / id;
    if (::mkdir(path.c_str(), 0777) == 0) {
      return {path, id, now};
    }
    if (errno != EEXIST) {
      fail_create(path, errno);
    }
  }
  throw ArchiveError(fmt::format("cannot create a run folder in {}: {} ids in a row were taken",
                                 namespace_dir.string(), k_max_attempts));
}

StagedRunFolder stage_run_folder(const std::filesystem::path& namespace_dir,
                                 const RunNaming& naming, const RunIdSource& source) {
  if (naming.debug) {
    refuse_live_debug_run(namespace_dir / "debug");
  } else {
    check_prefix(naming.prefix);
  }
  for (int attempt = 0; attempt < k_max_attempts; ++attempt) {
    const auto now = source.now();
    const auto suffix = source.suffix();
    const auto id = naming.debug ? std::string("debug") : format_run_id(now, suffix, naming.prefix);
    const auto hidden =
        naming.debug ? fmt::format(".debug-{}.starting", suffix) : fmt::format(".{}.starting", id);
    const auto staging = namespace_dir / hidden;
    if (::mkdir(staging.c_str(), 0777) == 0) {
      return {staging, {namespace_dir / id, id, now}};
    }
    if (errno != EEXIST) {
      fail_create(staging, errno);
    }
  }
  throw ArchiveError(fmt::format("cannot create a run folder in {}: {} ids in a row were taken",
                                 namespace_dir.string(), k_max_attempts));
}

RunFolder publish_run_folder(const StagedRunFolder& staged, const RunNaming& naming,
                             const std::function<void(const RunFolder&)>& renamed,
                             const RunIdSource& source) {
  auto run = staged.run;
  const auto namespace_dir = staged.staging.parent_path();
  for (int attempt = 0; attempt < k_max_attempts; ++attempt) {
    const auto aside = naming.debug ? move_debug_aside(run.path) : std::filesystem::path();
    if (util::rename_no_replace(staged.staging, run.path) == 0) {
      if (!aside.empty()) {
        std::error_code ignored;
        std::filesystem::remove_all(aside, ignored);
      }
      return run;
    }
    const int error = errno;
    if (error != EEXIST && error != ENOTEMPTY) {
      fail_create(run.path, error);
    }
    if (!naming.debug) { // taken meanwhile (a debug folder is replaced again)
      const auto now = source.now();
      const auto id = format_run_id(now, source.suffix(), naming.prefix);
      run = {namespace_dir / id, id, now};
      if (renamed) {
        renamed(run);
      }
    }
  }
  throw ArchiveError(fmt::format("cannot create a run folder in {}: {} ids in a row were taken",
                                 namespace_dir.string(), k_max_attempts));
}

} // namespace xrun
