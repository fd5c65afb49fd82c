// Converting between Python objects and JSON without Python's json module (whose import,
// with `re`, costs several milliseconds of every run's start-up).
#pragma once

#include <nlohmann/json.hpp>
#include <pybind11/pybind11.h>

namespace xrun::python {

/// The JSON value of a Python object: dicts (keys made strings), lists, tuples, str, int,
/// float (NaN and infinities become null), bool and None directly; anything else is passed to
/// `fallback`, which returns a convertible object or raises (numpy arrays and scalars become
/// lists and numbers that way). Throws pybind11::error_already_set.
nlohmann::json to_json(pybind11::handle object, pybind11::handle fallback);

/// The Python object of a JSON value. Throws pybind11::value_error for one nested more than
/// twice core::k_max_value_depth levels deep.
pybind11::object from_json(const nlohmann::json& value);

} // namespace xrun::python
