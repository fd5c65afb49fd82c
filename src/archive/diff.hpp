// `xrun archive diff`: what differs between two runs.
#pragma once

#include <filesystem>
#include <ostream>

namespace xrun::archive {

/// What differs between two runs: parameters, data values, meta (status, duration, host,
/// versions, git) and the lines of the experiment's code. With `color`, what only the first
/// run has is red and what only the second has green.
int diff_runs(const std::filesystem::path& a, const std::filesystem::path& b, std::ostream& out,
              bool color = false);

} // namespace xrun::archive
