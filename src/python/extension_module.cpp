// `_xrun` as an extension module, for runs started from plain python3 (`xrun.start()`).
#include "python/module_definition.hpp"

PYBIND11_MODULE(_xrun, module) {
  xrun::python::define_module(module, xrun::python::ModuleBuild::extension);
}
