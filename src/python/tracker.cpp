#include "python/tracker.hpp"

#include "core/diagnostics.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <fmt/format.h>
#include <mutex>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace xrun::python {

namespace {

struct Record {
  std::uint32_t series;
  std::uint64_t step;
  double value;
  double time;
};

struct Series {
  int fd = -1;
  std::string path;
  std::uint64_t next_step = 0;
};

constexpr std::size_t k_max_pending = 1u << 20; // records; ~32 MB before a producer waits
constexpr auto k_flush_interval = std::chrono::milliseconds(200);

/// Producers (always holding the GIL) append under a spin lock that the writer thread holds
/// only to swap buffers, so the common path is one uncontended atomic exchange.
class Tracker {
public:
  void push(std::uint32_t index, double value) {
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    const double time = static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
    Series& series = m_series[index];
    lock();
    m_pending.push_back({index, series.next_step++, value, time});
    const bool full = m_pending.size() >= k_max_pending;
    unlock();
    if (full) {
      wait_for_room();
    }
  }

  /// Returns the index of a new series writing to `path`; -1 with errno on failure.
  int add(const std::string& path) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (fd < 0) {
      return -1;
    }
    struct stat info {};
    if (::fstat(fd, &info) == 0 && info.st_size == 0) {
      try {
        util::write_all(fd, "step,value,time\n", path);
      } catch (const std::system_error&) {
        ::close(fd);
        return -1;
      }
    }
    // The writer thread reads m_series without the lock; stop it while the vector may move.
    stop();
    m_series.push_back({fd, path, 0});
    start();
    return static_cast<int>(m_series.size() - 1);
  }

  void stop() {
    if (!m_thread.joinable()) {
      return;
    }
    {
      std::lock_guard guard(m_mutex);
      m_stopping = true;
    }
    m_wake.notify_all();
    m_thread.join();
    m_stopping = false;
  }

  void close_all() {
    stop();
    for (auto& series : m_series) {
      if (series.fd >= 0) {
        ::close(series.fd);
        series.fd = -1;
      }
    }
  }

private:
  void lock() {
    while (m_spin.test_and_set(std::memory_order_acquire)) {
    }
  }
  void unlock() { m_spin.clear(std::memory_order_release); }

  void start() {
    m_thread = util::start_thread_without_signals([this] { run(); });
  }

  void wait_for_room() {
    {
      std::lock_guard guard(m_mutex);
      m_full = true; // the writer drains now instead of at its next tick
    }
    m_wake.notify_all();
    Py_BEGIN_ALLOW_THREADS;
    for (;;) {
      lock();
      const bool room = m_pending.size() < k_max_pending;
      unlock();
      if (room) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    Py_END_ALLOW_THREADS;
  }

  void run() {
    std::vector<Record> batch;
    for (;;) {
      bool stopping = false;
      {
        std::unique_lock guard(m_mutex);
        m_wake.wait_for(guard, k_flush_interval, [this] { return m_stopping || m_full; });
        stopping = m_stopping;
        m_full = false;
      }
      lock();
      batch.swap(m_pending);
      unlock();
      write(batch);
      batch.clear();
      if (stopping) {
        return;
      }
    }
  }

  void write(const std::vector<Record>& batch) {
    if (batch.empty()) {
      return;
    }
    std::vector<std::string> text(m_series.size());
    for (const auto& record : batch) {
      fmt::format_to(std::back_inserter(text[record.series]), "{},{},{:.3f}\n", record.step,
                     record.value, record.time);
    }
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (!text[i].empty() && m_series[i].fd >= 0) {
        try {
          util::write_all(m_series[i].fd, text[i], m_series[i].path);
        } catch (const std::system_error& error) {
          if (!m_reported) {
            m_reported = true;
            core::print_warning(
                fmt::format("{}; tracked values are being lost", error.what()));
          }
        }
      }
    }
  }

  std::vector<Series> m_series;
  std::vector<Record> m_pending;
  std::atomic_flag m_spin = ATOMIC_FLAG_INIT;
  std::mutex m_mutex;
  std::condition_variable m_wake;
  bool m_stopping = false;
  bool m_full = false; // a producer waits for room
  bool m_reported = false;
  std::thread m_thread;
};

Tracker& tracker() {
  static Tracker* instance = new Tracker(); // lives until exit: no teardown-order hazards
  return *instance;
}

PyObject* g_series = nullptr;   // dict: name -> index
PyObject* g_fallback = nullptr; // Python callable for everything but the fast path

PyObject* call_fallback(PyObject* const* args) {
  if (g_fallback == nullptr) {
    PyErr_SetString(PyExc_RuntimeError, "track() records series only while the experiment runs");
    return nullptr;
  }
  return PyObject_Vectorcall(g_fallback, args, 2, nullptr);
}

PyObject* track(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 2) {
    PyErr_SetString(PyExc_TypeError, "track(name, value) takes two arguments");
    return nullptr;
  }
  PyObject* index = g_series ? PyDict_GetItemWithError(g_series, args[0]) : nullptr;
  if (index == nullptr) {
    if (PyErr_Occurred()) {
      return nullptr;
    }
    return call_fallback(args);
  }
  double value = 0;
  PyObject* number = args[1];
  if (PyFloat_Check(number)) {
    value = PyFloat_AS_DOUBLE(number);
  } else if (PyLong_CheckExact(number)) {
    value = PyLong_AsDouble(number);
    if (value == -1.0 && PyErr_Occurred()) {
      return nullptr;
    }
  } else {
    return call_fallback(args);
  }
  tracker().push(static_cast<std::uint32_t>(PyLong_AsLong(index)), value);
  Py_RETURN_NONE;
}

PyObject* track_start(PyObject*, PyObject* fallback) {
  if (!PyCallable_Check(fallback)) {
    PyErr_SetString(PyExc_TypeError, "track_start(fallback) needs a callable");
    return nullptr;
  }
  if (g_series == nullptr && (g_series = PyDict_New()) == nullptr) {
    return nullptr;
  }
  Py_XSETREF(g_fallback, Py_NewRef(fallback));
  Py_RETURN_NONE;
}

PyObject* track_register(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 2 || !PyUnicode_Check(args[0]) || !PyUnicode_Check(args[1])) {
    PyErr_SetString(PyExc_TypeError, "track_register(name, path) takes two strings");
    return nullptr;
  }
  if (g_series == nullptr) {
    PyErr_SetString(PyExc_RuntimeError, "track_start() was not called");
    return nullptr;
  }
  const char* path = PyUnicode_AsUTF8(args[1]);
  if (path == nullptr) {
    return nullptr;
  }
  // The GIL stays held: no other Python thread may push() or add() while the series list
  // grows (the writer thread is stopped meanwhile).
  const int index = tracker().add(path);
  if (index < 0) {
    return PyErr_SetFromErrnoWithFilename(PyExc_OSError, path);
  }
  PyObject* key = PyLong_FromLong(index);
  if (key == nullptr || PyDict_SetItem(g_series, args[0], key) != 0) {
    Py_XDECREF(key);
    return nullptr;
  }
  Py_DECREF(key);
  Py_RETURN_NONE;
}

PyObject* track_stop(PyObject*, PyObject*) {
  Py_BEGIN_ALLOW_THREADS;
  tracker().close_all();
  Py_END_ALLOW_THREADS;
  Py_CLEAR(g_series);
  Py_CLEAR(g_fallback);
  Py_RETURN_NONE;
}

PyMethodDef k_methods[] = {
    {"track", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(track)), METH_FASTCALL,
     "track(name, value): append a number to the series `name`."},
    {"track_start", track_start, METH_O,
     "track_start(fallback): take tracked values; `fallback(name, value)` gets what the fast "
     "path does not handle."},
    {"track_register",
     reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(track_register)), METH_FASTCALL,
     "track_register(name, path): start the series `name` in the file `path`."},
    {"track_stop", track_stop, METH_NOARGS, "Write all queued values and close the series."},
    {nullptr, nullptr, 0, nullptr},
};

} // namespace

bool add_tracker(PyObject* module) {
  return PyModule_AddFunctions(module, k_methods) == 0;
}

void stop_tracker() {
  tracker().close_all();
}

} // namespace xrun::python
