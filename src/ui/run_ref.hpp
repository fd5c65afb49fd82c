// Naming a run in a request: the `run=` (or `runs=`) parameter is the run folder relative to
// the archive root, exactly `archive::Run::relative()`. Everything the viewer reads of a run
// starts from the folder resolved here, so what a request may name is decided in one place.
#pragma once

#include "ui/http.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace xrun::ui {

/// Why `id` is refused as a run id before anything is looked up ("" when it is not): empty,
/// absolute, an empty, `.` or `..` segment, a backslash, NUL, `,` or `;`.
std::string run_id_problem(std::string_view id);

/// The folder of the run `id` under the archive `root`, or nullopt with `refusal` set to the
/// answer: 403 for an id refused by run_id_problem() or one that goes through a symbolic link
/// below `root` (the run folder itself included: a link is never followed), 404 for an id
/// that names no run folder of the archive (nothing there, no experiment_meta.json, a hidden
/// folder or a folder inside another run, which the archive's scan never lists).
std::optional<std::filesystem::path> resolve_run(const std::filesystem::path& root,
                                                 std::string_view id, Response& refusal);

/// The folder of the sweep `id` (`<namespace>/.sweeps/<sweep id>`, relative to `root`), or
/// nullopt with `refusal` set as resolve_run() does: 403 for a refused id or a link on the
/// way, 404 for an id that names no folder with a sweep manifest.
std::optional<std::filesystem::path> resolve_sweep_folder(const std::filesystem::path& root,
                                                          std::string_view id, Response& refusal);

} // namespace xrun::ui
