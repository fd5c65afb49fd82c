// The `_xrun` extension module, built into the xrun binary. The pure-Python `xrun` package
// builds its user-facing API on top of it.
#include "xrun/version.hpp"

#include <pybind11/embed.h>

namespace py = pybind11;

PYBIND11_EMBEDDED_MODULE(_xrun, module) {
  module.doc() = "The native part of xrun, available inside experiments run by xrun.";
  module.attr("__version__") = xrun::k_version;
}
