// Tracked series: `e.track(name, number)` and `run.log({...}, step, stage)` at nearly the cost
// of a built-in call, plus the run's summary and primary metric.
#pragma once

#include <Python.h>

namespace xrun::python {

/// Adds to the `_xrun` module:
///   track_start(fallback, register=None, folder=None)
///                                `fallback(name, value)` gets every track() call the fast
///                                path does not handle (figures, numpy scalars, names not
///                                registered yet); `register(name)` makes a new series for
///                                log() (it calls track_register); `folder` is the run folder,
///                                where experiment_summary.json goes
///   track(name, value)           METH_FASTCALL: a float or int for a registered name is queued
///                                for the writer thread, at one more than the series' last step
///   log(data=None, step=None, stage=None, **metrics)
///                                every number of `data` and `metrics` at one step (given, or
///                                one more than the last log()'s) and stage; nothing is
///                                recorded when any value is refused
///   track_register(name, path)   opens `path` (appending; a header line when new) as series
///                                `name`, starts the writer thread on first use
///   set_primary, summary_update  the run's primary metric and summary (summary.hpp)
///   track_stop()                 writes everything queued, stops the thread, closes the files
/// The writer appends whole `step,value,time,stage` lines every 200 ms, so a series is on disk
/// within a second of being tracked; the summary file is replaced atomically on the same tick
/// after a change. The queue is bounded (a producer that outruns the disk waits).
/// Returns false with a Python error set on failure.
bool add_tracker(PyObject* module);

/// Stops the writer thread (as track_stop) if it runs; safe to call more than once.
void stop_tracker();

/// Around a fork (module.cpp registers them with os.register_at_fork): before it, the writer's
/// thread is held where it owns no lock and allocates nothing, and the queue's locks are taken;
/// after it the parent's thread goes on (writing what was queued before), and the forked
/// process gets a writer of its own and refuses the parent's series.
void tracker_before_fork() noexcept;
void tracker_after_fork_in_parent() noexcept;
void tracker_after_fork_in_child() noexcept;

} // namespace xrun::python
