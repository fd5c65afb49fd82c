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

/// The debug folder is replaced on every run: move the old one aside atomically (so this run
/// never writes into a half-deleted folder), delete it, and claim the name with mkdir.
RunFolder create_debug_folder(const std::filesystem::path& namespace_dir,
                              const RunIdSource& source) {
  const auto path = namespace_dir / "debug";
  for (int attempt = 0; attempt < k_max_attempts; ++attempt) {
    if (::mkdir(path.c_str(), 0777) == 0) {
      return {path, "debug", source.now()};
    }
    if (errno != EEXIST) {
      fail_create(path, errno);
    }
    refuse_live_debug_run(path);
    const auto aside = namespace_dir / (".debug.old." + util::random_token(8));
    if (::rename(path.c_str(), aside.c_str()) != 0 && errno != ENOENT) {
      fail_create(path, errno);
    }
    std::error_code ignored;
    std::filesystem::remove_all(aside, ignored);
  }
  fail_create(path, EEXIST);
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

std::filesystem::path ensure_namespace(const std::filesystem::path& base, std::string_view ns) {
  const auto dir = namespace_path(base, ns);
  struct stat info {};
  if (::stat(base.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
    throw ArchiveError(fmt::format("base path {} is not an existing folder", base.string()));
  }
  try {
    util::make_directories(dir);
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
    return create_debug_folder(namespace_dir, source);
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

} // namespace xrun
