// Running a sweep's rows on this machine: which variation starts when, what becomes of each,
// and when the sweep stops. How a worker runs (a forked `xrun run`, or a fake in tests) is
// behind `Workers`.
#pragma once

#include "sweep/manifest.hpp"

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace xrun::sweep {

struct Options;

/// Something that happened to the workers, or to the sweep process.
namespace worker_event {
/// A signal the sweep process received (Ctrl-C, SIGTERM, SIGHUP).
struct Signal {
  int number = 0;
};
/// A whole line a worker printed (stdout and stderr together).
struct Output {
  int worker = 0;
  std::string line;
};
/// A worker's run has its run folder (its name in the namespace).
struct Folder {
  int row = 0; // the row's index
  std::string run;
};
/// A worker ended, after everything it printed and reported was given as events.
struct Ended {
  int worker = 0;
  int exit_code = 0; // 128 + N when killed by signal N
};
} // namespace worker_event

using WorkerEvent = std::variant<worker_event::Signal, worker_event::Output, worker_event::Folder,
                                 worker_event::Ended>;

/// Starts and watches the workers of a sweep: each runs one row as a whole `xrun run`.
class Workers {
public:
  virtual ~Workers() = default;
  /// Starts a worker for `row` of `manifest`; returns its id. Throws ArchiveError.
  virtual int start(const Manifest& manifest, const Row& row) = 0;
  /// Sends signal `number` to worker `id`.
  virtual void signal(int id, int number) = 0;
  /// The signals received since last asked, without waiting.
  virtual std::vector<int> signals() = 0;
  /// What happened next, waiting up to `timeout` for something (an empty list: nothing did).
  virtual std::vector<WorkerEvent> wait(std::chrono::milliseconds timeout) = 0;
};

/// Marks the rows whose run hash has a `done` run in `done` (run hash -> run folder name) as
/// `skipped` with that run, and returns the indices (into manifest.rows) of the others.
std::vector<std::size_t> rows_not_done(Manifest& manifest,
                                       const std::map<std::string, std::string>& done);

/// Runs `rows` (indices into manifest.rows) with up to `options.jobs` workers at a time,
/// saving the manifest at every change, until they are done, `options.fail_fast` stops at a
/// failure (the others are sent SIGTERM) or a signal stops the sweep (forwarded to the
/// workers; SIGHUP as SIGTERM). Returns 0 when every row is done or skipped, 1 when one is not,
/// 130 when interrupted.
int run_rows(Manifest& manifest, const std::vector<std::size_t>& rows, const Options& options,
             Workers& workers);

} // namespace xrun::sweep
