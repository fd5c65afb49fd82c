// The one definition of the `_xrun` module's contents, shared by its two builds (the xrun
// binary's embedded module and the extension module for plain python3). Includes pybind11:
// only for the two entry points.
#pragma once

#include <pybind11/pybind11.h>

namespace xrun::python {

/// Which build of `_xrun` is being defined.
enum class ModuleBuild {
  embedded,  // inside the xrun binary's interpreter
  extension, // loaded by plain python3
};

/// Adds every function and attribute of `_xrun` to `module`; throws pybind11's errors.
void define_module(pybind11::module_& module, ModuleBuild build);

} // namespace xrun::python
