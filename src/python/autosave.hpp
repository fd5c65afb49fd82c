// Saving experiment_data.json in the background while the experiment runs.
#pragma once

#include <Python.h>

namespace xrun::python {

/// Adds to the `_xrun` module:
///   autosave_start(save, interval)   a thread that calls `save()` (holding the GIL) at most
///                                    every `interval` seconds while data changed since the
///                                    last call; so a value stored once and never touched again
///                                    is still on disk within `interval`, whatever happens later
///   data_changed()                   marks the data as changed (cheap: one atomic store)
///   data_setitem                     `experiment[key] = value` in C, for Experiment's class:
///                                    "a/b/c" walks (and makes) nested dicts of its `data`,
///                                    then marks the data changed
///   autosave_stop()                  stops the thread (the caller saves one last time)
/// Returns false with a Python error set on failure.
bool add_autosave(PyObject* module);

/// Stops the thread if it runs; call with the GIL held. Safe to call more than once.
void stop_autosave();

} // namespace xrun::python
