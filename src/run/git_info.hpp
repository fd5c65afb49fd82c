// What git knows about the experiment's code.
#pragma once

#include "xrun/meta.hpp"

#include <filesystem>
#include <optional>
#include <string>

namespace xrun::run {

struct GitSnapshot {
  GitRecord record;
  std::string diff; // `git diff HEAD` when the work tree is dirty
};

/// Commit, branch and dirty flag of the git work tree holding `file`, plus the diff of its
/// uncommitted changes; nullopt outside a work tree or without git. Never throws.
std::optional<GitSnapshot> read_git(const std::filesystem::path& file);

} // namespace xrun::run
