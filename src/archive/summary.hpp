// `xrun archive overview` and `du`: the archive at a glance.
#pragma once

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>

namespace xrun::archive {

/// Per namespace and in total: runs by status, success rate (done among finished), durations,
/// disk use and the most common error types. With `json`, one JSON object.
int overview(const std::filesystem::path& root, const std::optional<std::string>& where,
             bool json, std::ostream& out);

/// Disk use per run (largest first, at most `limit` rows when non-zero) and per namespace.
int disk_usage(const std::filesystem::path& root, const std::optional<std::string>& where,
               std::size_t limit, std::ostream& out);

} // namespace xrun::archive
