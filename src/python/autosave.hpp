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

/// Around a fork, with the GIL held (module.cpp registers them with os.register_at_fork):
/// before it, the thread is held in its loop, where it allocates nothing without the GIL; after
/// it the parent's goes on, and the forked process gets a saver of its own with no thread (the
/// data is the parent's to save).
void autosave_before_fork();
void autosave_after_fork_in_parent();
void autosave_after_fork_in_child();

} // namespace xrun::python
