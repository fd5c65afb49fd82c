// Running a sweep on this machine: the variations planned, run by N workers (each a whole
// `xrun run` with its own supervisor and run folder), recorded in the manifest as they go.
#pragma once

#include "sweep/manifest.hpp"
#include "sweep/request.hpp"

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace xrun::sweep {

struct Options {
  int jobs = 1;
  bool fail_fast = false; // else keep going after a failure
  bool skip_done = false; // skip variations whose run hash has a `done` run in the namespace
  bool dry_run = false;   // print the variations, create nothing
  bool verbose = false;   // stream every run's output, each line prefixed by its variation
  bool slurm = false;     // submit the variations to Slurm as one job array (`slurm_options`)
  nlohmann::json slurm_options = nlohmann::json::object(); // checked: slurm::Options::from_json
};

/// What the Python side does for a sweep, given by the command line layer (this service does
/// not start Python itself).
struct Launcher {
  /// Plans the variations (their located settings, one array each) in a new interpreter,
  /// which sends one "plan" message (core::protocol::PlanReport) per variation to
  /// `control_out`; returns its exit code (2 for a variation that does not fit the
  /// experiment, reported on stderr).
  std::function<int(const nlohmann::json& request, const nlohmann::json& variations,
                    int control_out)>
      plan;
  /// Runs one variation as `xrun run` does, in this process (a forked worker): `request` as
  /// stored in the manifest, the variation's settings, the meta's `sweep` record, and a
  /// callback for the run folder once it exists. Returns the exit code of `xrun run`.
  std::function<int(const nlohmann::json& request, const nlohmann::json& settings,
                    const nlohmann::json& sweep_record,
                    const std::function<void(const std::filesystem::path&)>& on_folder)>
      run;
};

/// A new sweep: its request with each of its variations applied. Plans it (bad input: exit
/// 2, nothing created), prints it (`dry_run`) or writes the manifest and runs it, or submits
/// it to Slurm (`slurm`: exit 0 once submitted, 2 with nothing left behind when sbatch
/// refuses). Returns the exit code: 0 when every variation is done (or skipped), 1 when one is
/// not, 130 when interrupted.
int run_sweep(const NewSweep& sweep, const Options& options, const Launcher& launcher);

/// Runs the rows of an existing sweep that are not done (`failed_only`: only those that
/// failed, were killed, interrupted, lost or cancelled), each as a fresh run, here or
/// (`slurm`) as a new job array. Rows Slurm still has queued or running are left to it. Same
/// exit codes.
int resume_sweep(Manifest& manifest, bool failed_only, const Options& options,
                 const Launcher& launcher);

/// `xrun sweep status`: the sweep's rows brought up to date from their run folders, counts
/// by status and one line per variation (its status in color with `color`).
void print_status(Manifest& manifest, std::ostream& out, bool color = false);

/// `xrun sweep cancel`: a sweep on Slurm has its jobs cancelled and its rows that never ran
/// marked `cancelled`; a sweep running on this machine is stopped as by Ctrl-C. Returns the
/// exit code.
int cancel_sweep(Manifest& manifest, std::ostream& out);

/// `xrun sweep list`: one line per sweep under `root`.
void print_list(const std::filesystem::path& root, std::ostream& out);

} // namespace xrun::sweep
