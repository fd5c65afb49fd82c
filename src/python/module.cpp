// The `_xrun` extension module, built into the xrun binary. The pure-Python `xrun` package
// builds its user-facing API on top of it.
#include "python/module.hpp"

#include "core/atomic_file.hpp"
#include "util/fs.hpp"
#include "xrun/error.hpp"
#include "xrun/version.hpp"

#include <cerrno>
#include <pybind11/embed.h>
#include <unistd.h>

namespace py = pybind11;

namespace xrun::python {

namespace {

ModuleContext& context() {
  static ModuleContext instance;
  return instance;
}

void send_line(const std::string& message) {
  if (context().control_out < 0) {
    throw std::runtime_error("xrun: no supervisor to talk to in this mode");
  }
  util::write_all(context().control_out, message + "\n", "the supervisor's control pipe");
}

std::string receive_line() {
  std::string line;
  char byte = 0;
  for (;;) {
    const ssize_t got = ::read(context().control_in, &byte, 1);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got <= 0) {
      throw std::runtime_error("xrun: the supervisor closed the control pipe");
    }
    if (byte == '\n') {
      return line;
    }
    line.push_back(byte);
  }
}

} // namespace

void set_module_context(ModuleContext value) {
  context() = std::move(value);
}

} // namespace xrun::python

PYBIND11_EMBEDDED_MODULE(_xrun, module) {
  using namespace xrun::python;
  module.doc() = "The native part of xrun, available inside experiments run by xrun.";
  module.attr("__version__") = xrun::k_version;

  module.def("invocation", [] { return context().invocation; },
             "The JSON description of this invocation: mode, file and parameter arguments.");
  module.def(
      "request",
      [](const std::string& message) {
        py::gil_scoped_release release;
        send_line(message);
        return receive_line();
      },
      "Sends one JSON message to the supervisor and returns its JSON reply.");
  module.def(
      "notify",
      [](const std::string& message) {
        py::gil_scoped_release release;
        send_line(message);
      },
      "Sends one JSON message to the supervisor without waiting for a reply.");
  module.def(
      "write_atomic",
      [](const std::string& path, const std::string& content) {
        py::gil_scoped_release release;
        try {
          xrun::core::write_file_atomic(path, content);
        } catch (const xrun::Error& error) {
          throw std::runtime_error(error.what());
        }
      },
      "Replaces the file's content atomically (temp file, fsync, rename).");
}
