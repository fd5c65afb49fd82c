// Finding and reading the runs of an archive (a folder tree of run folders).
#pragma once

#include "core/liveness.hpp"
#include "xrun/meta.hpp"

#include <cstddef>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xrun::archive {

/// Data files up to this size are read with the meta and kept in the index; larger ones are
/// read from the run folder when a query needs them.
inline constexpr std::size_t k_max_indexed_data = 64 * 1024;

// The lost rule lives in core (the Python package asks it through `_xrun`); the archive's
// callers name it as their own.
using core::k_lost_after_seconds;
using core::Liveness;
using core::liveness_here;
using core::RecordedProcess;

/// What listing and selecting runs need of a meta; the archive index keeps exactly this.
struct RunSummary {
  RunStatus status = RunStatus::running;
  std::string id;
  std::string name;
  std::string namespace_name;
  double start_time = 0;
  std::optional<double> end_time;
  double duration = 0;
  double heartbeat = 0;
  std::optional<int> exit_code;
  std::string error_type;
  std::string host;
  long pid = 0;
  std::string tags; // the meta's `tags` as JSON text ("" when it has none)
  std::string note;
  std::string pid_namespace; // of the supervisor; "" when not recorded

  static RunSummary of(const RunMeta& meta);

  /// The run's supervisor, which started before the run did.
  RecordedProcess supervisor() const { return {host, pid, pid_namespace, start_time}; }

  /// What the lost rule (core::is_lost) reads of the run.
  core::RecordedRun recorded() const { return {status, supervisor(), heartbeat}; }
};

/// Whether a run recorded as `running` is lost at `now` (core::is_lost of its summary).
bool is_lost(const RunSummary& summary, double now);

/// One run folder as found in the archive. Everything beyond the summary (the whole meta,
/// the data values) is read on first use.
struct Run {
  /// Reads the run folder's meta now, and its data file when it is small enough for the
  /// index. A corrupt meta, or a data file that is not a regular file (a link, a FIFO), is
  /// kept as `problem`, never thrown.
  static Run load(const std::filesystem::path& folder);

  std::string path;             // the run folder
  std::size_t root_length = 0;  // path[root_length:] is the folder within its archive
  std::string problem;    // why the meta could not be read; empty when it could
  RunSummary summary;     // meaningful when `problem` is empty
  std::string parameters_text = "{}"; // JSON object of parameter values, declaration order
  /// experiment_data.json as read ("" when there is none); nullopt: read the file when needed.
  std::optional<std::string> data_text;
  /// The same of the tracking SDK's experiment_summary.json and params.json.
  std::optional<std::string> summary_text;
  std::optional<std::string> params_text;

  bool readable() const { return problem.empty(); }

  /// The run folder as a path (made on demand: building one splits it into its parts).
  std::filesystem::path folder() const { return path; }

  /// The run folder relative to the archive it was found in.
  std::string_view relative() const { return std::string_view(path).substr(root_length); }

  /// The status to show: `lost` for a `running` run that is_lost() at `now`; "corrupt" for a
  /// run whose files cannot be read.
  std::string status(double now) const;

  /// The run's duration at `now`: so far for a running run, up to its last heartbeat for a
  /// lost one, as recorded otherwise.
  double duration(double now) const;

  /// Parameter name -> value, in declaration order.
  const nlohmann::ordered_json& parameters();

  /// The whole meta, read on first use; nullptr when it cannot be read.
  const RunMeta* meta();

  /// The value of a name for `--where`, `--columns` and `--sort` (null when the run has
  /// none): parameters (`LR`, `params.LR`), meta fields (`status`, `name`, `duration`, ...,
  /// or `meta.FIELD`), data values (`data.metrics.acc`; `results.acc` is
  /// `data.results.acc`, what a function returned) and what the tracking SDK recorded
  /// (`summary.test_acc`, `primary_metric.best`, `params.lr` of params.json). A parameter
  /// named like one of these roots (a function's `data`) is reached only as `params.NAME`.
  nlohmann::json value(std::string_view name, double now);

private:
  struct Loaded; // what was read or parsed on demand; kept apart so a Run stays small to move
  Loaded& loaded();
  /// The JSON object of the run file `name`, read once into `cache` (empty when absent or
  /// unusable: a warning says why).
  const nlohmann::json& sdk_file(std::optional<nlohmann::json>& cache, const char* name,
                                 std::optional<std::string>& text);
  std::shared_ptr<Loaded> m_loaded;
  mutable std::optional<RunStatus> m_shown; // status() of a running run: found out once
};

/// Every run folder under `root` (a folder holding experiment_meta.json; not searched
/// further; folders whose names start with '.' are skipped), sorted by path. Read through
/// the archive's index (see archive/index.hpp), so only runs changed since the last call are
/// read again. Throws ArchiveError when `root` is not a folder.
/// `with_data` also loads the data values the index keeps (for queries on data.*).
std::vector<Run> find_runs(const std::filesystem::path& root, bool with_data = false);

/// The runs under `root` that match the `--where` expression `where` (all without one), at
/// time `now`; `also_reads` names what the caller will look up besides (columns, sort key).
/// Throws UsageError for a bad expression, ArchiveError for a bad root.
std::vector<Run> select_runs(const std::filesystem::path& root,
                             const std::optional<std::string>& where, double now,
                             const std::vector<std::string>& also_reads = {});

} // namespace xrun::archive
