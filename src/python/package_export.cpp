#include "python/package_export.hpp"

#include "core/atomic_file.hpp"
#include "core/diagnostics.hpp"
#include "util/fs.hpp"
#include "xrun/error.hpp"
#include "xrun/python_package.hpp"
#include "xrun/version.hpp"

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <iostream>
#include <optional>
#include <patchlevel.h>
#include <pwd.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <vector>

namespace xrun::python {

namespace {

std::filesystem::path temp_folder() {
  const char* tmpdir = std::getenv("TMPDIR");
  return tmpdir && *tmpdir == '/' ? std::filesystem::path(tmpdir) : "/tmp";
}

/// The user's cache folder, and the folder of xrun's cache in it: $XDG_CACHE_HOME/xrun, else
/// ~/.cache/xrun ($HOME, else the home folder of the user's account when it exists), else
/// xrun-<uid> in the temp folder.
std::pair<std::filesystem::path, std::filesystem::path> cache_root() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg == '/') {
    return {xdg, "xrun"};
  }
  std::filesystem::path home;
  if (const char* variable = std::getenv("HOME"); variable && *variable == '/') {
    home = variable;
  } else if (const passwd* account = ::getpwuid(::getuid());
             account && account->pw_dir && account->pw_dir[0] == '/') {
    std::error_code error;
    if (std::filesystem::is_directory(account->pw_dir, error)) {
      home = account->pw_dir;
    }
  }
  if (!home.empty()) {
    return {home / ".cache", "xrun"};
  }
  return {temp_folder(), fmt::format("xrun-{}", ::getuid())};
}

/// This binary, read once: the stamp, the extension's place and the plugins' all ask for it
/// while a run starts.
const std::filesystem::path& self_executable() {
  static const std::filesystem::path path = [] {
    std::error_code error;
    auto found = std::filesystem::read_symlink("/proc/self/exe", error);
    return error ? std::filesystem::path("xrun") : found;
  }();
  return path;
}

/// A new folder only this user can use, for a process whose cache folder is not private.
std::filesystem::path fresh_private_folder() {
  auto pattern = (temp_folder() / fmt::format("xrun-{}-XXXXXX", ::getuid())).string();
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (::mkdtemp(buffer.data()) == nullptr) {
    throw RecordError(fmt::format("cannot create a private folder for the xrun Python package "
                                  "in {}: {}",
                                  temp_folder().string(), std::strerror(errno)));
  }
  return buffer.data();
}

constexpr std::string_view k_stamp_name = "exported";

/// What the stamp of a complete export says: the binary that checked it, the interpreter its
/// bytecode is for, and the modification times of the package folder and its bytecode folder,
/// which change when a file in them is added, removed or renamed (bytecode and the modules
/// are only ever replaced by renames). Empty when a folder cannot be read.
std::optional<std::string> export_stamp(const std::filesystem::path& dir) {
  std::string stamp = fmt::format("{}\n{}\n", self_executable().string(), PY_VERSION);
  for (const auto& folder : {dir / "xrun", dir / "xrun" / "__pycache__"}) {
    struct stat info {};
    if (::stat(folder.c_str(), &info) != 0) {
      return std::nullopt;
    }
    stamp += fmt::format("{}.{:09}\n", info.st_mtim.tv_sec, info.st_mtim.tv_nsec);
  }
  return stamp;
}

/// The places the `_xrun` extension module built or installed with this binary is: beside it
/// in a build folder, or beside the installed package under its prefix.
std::array<std::filesystem::path, 2> extension_candidates() {
  const auto folder = self_executable().parent_path();
  const auto site =
      fmt::format("lib/python{}.{}/dist-packages", PY_MAJOR_VERSION, PY_MINOR_VERSION);
  return {folder / XRUN_EXTENSION_NAME,
          (folder / ".." / site / XRUN_EXTENSION_NAME).lexically_normal()};
}

/// Makes `_xrun` importable from the export `dir`: a link to this binary's extension module
/// (a link, not a copy: a rebuilt module is seen at once). One readlink when it is in place.
void link_extension_module(const std::filesystem::path& dir) {
  const auto link = dir / XRUN_EXTENSION_NAME;
  const auto candidates = extension_candidates();
  std::error_code error;
  const auto current = std::filesystem::read_symlink(link, error);
  if (!error && (current == candidates[0] || current == candidates[1])) {
    return;
  }
  std::filesystem::path target;
  for (const auto& candidate : candidates) {
    if (std::filesystem::is_regular_file(candidate, error)) {
      target = candidate;
      break;
    }
  }
  if (target.empty()) {
    return;
  }
  const auto temp = dir / fmt::format(".{}.{}", XRUN_EXTENSION_NAME, ::getpid());
  std::filesystem::remove(temp, error);
  std::filesystem::create_symlink(target, temp, error);
  if (!error) {
    std::filesystem::rename(temp, link, error); // atomic: a reader sees the old or the new
  }
  if (error) {
    std::filesystem::remove(temp, error); // plain python3 then runs without `_xrun`
  }
}

} // namespace

std::filesystem::path exported_package_dir() {
  // Once per process: the answer (and a warning about the cache) does not change.
  static const std::filesystem::path dir = [] {
    const auto version =
        std::filesystem::path("python") / fmt::format("{}-{}", k_version, k_python_package_hash);
    // The package, its bytecode and the plugins' bytecode are code this user runs: every
    // level must be this user's alone, or another user could plant what gets run.
    const auto levels = {std::filesystem::path("xrun") / "__pycache__",
                         std::filesystem::path("plugin-cache")};
    const auto [root, own] = cache_root();
    std::optional<std::string> problem;
    for (const auto& level : levels) {
      if (!problem) {
        problem = util::make_private_directories(root, own / version / level);
      }
    }
    if (!problem) {
      return root / own / version;
    }
    const auto fresh = fresh_private_folder();
    for (const auto& level : levels) {
      if (const auto failed = util::make_private_directories(fresh, version / level)) {
        throw RecordError(fmt::format("cannot create a private folder for the xrun Python "
                                      "package: {}",
                                      *failed));
      }
    }
    core::print_warning(fmt::format("not using the cache folder {}: {}; using {} instead "
                                    "(remove it if it is yours: xrun makes it again, private; "
                                    "or set XDG_CACHE_HOME to a folder of your own)",
                                    (root / own).string(), *problem, fresh.string()));
    return fresh / version;
  }();
  link_extension_module(dir);
  if (package_export_stamped(dir)) {
    return dir;
  }
  const auto package = dir / "xrun";
  const auto binary = package / "xrun_binary.txt";
  const auto executable = self_executable().string();
  try {
    for (const auto& [name, text] : k_python_package) {
      const auto module = package / name;
      if (util::read_file(module) != std::optional<std::string>(std::string(text))) {
        core::write_file_atomic(module, text);
      }
    }
    if (util::read_file(binary) != std::optional<std::string>(executable)) {
      core::write_file_atomic(binary, executable);
    }
  } catch (const Error& error) {
    throw RecordError(fmt::format("cannot export the xrun Python package: {}", error.what()));
  } catch (const std::system_error& error) {
    throw RecordError(fmt::format("cannot export the xrun Python package: {}", error.what()));
  }
  return dir;
}

bool package_export_stamped(const std::filesystem::path& dir) {
  static const bool stamped = util::read_file(dir / k_stamp_name) == export_stamp(dir);
  return stamped;
}

void stamp_package_export(const std::filesystem::path& dir) {
  if (const auto stamp = export_stamp(dir)) {
    try {
      core::write_file_atomic(dir / k_stamp_name, *stamp);
    } catch (const Error&) {
      // Unstamped, the next process checks every file again: slower, never wrong.
    } catch (const std::system_error&) {
    }
  }
}

std::vector<std::string_view> package_files() {
  std::vector<std::string_view> names;
  for (const auto& [name, text] : k_python_package) {
    names.push_back(name);
  }
  return names;
}

std::filesystem::path builtin_plugin_dir() {
  const auto folder = self_executable().parent_path();
  for (const auto& candidate : {folder / ".." / "share" / "xrun" / "plugins", folder / "plugins"}) {
    std::error_code error;
    if (std::filesystem::is_directory(candidate, error)) {
      return candidate.lexically_normal();
    }
  }
  return {};
}

} // namespace xrun::python
