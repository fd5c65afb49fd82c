// `_xrun` built into the xrun binary, registered before its interpreter starts.
#include "python/module_definition.hpp"

#include <pybind11/embed.h>

PYBIND11_EMBEDDED_MODULE(_xrun, module) {
  xrun::python::define_module(module, xrun::python::ModuleBuild::embedded);
}
