#include "python/child.hpp"

#include "python/autosave.hpp"
#include "python/interpreter.hpp"
#include "python/module.hpp"
#include "python/package_export.hpp"
#include "python/tracker.hpp"
#include "util/signal_pipe.hpp"
#include "xrun/error.hpp"
#include "xrun/status.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fmt/format.h>
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
  case ChildMode::finish:
    return "finish";
  case ChildMode::plugins:
    return "plugins";
  case ChildMode::plan:
    return "plan";
  }
  return "run";
}

/// Imports the `xrun` package from `package_dir`, the byte-for-byte export of the copy compiled
/// into this binary (so Python's bytecode cache spares compiling it on every run). It is put
/// first on sys.path, so no other `xrun` can shadow it.
void import_package(const std::string& package_dir) {
  const auto sys = py::module_::import("sys");
  sys.attr("path").attr("insert")(0, package_dir);
  // Write the bytecode cache even under PYTHONDONTWRITEBYTECODE (which only stops writing,
  // not reading): compiling the package costs more than the rest of its import.
  const auto source = package_dir + "/xrun/__init__.py";
  const auto cached = fmt::format("{}/xrun/__pycache__/__init__.{}.pyc", package_dir,
                                  sys.attr("implementation").attr("cache_tag").cast<std::string>());
  if (!std::filesystem::exists(cached)) {
    try {
      py::module_::import("py_compile")
          .attr("compile")(source, py::arg("cfile") = cached, py::arg("doraise") = true);
    } catch (py::error_already_set&) {
      // A read-only cache folder: the import compiles in memory instead.
    }
  }
  py::module_::import("xrun");
}

constexpr long long k_interrupt_copies_ns = 1000000000LL;
std::atomic<long long> g_last_interrupt_ns{0};

/// SIGINT and SIGTERM end the experiment with a KeyboardInterrupt at the next bytecode, so that
/// `finally` blocks run and the data is saved. One interrupt often arrives twice: a terminal's
/// Ctrl-C (or `kill -INT -PGID`) reaches both the supervisor and this process, and the
/// supervisor passes on what it gets (at once, or late on a loaded machine). Copies within a
/// second are one interrupt; this costs nothing, because a person's second Ctrl-C is answered by
/// the supervisor, with SIGKILL. (Set from C: importing
/// Python's `signal` module would cost every run a few milliseconds.)
void install_interrupt_handlers() {
  struct sigaction action {};
  action.sa_handler = [](int number) {
    const int saved_errno = errno;
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    const long long ns = now.tv_sec * 1000000000LL + now.tv_nsec;
    const long long last = g_last_interrupt_ns.exchange(ns);
    // With the supervisor gone, what the experiment prints while it stops goes to the log.
    log_directly_if_orphaned();
    if (!interrupts_shielded() && (last == 0 || ns - last > k_interrupt_copies_ns)) {
      note_interrupt_signal(number);
      PyErr_SetInterrupt();
    }
    errno = saved_errno;
  };
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
}

} // namespace

int run_child(const ChildOptions& options) {
  // An interrupt while Python starts or the package loads would surface as a failed start
  // ("cannot import the site module") or an error in xrun: it waits until Python can take it
  // as a KeyboardInterrupt.
  util::BlockedSignals interrupts{SIGINT, SIGTERM};
  const nlohmann::json invocation = {{"mode", mode_name(options.mode)},
                                     {"file", options.file.string()},
                                     {"args", options.args},
                                     {"config", options.config},
                                     {"plugins", options.plugins},
                                     {"plugin_folder", builtin_plugin_dir().string()},
                                     {"json", options.json},
                                     {"variation", options.variation},
                                     {"variations", options.variations}};
  set_module_context({invocation, options.control_in, options.control_out});

  std::vector<std::string> argv{options.file.string()};
  argv.insert(argv.end(), options.args.begin(), options.args.end());
  // Processes the experiment starts (multiprocessing workers re-import its module) need the
  // same `xrun` package; the embedded interpreter itself uses the compiled-in copy.
  const auto package_dir = exported_package_dir().string();
  const char* python_path = std::getenv("PYTHONPATH");
  const auto joined = python_path && *python_path ? package_dir + ":" + python_path : package_dir;
  ::setenv("PYTHONPATH", joined.c_str(), 1);
  Interpreter interpreter(argv);
  if (options.mode == ChildMode::run) {
    install_interrupt_handlers();
  }
  // However _main ends, the native threads stop before the interpreter does.
  struct StopThreads {
    ~StopThreads() {
      stop_autosave();
      stop_tracker();
    }
  } stop_threads;
  int code = 0;
  try {
    import_package(package_dir);
    interrupts.release();
    code = py::module_::import("xrun").attr("_main")().cast<int>();
  } catch (py::error_already_set& error) {
    if (!error.matches(PyExc_KeyboardInterrupt)) {
      // Only a defect in xrun's own Python code gets here: the package catches everything else.
      std::cerr << "xrun: error: internal error in the xrun Python package: " << error.what()
                << '\n';
      return k_exit_usage;
    }
    code = exit_code_for(RunStatus::interrupted);
  } catch (const std::exception& error) {
    std::cerr << "xrun: error: internal error in the xrun Python package: " << error.what() << '\n';
    return k_exit_usage;
  }
  if (code == exit_code_for(RunStatus::interrupted) && options.mode != ChildMode::run &&
      options.mode != ChildMode::finish) {
    std::cerr << "xrun: interrupted\n"; // no supervisor to say so
  }
  return code;
}

} // namespace xrun::python
