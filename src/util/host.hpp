// Facts about the machine and process.
#pragma once

#include <string>

namespace xrun::util {

/// This machine's host name (as gethostname(2) reports it), or "unknown".
std::string host_name();

} // namespace xrun::util
