#include "util/host.hpp"

#include <climits>
#include <filesystem>
#include <system_error>
#include <unistd.h>

namespace xrun::util {

std::string host_name() {
  char buffer[HOST_NAME_MAX + 1] = {};
  if (::gethostname(buffer, sizeof buffer - 1) != 0 || buffer[0] == '\0') {
    return "unknown";
  }
  return buffer;
}

std::string pid_namespace() {
  std::error_code error;
  const auto name = std::filesystem::read_symlink("/proc/self/ns/pid", error);
  return error ? std::string() : name.string();
}

} // namespace xrun::util
