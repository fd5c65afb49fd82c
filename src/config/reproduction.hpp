// Running a recorded run again: its archived code, with the parameter values it ran with.
#pragma once

#include "config/config.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace xrun::config {

struct Reproduction {
  /// The settings handed to the experiment process, as for a YAML config: the run folder's
  /// experiment_code.py, the recorded name, namespace, base path, description and parameter
  /// values, and the mixins it included (their copies in the run folder).
  Config config;
  std::vector<std::string> warnings; // parameters whose recorded value cannot be given back
  nlohmann::ordered_json reproduces; // {"run": folder, "id": id}, for the new run's meta
  /// The folder the run ran in, where the new run runs too (relative paths among its
  /// parameters mean the same there); empty when it is gone (a warning says so).
  std::filesystem::path working_directory;
};

/// Plans running `run_folder` again, beside it, in the folder it ran in (the plan's paths are
/// absolute): the base path is what precedes <namespace>/<run folder> in the folder's path,
/// wherever the archive has moved since. The copies of its bases and mixins in the folder take
/// the place of the original files, which may have changed or gone since. A value JSON cannot
/// hold (NaN, inf, an int beyond 64 bits) is given back from its recorded `exact` text.
/// Parameters named in `arguments` (the `--NAME VALUE` words of the command line) are left to
/// them. Throws UsageError naming the run when it has no code snapshot or a mixin it included
/// was not archived, and ArchiveError for a meta file that cannot be read.
Reproduction plan_reproduction(const std::filesystem::path& run_folder,
                               const std::vector<std::string>& arguments = {});

} // namespace xrun::config
