// The table of xrun's own flags of `run` and `reproduce`: one row per flag, from which
// CLI11's declarations before the FILE or RUN (run_flags.cpp), the split of the words after
// it (split_flags.cpp) and the words CLI11 is given (words_to_parse) all derive.
#pragma once

#include "cli/experiment_options.hpp"
#include "cli/launcher_options.hpp"

#include <string>
#include <variant>
#include <vector>

namespace xrun::cli {

/// What a flag does with what it is given.
enum class Kind {
  toggle,   // takes no value: sets a bool
  list,     // a value, repeatable: added to a list
  text,     // a value: the last one given is kept
  jobs,     // a value: a whole number from 1 (a sweep's workers)
  plugin,   // a value: a plugin choice, NAME or NAME:SETTING=VALUE
  archive,  // a value: the archive folder (before RUN only)
  launcher, // a `launcher:` setting: a value, or none for a switch (its LauncherFlag says)
};

/// Where a flag keeps what it is given: a member of RunOptions, or a launcher setting.
using Field = std::variant<bool RunOptions::*, std::vector<std::string> RunOptions::*,
                           std::optional<std::string> RunOptions::*, int RunOptions::*,
                           std::string RunOptions::*, const LauncherFlag*>;

/// One flag of `run` and `reproduce`.
struct RunFlag {
  std::string names; // as CLI11 takes them: "-j,--jobs"
  Kind kind;
  Field field;
  std::string run_help = {};       // its description before `xrun run`'s FILE; empty: not there
  std::string reproduce_help = {}; // the same for `xrun reproduce`'s RUN
  bool after_file = true;          // taken among the experiment's words after FILE or RUN too
  std::string missing = "a value"; // a missing value, as the error names it
  std::string example = {};        // and the error's hint
};

/// Every flag, in the order help lists them: xrun's own, the launcher's, then -h.
const std::vector<RunFlag>& run_flags();

/// Whether `flag` takes a value (`--tag NAME`), or is a switch (`--dry-run`).
bool takes_value(const RunFlag& flag);

} // namespace xrun::cli
