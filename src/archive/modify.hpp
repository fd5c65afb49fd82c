// `xrun archive modify`: change parameter values or meta fields of recorded runs.
#pragma once

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace xrun::archive {

struct ModifyOptions {
  std::filesystem::path root = "results";
  std::optional<std::string> where;     // the runs to change (nullopt: every run)
  std::vector<std::string> assignments; // NAME=VALUE: a parameter (`LR`, `params.LR`) or a
                                        // meta field (`meta.description`, `meta.note`)
  bool dry_run = false;
};

/// Checks every assignment against every selected run first (parameter types, which meta
/// fields may change), then rewrites each meta atomically and records the change in the
/// meta's `modifications` list (when, what, from, to). Runs still running are refused.
/// Nothing is written with `dry_run`. Throws UsageError for a bad assignment, naming it.
int modify_runs(const ModifyOptions& options, std::ostream& out);

} // namespace xrun::archive
