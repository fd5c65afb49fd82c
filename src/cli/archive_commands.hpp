// The subcommands of `xrun archive`, each added by its own function: the archive as a whole
// (cmd_archive_list.cpp), one or two runs (cmd_archive_runs.cpp), compressing, deleting and
// changing runs (cmd_archive_store.cpp). cmd_archive.cpp adds them in the order help shows.
#pragma once

#include "cli/commands.hpp"

#include <optional>
#include <string>

namespace xrun::cli {

/// A `--where` expression as the archive's services take it: nullopt when none was given.
inline std::optional<std::string> selection(const std::string& where) {
  return where.empty() ? std::nullopt : std::optional<std::string>(where);
}

/// `--path`: the archive folder a subcommand works on ("results" unless given).
void add_path_option(CLI::App& command, std::string& path);

/// `archive list`: one row per run.
void add_archive_list(CLI::App& archive, Action& action);

/// `archive overview` and `archive du`: counts, rates and disk use.
void add_archive_summaries(CLI::App& archive, Action& action);

/// `archive index` and `archive reconcile`: the index and the statuses of dead runs.
void add_archive_upkeep(CLI::App& archive, Action& action);

/// `archive show`, `archive diff` and `archive tail`.
void add_archive_show(CLI::App& archive, Action& action);
void add_archive_diff(CLI::App& archive, Action& action);
void add_archive_tail(CLI::App& archive, Action& action);

/// `archive compress` and `archive extract`: runs into one file and back.
void add_archive_pack(CLI::App& archive, Action& action);

/// `archive delete` and `archive restore`: runs into the trash (or gone for good) and back.
void add_archive_trash(CLI::App& archive, Action& action);

/// `archive modify`: parameter values, meta fields or tags of recorded runs.
void add_archive_modify(CLI::App& archive, Action& action);

/// `archive artifact`: the stored file of a versioned artifact (cmd_archive_artifact.cpp).
void add_archive_artifact(CLI::App& archive, Action& action);

} // namespace xrun::cli
