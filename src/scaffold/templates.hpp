// `xrun template ...`: new files to start from, rendered from the templates compiled into the
// binary. Everything generated runs as generated.
#pragma once

#include <filesystem>
#include <ostream>
#include <string>

namespace xrun::scaffold {

enum class Kind { experiment, extend, config, mixin, analysis };

struct TemplateRequest {
  Kind kind = Kind::experiment;
  std::string name;                      // the new file's name without extension; for
                                         // `analysis`, the run (id, unique part, or folder)
  std::filesystem::path from;            // extend: the base module; config: the experiment
  std::filesystem::path folder = ".";    // where the file goes
  std::filesystem::path archive = "results"; // analysis: where to find the run
  std::filesystem::path run; // analysis: the run's folder, found by the caller (resolve_run)
  bool force = false;                    // overwrite an existing file
};

/// Writes the file (atomically) and says where it went. Throws UsageError for a name that is
/// not a Python module name (or a keyword), a missing or unreadable `from`, an existing file
/// without `force`.
int make_template(const TemplateRequest& request, std::ostream& out);

} // namespace xrun::scaffold
