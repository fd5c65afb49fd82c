#include "python/interpreter.hpp"

#include "core/diagnostics.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"
#include "xrun/error.hpp"

#include <cstdlib>
#include <fmt/format.h>
#include <iostream>
#include <pybind11/embed.h>
#include <sstream>

namespace py = pybind11;

namespace xrun::python {

namespace {

/// The `version` (or, from newer venv modules, `version_info`) key of a pyvenv.cfg.
std::optional<std::string> venv_version(const std::string& config_text) {
  std::istringstream lines(config_text);
  std::string line;
  while (std::getline(lines, line)) {
    const auto equals = line.find('=');
    if (equals == std::string::npos) {
      continue;
    }
    const auto key = util::trim(line.substr(0, equals));
    if (key == "version" || key == "version_info") {
      return util::trim(line.substr(equals + 1));
    }
  }
  return std::nullopt;
}

PythonError python_error_from(py::error_already_set& error) {
  std::string type = error.type() ? py::str(error.type().attr("__name__")).cast<std::string>() : "";
  std::string message = error.value() ? py::str(error.value()).cast<std::string>() : "";
  std::string traceback;
  try {
    const auto format = py::module_::import("traceback").attr("format_exception");
    for (const auto& line : format(error.type(), error.value(), error.trace())) {
      traceback += line.cast<std::string>();
    }
  } catch (const py::error_already_set&) {
    traceback = fmt::format("{}: {}\n", type, message);
  }
  return PythonError(fmt::format("{}: {}", type, message), type, traceback);
}

} // namespace

std::string_view build_python() {
  return XRUN_BUILD_PYTHON;
}

std::string_view build_python_version() {
  return XRUN_BUILD_PYTHON_VERSION;
}

PythonChoice choose_python(const char* virtual_env, std::string_view python,
                           std::string_view version) {
  if (virtual_env == nullptr || *virtual_env == '\0') {
    return {std::string(python), {}};
  }
  const std::filesystem::path venv(virtual_env);
  std::optional<std::string> config;
  try {
    config = util::read_file(venv / "pyvenv.cfg");
  } catch (const std::exception&) {
    config.reset();
  }
  if (!config) {
    return {std::string(python),
            fmt::format("VIRTUAL_ENV={} has no readable pyvenv.cfg; using {}", virtual_env,
                        python)};
  }
  const auto found = venv_version(*config);
  // Only the exact build matches: another 3.x.y's stdlib is not ABI-safe to load (e.g. _ssl).
  if (!found || !found->starts_with(version) ||
      (found->size() > version.size() && (*found)[version.size()] != '.')) {
    return {std::string(python),
            fmt::format("the virtualenv {} is Python {}, but xrun embeds Python {}; using {} "
                        "(create the venv with {} -m venv)",
                        virtual_env, found.value_or("of unknown version"), version, python,
                        python)};
  }
  return {(venv / "bin" / "python").string(), {}};
}

Interpreter::Interpreter(const std::vector<std::string>& argv) {
  const auto choice = choose_python(std::getenv("VIRTUAL_ENV"), build_python(),
                                    build_python_version());
  if (!choice.warning.empty()) {
    core::print_warning(choice.warning);
  }
  PyConfig config;
  PyConfig_InitPythonConfig(&config);
  config.parse_argv = 0;
  config.install_signal_handlers = 1;
  auto set = [&config](wchar_t** field, const std::string& value) {
    const PyStatus status = PyConfig_SetBytesString(&config, field, value.c_str());
    if (PyStatus_Exception(status)) {
      PyConfig_Clear(&config);
      throw PythonError(fmt::format("cannot configure Python: {}",
                                    status.err_msg ? status.err_msg : "unknown error"),
                        "", "");
    }
  };
  set(&config.program_name, choice.executable);
  set(&config.executable, choice.executable);

  std::vector<const char*> args;
  for (const auto& arg : argv) {
    args.push_back(arg.c_str());
  }
  try {
    py::initialize_interpreter(&config, static_cast<int>(args.size()), args.data(), false);
  } catch (const std::exception& error) {
    throw PythonError(fmt::format("cannot start Python: {}", error.what()), "", "");
  }
}

Interpreter::~Interpreter() {
  py::finalize_interpreter();
}

void Interpreter::exec(const std::string& code) {
  try {
    py::exec(code, py::module_::import("__main__").attr("__dict__"));
  } catch (py::error_already_set& error) {
    throw python_error_from(error);
  }
}

std::string Interpreter::eval_str(const std::string& code) {
  try {
    return py::str(py::eval(code, py::module_::import("__main__").attr("__dict__")))
        .cast<std::string>();
  } catch (py::error_already_set& error) {
    throw python_error_from(error);
  }
}

} // namespace xrun::python
