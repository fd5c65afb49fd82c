// The functions of the `_xrun` native module, defined once for both of its builds: built into
// the xrun binary (embedded_module.cpp) and as an extension module for plain python3
// (extension_module.cpp). The pure-Python `xrun` package builds its user-facing API on top of it.
#include "python/module.hpp"
#include "python/module_definition.hpp"

#include "core/atomic_file.hpp"
#include "core/liveness.hpp"
#include "core/module_scan.hpp"
#include "core/protocol.hpp"
#include "core/run_hash.hpp"
#include "core/value_limits.hpp"
#include "python/autosave.hpp"
#include "python/json_bridge.hpp"
#include "python/tracker.hpp"
#include "util/fs.hpp"
#include "util/line_reader.hpp"
#include "util/strings.hpp"
#include "xrun/error.hpp"
#include "xrun/status.hpp"
#include "xrun/version.hpp"

#include <atomic>
#include <cerrno>
#include <cmath>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <optional>
#include <pybind11/pybind11.h>
#include <string_view>
#include <sys/prctl.h>
#include <system_error>
#include <unistd.h>

namespace py = pybind11;
namespace protocol = xrun::core::protocol;

namespace xrun::python {

namespace {

std::atomic<bool> g_shielded{false};
std::atomic<bool> g_held{false};
std::atomic<bool> g_held_interrupt{false}; // came while held
std::atomic<int> g_interrupt_signal{0}; // set from a signal handler: lock-free
std::atomic<int> g_log_fd{-1};          // the run's log, for when the supervisor is gone
std::atomic<pid_t> g_supervisor{0};
std::atomic<pid_t> g_log_keeper{0}; // the experiment's process (not one it forked)
constexpr char k_orphaned_note[] =
    "xrun: the supervisor is gone (killed?); the experiment is stopped, and what it prints "
    "goes straight to this log\n";

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
  // A byte at a time: what follows the line is not this reply's to take.
  util::LineReader reader;
  std::optional<std::string> line;
  char byte = 0;
  while (!line) {
    const ssize_t got = ::read(context().control_in, &byte, 1);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got <= 0) {
      throw std::runtime_error("xrun: the supervisor closed the control pipe");
    }
    reader.feed(std::string_view(&byte, 1), [&](std::string_view text) { line = text; });
  }
  return *line;
}

/// What the lost rule reads of a run's meta (a dict as read from experiment_meta.json). A
/// field of another type than the meta's counts as not recorded; `fields` keeps the texts.
/// nullopt when its status is none of xrun's.
std::optional<xrun::core::RecordedRun> recorded_run(const py::dict& meta,
                                                    nlohmann::json& fields) {
  const auto repr = py::module_::import("builtins").attr("repr");
  for (const char* key : {"status", "host", "pid", "pid_namespace", "start_time", "heartbeat"}) {
    fields[key] = meta.contains(key) ? to_json(meta[key], repr) : nlohmann::json();
  }
  const auto text = [&](const char* key) -> std::string_view {
    const auto& value = fields[key];
    return value.is_string() ? std::string_view(value.get_ref<const std::string&>()) : "";
  };
  const auto number = [&](const char* key) {
    const auto& value = fields[key];
    return value.is_number() ? value.get<double>() : 0.0;
  };
  // A pid that is no whole number in a pid's range names no process.
  const auto& pid = fields["pid"];
  const long pid_number =
      pid.is_number_integer() && std::abs(pid.get<double>()) < 1e15 ? pid.get<long>() : 0;
  const auto status = parse_status(text("status"));
  if (!status) {
    return std::nullopt;
  }
  return xrun::core::RecordedRun{
      *status,
      {text("host"), pid_number, text("pid_namespace"), number("start_time")},
      number("heartbeat")};
}

/// The JSON line of a message from the Python side (plain data; anything else as its repr).
std::string message_text(py::handle message) {
  return to_json(message, py::module_::import("builtins").attr("repr")).dump();
}

} // namespace

void set_module_context(ModuleContext value) {
  context() = std::move(value);
}

bool interrupts_shielded() noexcept {
  return g_shielded.load();
}

void interrupt_python() noexcept {
  if (g_held.load()) {
    g_held_interrupt.store(true);
    // Released meanwhile by another thread, which may have looked before the store.
    if (g_held.load() || !g_held_interrupt.exchange(false)) {
      return;
    }
  }
  PyErr_SetInterrupt();
}

void note_interrupt_signal(int number) noexcept {
  int none = 0;
  g_interrupt_signal.compare_exchange_strong(none, number);
}

void log_directly_if_orphaned() noexcept {
  const int fd = g_log_fd.load();
  if (fd < 0 || ::getpid() != g_log_keeper.load() || ::getppid() == g_supervisor.load() ||
      g_log_fd.exchange(-1) != fd) {
    return;
  }
  [[maybe_unused]] const auto ignored = ::write(fd, k_orphaned_note, sizeof k_orphaned_note - 1);
  ::dup2(fd, STDOUT_FILENO);
  ::dup2(fd, STDERR_FILENO);
  ::close(fd);
}

namespace {

/// The functions of the experiment's process: signals, the messages to and from the
/// supervisor (core::protocol, sent by the package's _protocol only), the log kept open.
void add_process_functions(py::module_& module) {
  module.def(
      "shield_interrupts", [](bool on) { g_shielded.store(on); },
      "While on, SIGINT/SIGTERM do not interrupt Python (xrun kills on a second Ctrl-C).");
  module.def(
      "hold_interrupts",
      [](bool on) {
        g_held.store(on);
        if (!on && g_held_interrupt.exchange(false)) {
          PyErr_SetInterrupt();
        }
      },
      "While on, SIGINT/SIGTERM interrupt Python only once it is turned off again.");
  module.def(
      "interrupt_signal", [] { return g_interrupt_signal.load(); },
      "The signal that interrupted the experiment (SIGINT or SIGTERM), 0 for none.");
  module.def(
      "invocation", [] { return from_json(context().invocation); },
      "What this process is asked to do (core::protocol::Invocation).");
  module.def(
      "request",
      [](py::handle message) {
        const auto text = message_text(message);
        std::string reply;
        {
          py::gil_scoped_release release;
          send_line(text);
          reply = receive_line();
        }
        return from_json(nlohmann::json::parse(reply));
      },
      "Sends one message (plain data) to the supervisor and returns its reply.");
  module.def(
      "notify",
      [](py::handle message) {
        const auto text = message_text(message);
        py::gil_scoped_release release;
        try {
          send_line(text);
        } catch (const std::system_error&) {
          // The supervisor is gone: nobody to tell, and the run's record shows it.
        }
      },
      "Sends one message (plain data) to the supervisor without waiting for a reply.");
  module.def(
      "keep_log",
      [](const std::string& path) {
        const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) { // an OSError, which the caller lets go: the supervisor writes the log
          PyErr_SetFromErrnoWithFilename(PyExc_OSError, path.c_str());
          throw py::error_already_set();
        }
        g_supervisor.store(::getppid());
        g_log_keeper.store(::getpid());
        if (const int previous = g_log_fd.exchange(fd); previous >= 0) {
          ::close(previous);
        }
      },
      "Keeps the run's log open, to write to directly should the supervisor die.");
}

/// JSON in and out, and atomic writes: the package's I/O done in C++.
void add_data_functions(py::module_& module) {
  module.def(
      "dumps",
      [](py::handle value, py::handle fallback, int indent) {
        return to_json(value, fallback)
            .dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
      },
      py::arg("value"), py::arg("fallback"), py::arg("indent") = -1,
      "JSON text of `value`; `fallback(obj)` turns other objects into plain data.");
  module.def(
      "loads",
      [](const std::string& text) {
        auto parsed = nlohmann::json::parse(text, nullptr, false);
        if (parsed.is_discarded()) {
          throw py::value_error("not valid JSON");
        }
        return from_json(parsed);
      },
      "The value of a JSON text; ValueError when it is not JSON.");
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

/// Rules the C++ side keeps and the package calls rather than repeats: a module's parameters
/// read from its source, the run hash, did-you-mean, a record's stated value, a report's status.
void add_rule_functions(py::module_& module) {
  module.def(
      "scan_module",
      [](const std::string& path) {
        auto source = xrun::util::read_file(path).value_or("");
        if (!xrun::util::valid_utf8(source)) {
          // A module in the encoding its `# coding:` line declares (PEP 263): scanned as the
          // text Python reads. One that does not decode is refused by the compiler anyway.
          try {
            source = py::module_::import("importlib.util")
                         .attr("decode_source")(py::bytes(source))
                         .cast<std::string>();
          } catch (py::error_already_set&) {
            source.clear();
          }
        }
        const auto scan = xrun::core::scan_module(source);
        nlohmann::json assignments = nlohmann::json::array();
        for (const auto& assignment : scan.assignments) {
          assignments.push_back({{"name", assignment.name},
                                 {"annotation", assignment.annotation},
                                 {"line", assignment.line},
                                 {"value", assignment.value}});
        }
        return from_json({{"assignments", assignments},
                          {"descriptions", scan.descriptions},
                          {"hooks", scan.hook_descriptions}});
      },
      "The top-level assignments and :param/:hook descriptions of a module's source.");
  module.def(
      "run_hash",
      [](py::handle parameters, py::handle files) {
        const auto repr = py::module_::import("builtins").attr("repr");
        std::vector<xrun::ParameterRecord> records;
        for (const auto& record : to_json(parameters, repr)) {
          records.push_back(protocol::parameter_from_json(record));
        }
        std::vector<xrun::core::CodeFile> code;
        for (const auto item : files) {
          const auto file = item.cast<py::tuple>();
          code.push_back({file[0].cast<std::string>(), file[1].cast<std::string>()});
        }
        return xrun::core::run_hash(records, code).hash;
      },
      "The run hash of parameter records and (name, bytes) code files, as the supervisor "
      "records it.");
  module.def(
      "closest_match",
      [](const std::string& word, py::iterable candidates) -> py::object {
        std::vector<std::string> names;
        for (const auto candidate : candidates) {
          names.push_back(py::str(candidate).cast<std::string>());
        }
        const auto close = xrun::util::closest_match(word, names);
        return close ? py::str(*close) : py::object(py::none());
      },
      "The candidate closest to `word` when it is a likely typo of it (as xrun's did-you-mean "
      "hints choose everywhere), else None.");
  module.def(
      "run_is_lost",
      [](const py::dict& meta, double now) {
        nlohmann::json fields = nlohmann::json::object();
        const auto run = recorded_run(meta, fields);
        return run && xrun::core::is_lost(*run, now);
      },
      py::arg("meta"), py::arg("now"),
      "Whether a run whose meta (a dict as read from experiment_meta.json) records it as "
      "running is lost at `now` (seconds since the epoch), by xrun's own rule: its supervisor "
      "is gone from this host, or on another host its heartbeat is over a minute old.");
  module.def(
      "stated_value",
      [](py::handle record) {
        const auto repr = py::module_::import("builtins").attr("repr");
        const auto parameter = protocol::parameter_from_json(to_json(record, repr));
        return from_json(protocol::stated_value(parameter));
      },
      "The value a parameter record states, as a config or a sweep's manifest writes it: its "
      "`exact` text where JSON cannot hold the value, else its value.");
  module.def(
      "reported_status",
      [](py::handle outcome) {
        const auto repr = py::module_::import("builtins").attr("repr");
        const auto report = protocol::FinishReport::from_json(to_json(outcome, repr));
        return std::string(xrun::to_string(report.status()));
      },
      "The run's status ('done', 'failed', 'interrupted') by the fields of a \"finish\" report, "
      "as the supervisor records it.");
}

/// What plain python3 needs to talk to the watcher (`xrun watch`) the package started: the
/// control pipes, and leave for the watcher to trace this process.
void add_plain_functions(py::module_& module) {
  module.def(
      "connect",
      [](int control_in, int control_out) {
        context().control_in = control_in;
        context().control_out = control_out;
      },
      py::arg("control_in"), py::arg("control_out"),
      "Talks to a watcher through these descriptors from now on (replies in, messages out): "
      "what `request` and `notify` use.");
  module.def(
      "allow_tracer",
      [](long pid) {
        // Under Yama's ptrace_scope 1 only an ancestor may trace a process unless it names
        // its tracer; elsewhere the call is harmless.
        if (::prctl(PR_SET_PTRACER, static_cast<unsigned long>(pid), 0, 0, 0) != 0 &&
            errno != EINVAL) {
          throw std::system_error(errno, std::generic_category(), "prctl(PR_SET_PTRACER)");
        }
      },
      py::arg("pid"),
      "Lets process `pid` (the watcher) trace this one, to learn how it ends (0: nobody).");
}

/// The native threads (the series writer, the data saver) held still around every fork Python
/// makes (os.fork, multiprocessing, subprocess with a preexec_fn): the forked process copies
/// the heap and the locks as they are, and a lock or an allocator's state held by a thread that
/// does not exist there would stay held. The forked process gets writers of its own.
void quiesce_threads_around_fork() {
  const auto before = [] {
    tracker_before_fork();
    autosave_before_fork();
  };
  const auto after_in_parent = [] {
    autosave_after_fork_in_parent();
    tracker_after_fork_in_parent();
  };
  const auto after_in_child = [] {
    tracker_after_fork_in_child();
    autosave_after_fork_in_child();
  };
  py::module_::import("os").attr("register_at_fork")(
      py::arg("before") = py::cpp_function(before),
      py::arg("after_in_parent") = py::cpp_function(after_in_parent),
      py::arg("after_in_child") = py::cpp_function(after_in_child));
}

} // namespace

void define_module(py::module_& module, ModuleBuild build) {
  module.doc() = build == ModuleBuild::embedded
                     ? "The native part of xrun, inside experiments run by xrun."
                     : "The native part of xrun, for runs started from plain python3.";
  module.attr("__version__") = xrun::k_version;
  module.attr("MAX_DEPTH") = xrun::core::k_max_value_depth;
  // The package tells its two cases apart by this: inside `xrun run` (an invocation, a
  // supervisor) or in plain python3 (runs started through a watcher).
  module.attr("EMBEDDED") = build == ModuleBuild::embedded;
  if (!add_tracker(module.ptr()) || !add_autosave(module.ptr())) {
    throw py::error_already_set();
  }
  add_process_functions(module);
  add_data_functions(module);
  add_rule_functions(module);
  add_plain_functions(module);
  quiesce_threads_around_fork();
}

} // namespace xrun::python
