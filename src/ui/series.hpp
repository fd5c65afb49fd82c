// The tracked series of runs for the viewer: `/api/v1/series` and `/api/v1/series/data`.
#pragma once

#include "ui/http.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace xrun::ui {

/// `/api/v1/series?run=ID` for the run folder `run_folder` (already resolved).
Response series_list(const std::filesystem::path& run_folder);

/// `/api/v1/series/data?runs=A,B&...` over the archive `root`.
Response series_data(const std::filesystem::path& root, const std::vector<std::string>& runs,
                     const Request& request);

} // namespace xrun::ui
