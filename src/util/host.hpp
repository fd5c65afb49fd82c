// Facts about the machine and process.
#pragma once

#include <string>

namespace xrun::util {

/// This machine's host name (as gethostname(2) reports it), or "unknown".
std::string host_name();

/// This process's pid namespace, as the kernel names it (`pid:[4026531836]`); "" when that
/// cannot be read. Processes in other namespaces (containers) have pids of their own: the
/// same host name and pid may name another process there.
std::string pid_namespace();

} // namespace xrun::util
