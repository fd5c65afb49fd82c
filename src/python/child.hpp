// The experiment side of `xrun run`: the embedded interpreter running the module.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace xrun::python {

enum class ChildMode {
  run,     // started by the supervisor: run the experiment into a run folder
  help,    // print the experiment's parameters and exit
  dry_run, // print the resolved, typed parameters and exit
  finish,  // started by the supervisor after a run whose experiment process died: the
           // plugins' after_end hooks (`file` is the run folder)
  plugins, // `xrun plugins list`: every plugin found, imported to show whether it loads
  plan,    // a sweep's variations: their typed parameters and run hashes, as "plan" messages
};

struct ChildOptions {
  ChildMode mode = ChildMode::run;
  std::filesystem::path file;
  std::string function;          // `FILE.py:NAME`: the function to run; empty: the module
  std::vector<std::string> args; // `--NAME value` parameter arguments
  int control_in = -1;           // supervisor -> child replies (run mode)
  int control_out = -1;          // child -> supervisor messages (run mode)
  nlohmann::json config;         // a resolved YAML config (config::Config::to_json), or null
  /// Plugin choices (core::protocol::PluginChoice), highest precedence last.
  nlohmann::json plugins = nlohmann::json::array();
  bool json = false; // plugins mode: JSON output
  /// A sweep's variation to apply after the config and the command line (run mode), or all of
  /// them (plan mode): located settings (core::protocol::Setting).
  nlohmann::json variation = nlohmann::json::array();
  nlohmann::json variations = nlohmann::json::array();
  std::optional<bool> cache; // a function run's --cache; nullopt: as its decorator says
  bool rerun = false;        // a function run's --rerun
};

/// Runs the experiment module in the embedded interpreter and returns the exit code:
/// 0 done, 1 the experiment raised, 2 bad input before any run started (message printed),
/// 130 interrupted, or the code the experiment passed to sys.exit().
int run_child(const ChildOptions& options);

} // namespace xrun::python
