// The sweep manifest: `<namespace>/.sweeps/<sweep id>/manifest.json`, one row per variation.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace xrun::sweep {

inline constexpr const char* k_sweeps_folder = ".sweeps";
inline constexpr const char* k_manifest_file = "manifest.json";

/// One variation of a sweep and what became of it.
struct Row {
  int index = 0;
  nlohmann::ordered_json parameters = nlohmann::ordered_json::object(); // swept name -> value
  nlohmann::json settings = nlohmann::json::array(); // as given to the experiment process
  std::string run_hash;
  std::string run;                // the run folder's name in the namespace; empty: none yet
  std::string status = "pending"; // pending, running, done, failed, interrupted, killed,
                                  // lost (supervisor gone), skipped (done before: `run` is it),
                                  // submitted (to Slurm: `job`), cancelled (before it ran)
  std::optional<int> exit_code;
  std::string job;  // the Slurm array job of its latest submission; empty: run on a machine
  std::string note; // why it has its status (not stored: found by reconcile and Slurm)
  int attempt = 0;  // Slurm's restart count when `run` began (not stored either)
};

/// Everything needed to run the sweep's variations again, and their rows.
struct Manifest {
  std::string id;
  std::filesystem::path folder; // <namespace>/.sweeps/<id>
  std::filesystem::path namespace_dir;
  double created = 0;
  std::string state = "running"; // running, finished, interrupted (of the sweep process)
  std::string host;                // of the process running the sweep, and its pid
  long pid = 0;
  std::string pid_namespace; // that process's (see util::pid_namespace); "" when unknown
  double pid_time = 0;       // when it recorded its pid (it had started by then); 0: unknown
  std::string working_directory;   // where the sweep was started (its runs run there)
  std::vector<std::string> command_line;
  std::vector<std::string> swept;                    // the swept parameters' names
  nlohmann::json request = nlohmann::json::object(); // file, config, args, plugins, ...
  /// {"type": "local"} or {"type": "slurm", "options": {...}, "submissions": [{"job_id",
  /// "array", "script", "submitted", "rows"}, ...]}
  nlohmann::json launcher = {{"type", "local"}};
  std::vector<Row> rows;

  bool on_slurm() const { return launcher.value("type", "local") == "slurm"; }

  /// Writes manifest.json atomically. Throws ArchiveError.
  void save() const;
  /// Reads `<folder>/manifest.json`. Throws ArchiveError naming the file.
  static Manifest load(const std::filesystem::path& folder);
};

/// Each row's status brought up to date from its run folder (the run's own record is the
/// truth: a sweep process killed mid-way leaves rows at `running` whose runs ended since). A
/// row without a folder on record gets the run whose meta names this sweep and row; a row
/// still `running` without any, after the sweep process died, is `lost`. A row submitted to
/// Slurm gets the latest run of its job (a requeued task's fresh run), and stays `submitted`
/// without one (see slurm::observe for what Slurm knows).
void reconcile(Manifest& manifest);

/// Whether the process that runs the sweep may be alive: false only when it is known gone (on
/// its own host, see archive::liveness_here).
bool sweep_process_alive(const Manifest& manifest);

/// The sweep's state as `sweep status` and `sweep list` show it: the manifest's, except
/// `lost` for a sweep recorded as running whose process is gone.
std::string shown_state(const Manifest& manifest);

/// The manifests under `root` (namespaces at any depth), oldest first.
std::vector<std::filesystem::path> find_manifests(const std::filesystem::path& root);

/// The sweep folder of `id` (or a unique part of it) under `root`. Throws UsageError.
std::filesystem::path resolve_sweep(const std::filesystem::path& root, const std::string& id);

} // namespace xrun::sweep
