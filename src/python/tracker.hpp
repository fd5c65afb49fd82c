// Tracked series: `e.track(name, number)` at nearly the cost of a list append.
#pragma once

#include <Python.h>

namespace xrun::python {

/// Adds `track_start`, `track`, `track_register` and `track_stop` to the `_xrun` module:
///   track_start(fallback)        `fallback(name, value)` gets every call the fast path does
///                                not handle (figures, numpy scalars, names not registered yet)
///   track(name, value)           METH_FASTCALL: a float or int for a registered name is queued
///                                for the writer thread
///   track_register(name, path)   opens `path` (appending; a header line when new) as series
///                                `name`, starts the writer thread on first use
///   track_stop()                 writes everything queued, stops the thread, closes the files
/// The writer appends whole `step,value,time` lines every 200 ms, so a series is on disk
/// within a second of being tracked; the queue is bounded (a producer that outruns the disk
/// waits). Returns false with a Python error set on failure.
bool add_tracker(PyObject* module);

/// Stops the writer thread (as track_stop) if it runs; safe to call more than once.
void stop_tracker();

} // namespace xrun::python
