// The messages between xrun's C++ side and the `xrun` Python package in the experiment process:
// the invocation (what the process is asked to do), the request for a run folder and its reply,
// and the reports of the run's end, of the plugins' records and of a sweep's planned variations.
// One JSON object a line on the control pipes, each carrying "protocol": k_protocol_version.
// Mirrored by src/python/package/xrun/_protocol.py; tests/protocol/ holds one example of each,
// read by the tests of both sides.
#pragma once

#include "xrun/error.hpp"
#include "xrun/meta.hpp"
#include "xrun/status.hpp"

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace xrun::core::protocol {

/// The version of the messages, sent in each as "protocol" (`_protocol.PROTOCOL_VERSION`).
inline constexpr int k_protocol_version = 1;

/// A message xrun's two sides cannot have exchanged: another protocol version, or a field of
/// the wrong kind. A defect of xrun (its halves do not match), not of the input.
class ProtocolError : public Error {
public:
  explicit ProtocolError(const std::string& message)
      : Error(ErrorKind::system, message, {}, k_exit_internal) {}
};

/// Throws ProtocolError unless `message` carries this protocol version; `what` names the
/// message in the error ("the \"finish\" message").
void check_version(const nlohmann::json& message, std::string_view what);

/// A parameter's record as the experiment process reports it (`Parameter.record()`): {"name",
/// "type", "description", "value", "usable", "source", "source_file"?, "exact"?}. The one
/// conversion of such a record, for the meta, the run hash and a config's resolved values.
ParameterRecord parameter_from_json(const nlohmann::json& record);
nlohmann::json to_json(const ParameterRecord& parameter);

/// The value a parameter record states, as a config or a sweep's manifest writes it: the
/// `exact` text where JSON cannot hold the value (NaN, an int beyond 64 bits), else the value.
nlohmann::json stated_value(const ParameterRecord& parameter);

/// A hook's record: {"name", "description", "count"}.
HookRecord hook_from_json(const nlohmann::json& record);
nlohmann::json to_json(const HookRecord& hook);

/// One located parameter setting: a config's `parameters:` entry, or one of a sweep's
/// variation (config::ParameterSetting as the experiment process takes it).
struct Setting {
  std::string name;                 // the parameter
  nlohmann::json value;             // the YAML-typed value
  std::optional<std::string> text;  // text to convert by the declared type, as on the command line
  std::optional<std::string> unset; // the error to report unless a later source gives a value
  std::string file;                 // the config file, or the flag: "--sweep LR=0.1,0.2"
  int line = 0;                     // in the config file; 0 for a flag
  int column = 0;                   // of the value on that line
  std::string source = "config";    // "config", or "cli" for a value of the command line

  nlohmann::json to_json() const;
  /// Lenient: a missing field keeps its default (settings are also read back from manifests).
  static Setting from_json(const nlohmann::json& json);
};

/// A plugin choice: a config's `plugins:` entry or a `--plugin`/`--no-plugin` flag.
struct PluginChoice {
  std::string name;                                   // the plugin
  bool enabled = true;                                // on, or off (`--no-plugin`, `NAME: false`)
  nlohmann::json settings = nlohmann::json::object(); // `NAME:SETTING=VALUE` or the entry's mapping
  std::string where; // what to name in errors: "--plugin x", "a.yml:3"

  nlohmann::json to_json() const;
  static PluginChoice from_json(const nlohmann::json& json);
};

/// A resolved YAML config as the experiment process applies it (config::Config::to_json).
struct InvocationConfig {
  std::string experiment;            // the Python module at the root of the chain
  std::string function;              // `extend: mod.py:NAME`: the function run; "" for a module
  std::vector<std::string> files;    // the config files, the root's child first, the top last
  std::string name;                  // the experiment's name for its runs
  std::string description;           // replaces the module's description when not empty
  std::string base_path;             // empty: the experiment's own base path
  std::string namespace_name;        // "namespace": the folder of the runs under base_path
  std::vector<Setting> parameters;   // the values the config sets
  std::vector<std::string> include;  // mixin files of every config, in chain order
  std::vector<PluginChoice> plugins; // of every config, in chain order (later ones win)

  nlohmann::json to_json() const;
  /// Lenient: a missing field keeps its default (a sweep's manifest keeps configs).
  static InvocationConfig from_json(const nlohmann::json& json);
};

/// What the experiment process is asked to do (`_xrun.invocation()`).
struct Invocation {
  std::string mode;                             // run, help, dry-run, finish, plugins or plan
  std::string file;                             // the experiment module (finish: the run folder)
  std::string function;                         // FILE.py:NAME: the function run; "" for a module
  std::vector<std::string> args;                // `--NAME value` parameter arguments
  std::optional<InvocationConfig> config;       // the config run, if any (null)
  std::vector<PluginChoice> plugins;            // plugin choices, highest precedence last
  std::string plugin_folder;                    // the plugins shipped with xrun
  std::string plugin_cache;                     // where the plugins' bytecode is cached
  bool json = false;                            // plugins mode: JSON output
  std::vector<Setting> variation;               // run mode: a sweep's variation, applied last
  std::vector<std::vector<Setting>> variations; // plan mode: every variation of a sweep
  std::optional<bool> cache;                    // --cache: reuse a done run (null: not given)
  bool rerun = false;                           // --rerun: run even when a done run matches

  nlohmann::json to_json() const;
  /// Throws ProtocolError for another protocol version.
  static Invocation from_json(const nlohmann::json& json);
};

/// The meta fields a "prepare" message may set through `meta_extra`: the sweep row a run of
/// `xrun.Function.run` belongs to, and its batch; the rest of the meta is the supervisor's.
inline constexpr std::string_view k_meta_extra_keys[] = {"sweep", "batch"};

/// "prepare": the experiment process asks for its run folder once its parameters are resolved.
struct PrepareRequest {
  std::string base_path;                   // the archive folder, as the experiment gives it
  std::string namespace_name;              // "namespace": the folder of its runs under base_path
  std::string prefix;                      // __PREFIX__: text put before the run folder's name
  bool debug = false;                      // __DEBUG__: run into `debug`, replacing the last one
  std::string name;                        // the experiment's name
  std::string python_version;              // of the interpreter running it ("3.11.2")
  std::string python_executable;           // sys.executable
  std::string description;                 // the module's docstring, or the config's
  std::string short_description;           // its first paragraph
  std::vector<ParameterRecord> parameters; // every parameter, typed, with where its value came from
  std::vector<HookRecord> hooks;           // every hook registered or described
  std::vector<std::string>
      dependencies; // files of the code besides the module (bases, mixins, configs)
  nlohmann::json plugins =
      nlohmann::json::array(); // the plugins' records, kept in the meta as sent
  std::optional<std::vector<std::string>> sys_path; // where the supervisor lists installed packages
  /// A function run's record (name, module, outputs, cache key, code, inputs), copied into the
  /// meta as `function`; null for a module run.
  nlohmann::json function;
  /// More meta fields the experiment process records itself: only those of k_meta_extra_keys.
  nlohmann::json meta_extra;

  nlohmann::json to_json() const;
  /// Throws ProtocolError for a `function` or `meta_extra` that is not an object, or a key of
  /// `meta_extra` not among k_meta_extra_keys.
  static PrepareRequest from_json(const nlohmann::json& json);
};

/// The supervisor's reply to "prepare": the run folder, or why there is none.
struct PrepareReply {
  std::string path;      // the run folder, created with its start recorded
  std::string id;        // the run's id (the folder's name)
  double start_time = 0; // epoch seconds
  std::string error;     // not empty: no run folder, and why
  bool unrecorded =
      false; // with `error`: the start could not be recorded (the supervisor reports it)

  /// The run folder, created with the run's start recorded in it.
  static PrepareReply created(std::string path, std::string id, double start_time);
  /// No run folder, for bad input the experiment process reports (exit 2).
  static PrepareReply refused(std::string error);
  /// No run folder, because its start could not be recorded (the supervisor reports it).
  static PrepareReply unrecordable(std::string error);

  nlohmann::json to_json() const;
  /// Throws ProtocolError for another protocol version.
  static PrepareReply from_json(const nlohmann::json& json);
};

/// "finish": how the experiment ended, sent once its data is saved.
struct FinishReport {
  std::string error_type;           // the exception that ended it ("" when none)
  std::string error_message;        // its message
  bool interrupted = false;         // ended by an interrupt (Ctrl-C, SIGTERM)
  std::optional<int> signal;        // the signal that interrupted it, when one did
  std::vector<std::string> tracked; // the names of its tracked series
  std::vector<HookRecord> hooks;    // the hooks' records, as they ended
  double end_time = 0;              // epoch seconds
  nlohmann::json plugins =
      nlohmann::json::array(); // the plugins' records, kept in the meta as sent

  /// The run's status by this report: interrupted, else failed when an error is named, else done.
  RunStatus status() const;

  nlohmann::json to_json() const;
  static FinishReport from_json(const nlohmann::json& json);
};

/// "plugins": the plugins' records after their after_end hooks ran (failures included).
struct PluginsReport {
  nlohmann::json plugins =
      nlohmann::json::array(); // the plugins' records, kept in the meta as sent
  bool ended = false;          // the after_end hooks have run

  nlohmann::json to_json() const;
  static PluginsReport from_json(const nlohmann::json& json);
};

/// "plan": one planned variation of a sweep.
struct PlanReport {
  std::size_t index = 0; // the variation's place in the sweep
  nlohmann::json parameters =
      nlohmann::json::object(); // the swept parameters' typed values (stated_value)
  std::string run_hash;         // the run hash its run will have
  std::string base_path;        // the archive folder
  std::string namespace_name;   // "namespace": the folder of its runs

  nlohmann::json to_json() const;
  static PlanReport from_json(const nlohmann::json& json);
};

using Message = std::variant<PrepareRequest, FinishReport, PluginsReport, PlanReport>;

/// The message of one line from the experiment process; nullopt for a line that is not a JSON
/// object or of no known type. Throws ProtocolError for another protocol version or a field of
/// the wrong kind.
std::optional<Message> parse_message(std::string_view line);

} // namespace xrun::core::protocol
