#include "python/child.hpp"

#include "python/interpreter.hpp"
#include "python/module.hpp"
#include "python/package_export.hpp"
#include "xrun/error.hpp"
#include "xrun/python_package.hpp"

#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <pybind11/embed.h>

namespace py = pybind11;

namespace xrun::python {

namespace {

std::string_view mode_name(ChildMode mode) {
  switch (mode) {
  case ChildMode::run:
    return "run";
  case ChildMode::help:
    return "help";
  case ChildMode::dry_run:
    return "dry-run";
  }
  return "run";
}

/// Makes the embedded `xrun` package importable: the copy compiled into this binary always
/// wins over any other `xrun` on sys.path, so the Python side matches the native side.
void install_package() {
  auto module = py::module_::import("types").attr("ModuleType")("xrun");
  module.attr("__file__") = "<xrun>";
  py::module_::import("sys").attr("modules")["xrun"] = module;
  // Compiled under the name "<xrun>" so that tracebacks can leave xrun's own frames out.
  const auto builtins = py::module_::import("builtins");
  const auto code = builtins.attr("compile")(
      py::str(k_python_package.data(), k_python_package.size()), "<xrun>", "exec");
  builtins.attr("exec")(code, module.attr("__dict__"));
}

} // namespace

int run_child(const ChildOptions& options) {
  const nlohmann::json invocation = {{"mode", mode_name(options.mode)},
                                     {"file", options.file.string()},
                                     {"args", options.args}};
  set_module_context({invocation.dump(), options.control_in, options.control_out});

  std::vector<std::string> argv{options.file.string()};
  argv.insert(argv.end(), options.args.begin(), options.args.end());
  // Processes the experiment starts (multiprocessing workers re-import its module) need the
  // same `xrun` package; the embedded interpreter itself uses the compiled-in copy.
  const auto package_dir = exported_package_dir().string();
  const char* python_path = std::getenv("PYTHONPATH");
  const auto joined = python_path && *python_path ? package_dir + ":" + python_path : package_dir;
  ::setenv("PYTHONPATH", joined.c_str(), 1);
  Interpreter interpreter(argv);
  try {
    install_package();
    return py::module_::import("xrun").attr("_main")().cast<int>();
  } catch (py::error_already_set& error) {
    // Only a defect in xrun's own Python code gets here: the package catches everything else.
    std::cerr << "xrun: error: internal error in the xrun Python package: " << error.what()
              << '\n';
    return k_exit_usage;
  }
}

} // namespace xrun::python
