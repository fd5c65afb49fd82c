#include "util/host.hpp"

#include <climits>
#include <unistd.h>

namespace xrun::util {

std::string host_name() {
  char buffer[HOST_NAME_MAX + 1] = {};
  if (::gethostname(buffer, sizeof buffer - 1) != 0 || buffer[0] == '\0') {
    return "unknown";
  }
  return buffer;
}

} // namespace xrun::util
