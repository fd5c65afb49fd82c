// experiment_meta.json: what xrun knows about one run.
#pragma once

#include "xrun/status.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xrun {

inline constexpr const char* k_meta_file = "experiment_meta.json";
inline constexpr int k_meta_format = 1;

/// Where a parameter's final value came from (lowest to highest precedence).
enum class ValueSource { default_value, base, config, cli };

std::string_view to_string(ValueSource source) noexcept;
std::optional<ValueSource> parse_value_source(std::string_view name) noexcept;

struct ParameterRecord {
  std::string name;
  std::string type;        // as declared: "int", "list[float]", "Optional[str]"
  std::string description; // from the `# :param NAME:` comment block
  nlohmann::ordered_json value;
  bool usable = true; // false when the value is not JSON and `value` holds its repr()
  ValueSource source = ValueSource::default_value;
  std::string source_file; // the config or base file for sources base and config
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();

  /// The value to show and query: `value`, or for a value JSON cannot hold (NaN, an
  /// infinity, recorded as null) the `exact` text recorded beside it ("nan", "-inf").
  nlohmann::ordered_json shown_value() const;
};

struct HookRecord {
  std::string name;
  std::string description;
  int count = 0; // functions registered under this name
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
};

/// A file of the experiment's code other than the module itself (a base experiment, a mixin, a
/// config), copied into the run folder.
struct FileCopy {
  std::string source; // where it was, absolute
  std::string copy;   // its name in the run folder
};

struct GitRecord {
  std::string commit;
  std::string branch;
  bool dirty = false;
  std::string diff_file; // relative to the run folder; empty when the tree is clean
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
};

/// The content of experiment_meta.json. Fields xrun does not know (written by a newer
/// version, or by hand) are kept in the `extra` of their record and written back unchanged.
struct RunMeta {
  int format = k_meta_format;
  std::string id;
  std::string name;
  std::string namespace_name;
  std::string base_path;
  std::string description;
  std::string short_description;
  std::string experiment_path;
  std::string config_path; // the YAML config that was run, if any

  RunStatus status = RunStatus::running;
  double start_time = 0;                // epoch seconds
  std::optional<double> end_time;       // epoch seconds
  double duration = 0;                  // seconds
  double heartbeat = 0;                 // epoch seconds, refreshed by the supervisor
  std::optional<int> exit_code;
  std::optional<int> signal;
  std::string error_type;               // Python exception class, e.g. "ValueError"
  std::string error_message;

  std::string host;
  long pid = 0; // the supervisor's
  std::string xrun_version;
  std::string python_version;
  std::string python_executable;
  std::vector<std::string> command_line;
  std::string working_directory;

  std::vector<ParameterRecord> parameters; // in declaration order
  std::vector<HookRecord> hooks;
  std::vector<std::string> tracked;
  std::vector<FileCopy> dependencies;
  std::string run_hash;
  std::optional<GitRecord> git;

  nlohmann::ordered_json extra = nlohmann::ordered_json::object();

  const ParameterRecord* parameter(std::string_view name) const;
};

/// A value of the meta (kept in insertion order) as plain JSON, for comparing and printing.
nlohmann::json plain_json(const nlohmann::ordered_json& value);

/// Parses meta JSON. `file` only names the source in errors. Missing fields keep their
/// defaults (older versions); unknown fields go to `extra`. Throws ArchiveError naming the file
/// and the line/column of a syntax error or the field of a wrongly typed value.
RunMeta parse_meta(std::string_view text, const std::filesystem::path& file);

/// The JSON text of `meta`, known fields first, then `extra`.
std::string serialize_meta(const RunMeta& meta);

/// Reads `<run>/experiment_meta.json`. Throws ArchiveError when it is missing or corrupt.
RunMeta read_meta(const std::filesystem::path& run_folder);

/// Writes `<run>/experiment_meta.json` atomically. Throws ArchiveError.
void write_meta(const std::filesystem::path& run_folder, const RunMeta& meta);

} // namespace xrun
