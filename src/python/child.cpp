#include "python/child.hpp"

#include "core/diagnostics.hpp"
#include "core/protocol.hpp"
#include "python/autosave.hpp"
#include "python/interpreter.hpp"
#include "python/module.hpp"
#include "python/package_export.hpp"
#include "python/tracker.hpp"
#include "util/signal_pipe.hpp"
#include "xrun/error.hpp"
#include "xrun/status.hpp"

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <pybind11/embed.h>
#include <sys/stat.h>

namespace py = pybind11;

namespace xrun::python {

namespace {

/// The invocation's name of each ChildMode, in the enum's order.
constexpr std::array<std::string_view, 6> k_mode_names{"run",    "help",    "dry-run",
                                                       "finish", "plugins", "plan"};
static_assert(static_cast<std::size_t>(ChildMode::plan) + 1 == k_mode_names.size());

std::string_view mode_name(ChildMode mode) {
  return k_mode_names[static_cast<std::size_t>(mode)];
}

/// Whether `cached` is the bytecode Python itself would check against `source` (by its time
/// and size) and made by this interpreter: a hash-based file, which may be used unchecked,
/// or one for another source, is not taken.
bool bytecode_matches(const std::filesystem::path& cached, const std::filesystem::path& source) {
  struct stat info {};
  if (::stat(source.c_str(), &info) != 0) {
    return false;
  }
  std::uint32_t header[4] = {};
  std::ifstream file(cached, std::ios::binary);
  if (!file.read(reinterpret_cast<char*>(header), sizeof header)) {
    return false;
  }
  // Little-endian fields: magic, flags (0: checked by time and size), time, size.
  return header[0] == static_cast<std::uint32_t>(PyImport_GetMagicNumber()) && header[1] == 0 &&
         header[2] == static_cast<std::uint32_t>(info.st_mtime) &&
         header[3] == static_cast<std::uint32_t>(info.st_size);
}

/// Imports the `xrun` package from `package_dir`, the byte-for-byte export of the copy compiled
/// into this binary, in a folder private to this user (exported_package_dir). It is put first
/// on sys.path, so no other `xrun` can shadow it. The bytecode of each of its modules is written
/// by xrun itself (compiling the package costs more than the rest of its import), also under
/// PYTHONDONTWRITEBYTECODE, which only stops writing, not reading: Python never takes a module's
/// bytecode that xrun did not check or write. A stamped export (package_export_stamped) was
/// checked so by an earlier process and is imported as it is.
void import_package(const std::string& package_dir) {
  const auto sys = py::module_::import("sys");
  sys.attr("path").attr("insert")(0, package_dir);
  if (package_export_stamped(package_dir)) {
    py::module_::import("xrun");
    return;
  }
  const auto cache_tag = sys.attr("implementation").attr("cache_tag").cast<std::string>();
  std::optional<py::module_> py_compile;
  bool compiled = true;
  for (const auto name : package_files()) {
    const std::filesystem::path source = fmt::format("{}/xrun/{}", package_dir, name);
    const auto cached = fmt::format("{}/xrun/__pycache__/{}.{}.pyc", package_dir,
                                    source.stem().string(), cache_tag);
    if (bytecode_matches(cached, source)) {
      continue;
    }
    try {
      if (!py_compile) {
        py_compile = py::module_::import("py_compile");
      }
      py_compile->attr("compile")(
          source.string(), py::arg("cfile") = cached, py::arg("doraise") = true,
          py::arg("invalidation_mode") = py_compile->attr("PycInvalidationMode").attr("TIMESTAMP"));
    } catch (py::error_already_set& error) {
      if (error.matches(PyExc_KeyboardInterrupt)) {
        throw;
      }
      // A cache that cannot be written now: the import compiles in memory instead.
      compiled = false;
    }
  }
  if (compiled) {
    stamp_package_export(package_dir);
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
      interrupt_python();
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
  // Processes the experiment starts (multiprocessing workers re-import its module) need the
  // same `xrun` package; the embedded interpreter itself uses the compiled-in copy.
  const auto package_dir = exported_package_dir();
  namespace protocol = core::protocol;
  protocol::Invocation invocation;
  invocation.mode = mode_name(options.mode);
  invocation.file = options.file.string();
  invocation.function = options.function;
  invocation.cache = options.cache;
  invocation.rerun = options.rerun;
  invocation.args = options.args;
  if (options.config.is_object()) {
    invocation.config = protocol::InvocationConfig::from_json(options.config);
  }
  for (const auto& choice : options.plugins) {
    invocation.plugins.push_back(protocol::PluginChoice::from_json(choice));
  }
  invocation.plugin_folder = builtin_plugin_dir().string();
  invocation.plugin_cache = (package_dir / "plugin-cache").string();
  invocation.json = options.json;
  for (const auto& setting : options.variation) {
    invocation.variation.push_back(protocol::Setting::from_json(setting));
  }
  for (const auto& variation : options.variations) {
    auto& settings = invocation.variations.emplace_back();
    for (const auto& setting : variation) {
      settings.push_back(protocol::Setting::from_json(setting));
    }
  }
  set_module_context({invocation.to_json(), options.control_in, options.control_out});

  std::vector<std::string> argv{options.file.string()};
  argv.insert(argv.end(), options.args.begin(), options.args.end());
  const char* python_path = std::getenv("PYTHONPATH");
  const auto joined =
      python_path && *python_path ? package_dir.string() + ":" + python_path : package_dir.string();
  ::setenv("PYTHONPATH", joined.c_str(), 1);
  Interpreter interpreter(argv);
  if (options.mode == ChildMode::run) {
    install_interrupt_handlers();
  }
  // However the entry point ends, the native threads stop before the interpreter does.
  struct StopThreads {
    ~StopThreads() {
      stop_autosave();
      stop_tracker();
    }
  } stop_threads;
  // Only a defect in xrun's own Python code gets here: the package catches everything else.
  const auto internal_error = [](const char* what) {
    core::print_error(fmt::format("internal error in the xrun Python package: {}", what));
    return k_exit_usage;
  };
  int code = 0;
  try {
    // The package's import makes many objects and no garbage cycles: the collector, which
    // would run a few times meanwhile, waits until the experiment's own code starts.
    PyGC_Disable();
    import_package(package_dir.string());
    const auto entry = py::module_::import("xrun._entry").attr("main");
    PyGC_Enable();
    interrupts.release();
    code = entry().cast<int>();
  } catch (py::error_already_set& error) {
    if (!error.matches(PyExc_KeyboardInterrupt)) {
      return internal_error(error.what());
    }
    code = exit_code_for(RunStatus::interrupted);
  } catch (const std::exception& error) {
    return internal_error(error.what());
  }
  if (code == exit_code_for(RunStatus::interrupted) && options.mode != ChildMode::run &&
      options.mode != ChildMode::finish) {
    std::cerr << "xrun: interrupted\n"; // no supervisor to say so
  }
  return code;
}

} // namespace xrun::python
