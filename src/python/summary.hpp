// The run's summary and primary metric, as Python sets them: `set_primary` and
// `summary_update` of the `_xrun` module (the values go to the series writer, which saves
// experiment_summary.json).
#pragma once

#include <Python.h>
#include <string>

namespace xrun::python {

/// Adds to the `_xrun` module:
///   set_primary(name, mode)   keeps the best ("max" or "min") value of series `name` from now
///                             on; ValueError naming any other mode
///   summary_update(dict)      merges plain-JSON values (numpy's through tolist()) into the
///                             summary, all or nothing; TypeError naming a value that is not
/// Both raise RuntimeError while no run records (no run folder was given to track_start).
/// Returns false with a Python error set on failure.
bool add_summary(PyObject* module);

/// repr(object), cut to a readable length, for error messages (clears any error it meets).
std::string repr_for_message(PyObject* object);

} // namespace xrun::python
