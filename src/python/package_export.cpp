#include "python/package_export.hpp"

#include "core/atomic_file.hpp"
#include "util/fs.hpp"
#include "xrun/error.hpp"
#include "xrun/python_package.hpp"
#include "xrun/version.hpp"

#include <cstdint>
#include <cstdlib>
#include <fmt/format.h>
#include <system_error>
#include <unistd.h>

namespace xrun::python {

namespace {

std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t hash = 14695981039346656037ULL;
  for (const unsigned char c : text) {
    hash = (hash ^ c) * 1099511628211ULL;
  }
  return hash;
}

std::filesystem::path cache_root() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg == '/') {
    return std::filesystem::path(xdg) / "xrun";
  }
  if (const char* home = std::getenv("HOME"); home && *home == '/') {
    return std::filesystem::path(home) / ".cache" / "xrun";
  }
  return std::filesystem::temp_directory_path() / fmt::format("xrun-{}", ::getuid());
}

std::filesystem::path self_executable() {
  std::error_code error;
  auto path = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? std::filesystem::path("xrun") : path;
}

} // namespace

std::filesystem::path exported_package_dir() {
  const auto dir =
      cache_root() / "python" / fmt::format("{}-{:016x}", k_version, fnv1a(k_python_package));
  const auto package = dir / "xrun";
  const auto module = package / "__init__.py";
  const auto binary = package / "xrun_binary.txt";
  const auto executable = self_executable().string();
  try {
    if (util::read_file(module) != std::optional<std::string>(std::string(k_python_package))) {
      util::make_directories(package);
      core::write_file_atomic(module, k_python_package);
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
