// What git knows about the experiment's code.
#pragma once

#include "xrun/meta.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace xrun::run {

/// Which uncommitted changes a run records in git_diff.patch (XRUN_GIT_DIFF).
enum class GitDiff {
  code, // of the files of the run's code snapshot: module, bases, mixins, configs (default)
  all,  // of the whole work tree
  none, // none
};

/// The value of XRUN_GIT_DIFF (`code`, `all` or `none`; unset or empty: `code`). Throws
/// UsageError for another value.
GitDiff git_diff_mode(const char* value);

struct GitSnapshot {
  GitRecord record;
  std::filesystem::path top; // the work tree's top folder
  std::string diff;          // `git diff HEAD` of the whole work tree, with GitDiff::all only
};

/// Commit, branch and dirty flag (of the whole work tree) of the git work tree holding `file`,
/// plus the whole diff when `mode` is GitDiff::all; nullopt outside a work tree or without git.
/// Never throws.
std::optional<GitSnapshot> read_git(const std::filesystem::path& file, GitDiff mode);

/// `git diff HEAD` of those of `files` that lie inside the snapshot's work tree (empty when
/// none of them changed). Never throws.
std::string diff_of_files(const GitSnapshot& snapshot,
                          const std::vector<std::filesystem::path>& files);

} // namespace xrun::run
