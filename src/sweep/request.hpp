// What a sweep is asked to run: the experiment every variation's run starts from (kept in
// the manifest as its `request`) and the variations themselves.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace xrun::sweep {

/// How each run of a sweep is started, as `xrun run` would start it: kept in the manifest, so
/// that `resume`, `retry` and Slurm's tasks start later runs exactly as the first ones.
struct Request {
  std::string file;              // the experiment module, absolute
  nlohmann::json config;         // the config (config::Config::to_json); null for a module
  std::string config_path;       // the config file, absolute; empty for a module
  std::vector<std::string> args; // the experiment's `--NAME value` words, as given
  nlohmann::json plugins = nlohmann::json::array(); // plugin choices, in the order given
  nlohmann::json labels = nlohmann::json::object(); // {"tags", "note"} for every run's meta
  std::string function; // `FILE.py:NAME`: the function each run runs; "" for a module
  nlohmann::json cache; // a function's --cache (true), else null: as it is declared
  bool rerun = false;   // a function's --rerun

  /// {"file", "config", "config_path", "args", "plugins", "labels"}, and for a function
  /// "function", "cache" and "rerun": the manifest's record.
  nlohmann::json to_json() const;
  /// A request as to_json wrote it (absent keys: empty). Throws nlohmann::json::exception for
  /// a key of the wrong type.
  static Request from_json(const nlohmann::json& json);
};

/// A new sweep: the request, the names of the swept parameters and each variation's settings
/// (an array of located settings per variation, as the experiment process takes them).
struct NewSweep {
  Request request;
  std::vector<std::string> swept;
  nlohmann::json variations = nlohmann::json::array();
  std::vector<std::string> command_line; // as typed: recorded in the manifest and each meta
};

} // namespace xrun::sweep
