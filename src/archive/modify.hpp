// `xrun archive modify`: change parameter values or meta fields of recorded runs.
#pragma once

#include "archive/inspect.hpp"

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace xrun::archive {

struct ModifyOptions {
  std::filesystem::path root = "results";
  RunChoice choice;                     // the runs to change
  std::vector<std::string> assignments; // NAME=VALUE: a parameter (`LR`, `params.LR`) or a
                                        // meta field (`meta.description`, `meta.note`)
  std::vector<std::string> add_tags;    // tags to add to the meta's `tags`
  std::vector<std::string> remove_tags; // tags to take off
  bool dry_run = false;
};

/// Checks every assignment and tag against every chosen run first (parameter types, which
/// meta fields may change, what a tag or note may be), then rewrites each meta atomically and
/// records the change in the meta's `modifications` list (when, what, from, to). Runs still
/// running are refused. Nothing is written with `dry_run`. Throws UsageError for a bad
/// assignment or tag, naming it.
int modify_runs(const ModifyOptions& options, std::ostream& out);

} // namespace xrun::archive
