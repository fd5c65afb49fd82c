#include "python/autosave.hpp"

#include "python/method_table.hpp"
#include "util/process.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace xrun::python {

namespace {

class Autosave {
public:
  void start(PyObject* save, double interval) {
    stop();
    Py_XSETREF(m_save, Py_NewRef(save));
    m_interval = std::chrono::duration<double>(interval);
    m_stopping = false;
    m_interpreter = PyInterpreterState_Get();
    settle(false); // until the new thread has set itself up
    m_thread = util::start_thread_without_signals([this] { run(); });
  }

  void changed() { m_changed.store(true, std::memory_order_relaxed); }

  /// With the GIL held: the thread may be waiting for it, so it is released while joining.
  void stop() {
    if (m_thread.joinable()) {
      {
        std::lock_guard guard(m_mutex);
        m_stopping = true;
      }
      m_wake.notify_all();
      Py_BEGIN_ALLOW_THREADS;
      m_thread.join();
      settle(true);
      Py_END_ALLOW_THREADS;
      PyThreadState_Delete(m_state); // cleared by the thread; freed with the GIL held
      m_state = nullptr;
    }
    Py_CLEAR(m_save);
  }

  /// Before a fork, with the GIL held: waits until the thread (if any) is settled in its loop,
  /// where without the GIL it only waits (for its tick or for the GIL) and allocates nothing,
  /// and keeps it from leaving the loop until resume_after_fork().
  void pause_for_fork() {
    std::unique_lock guard(m_mutex);
    m_wake.wait(guard, [this] { return m_settled; });
    guard.release(); // held across the fork
  }
  void resume_after_fork() { m_mutex.unlock(); }

private:
  void run() {
    // One thread state for the thread's life: PyGILState_Ensure would make one, and
    // PyGILState_Release free it, without the GIL at every save.
    m_state = PyThreadState_New(m_interpreter); // also this thread's PyGILState state
    settle(true);
    for (;;) {
      {
        std::unique_lock guard(m_mutex);
        if (m_wake.wait_for(guard, m_interval, [this] { return m_stopping.load(); })) {
          break;
        }
      }
      if (!m_changed.exchange(false, std::memory_order_relaxed)) {
        continue;
      }
      PyEval_RestoreThread(m_state);
      if (!m_stopping) {
        PyObject* result = PyObject_CallNoArgs(m_save);
        if (result == nullptr) {
          // A value that cannot be saved now may be fine later; the final save reports it.
          PyErr_Clear();
          m_changed.store(true, std::memory_order_relaxed);
        }
        Py_XDECREF(result);
      }
      PyEval_SaveThread();
    }
    PyEval_RestoreThread(m_state);
    PyThreadState_Clear(m_state); // stop() frees it once the thread is gone
    PyEval_SaveThread();
    settle(false); // the thread's end frees memory without the GIL: forks wait for the join
  }

  void settle(bool settled) {
    {
      std::lock_guard guard(m_mutex);
      m_settled = settled;
    }
    m_wake.notify_all();
  }

  PyObject* m_save = nullptr;
  PyInterpreterState* m_interpreter = nullptr;
  PyThreadState* m_state = nullptr; // the thread's, made by it
  std::chrono::duration<double> m_interval{1.0};
  std::atomic<bool> m_changed{false};
  std::mutex m_mutex;
  std::condition_variable m_wake;
  std::atomic<bool> m_stopping{false};
  // Under m_mutex: no thread, or the thread is in its loop (not starting, not ending).
  bool m_settled = true;
  std::thread m_thread;
};

// Lives until exit: no teardown-order hazards. A forked process gets a fresh one (the
// parent's thread does not exist there).
Autosave* g_autosave = new Autosave();

Autosave& autosave() {
  return *g_autosave;
}

PyObject* autosave_start(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 2 || !PyCallable_Check(args[0])) {
    PyErr_SetString(PyExc_TypeError, "autosave_start(save, interval)");
    return nullptr;
  }
  const double interval = PyFloat_AsDouble(args[1]);
  if (interval == -1.0 && PyErr_Occurred()) {
    return nullptr;
  }
  autosave().start(args[0], interval);
  Py_RETURN_NONE;
}

PyObject* data_changed(PyObject*, PyObject*) {
  autosave().changed();
  Py_RETURN_NONE;
}

PyObject* autosave_stop(PyObject*, PyObject*) {
  autosave().stop();
  Py_RETURN_NONE;
}

/// `experiment[key] = value` in C: `key` ("a/b/c") walks (and makes) nested dicts of the
/// experiment's `data`, then the data is marked changed. A method descriptor (below), so that
/// Python calls it with the experiment as its first argument.
PyObject* data_setitem(PyObject* experiment, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 2) {
    PyErr_SetString(PyExc_TypeError, "experiment[key] = value");
    return nullptr;
  }
  PyObject* key = args[0];
  if (!PyUnicode_Check(key)) {
    PyErr_Format(PyExc_TypeError, "data keys are strings like 'a/b/c', not %s",
                 Py_TYPE(key)->tp_name);
    return nullptr;
  }
  static PyObject* data_name = PyUnicode_InternFromString("data");
  PyObject* node = PyObject_GetAttr(experiment, data_name); // a new reference
  const Py_ssize_t length = PyUnicode_GET_LENGTH(key);
  Py_ssize_t start = 0;
  while (node != nullptr) {
    if (!PyDict_Check(node)) {
      PyErr_SetString(PyExc_TypeError, "the experiment's data is not a dict");
      break;
    }
    const Py_ssize_t slash = PyUnicode_FindChar(key, '/', start, length, 1);
    if (slash == -2) {
      break;
    }
    if (slash == -1) { // the last part: the value's own key
      PyObject* last = start == 0 ? Py_NewRef(key) : PyUnicode_Substring(key, start, length);
      const int failed = last == nullptr || PyDict_SetItem(node, last, args[1]) != 0;
      Py_XDECREF(last);
      Py_DECREF(node);
      if (failed) {
        return nullptr;
      }
      autosave().changed(); // saved in the background within a second
      Py_RETURN_NONE;
    }
    PyObject* part = PyUnicode_Substring(key, start, slash);
    PyObject* child = part != nullptr ? PyDict_GetItemWithError(node, part) : nullptr;
    if (child != nullptr && PyDict_Check(child)) {
      Py_INCREF(child);
    } else if (part != nullptr && !PyErr_Occurred()) {
      child = PyDict_New(); // missing, or a value that now becomes a branch
      if (child != nullptr && PyDict_SetItem(node, part, child) != 0) {
        Py_CLEAR(child);
      }
    } else {
      child = nullptr;
    }
    Py_XDECREF(part);
    Py_DECREF(node);
    node = child;
    start = slash + 1;
  }
  Py_XDECREF(node);
  return nullptr;
}

PyMethodDef k_data_setitem = {
    "data_setitem", as_method(data_setitem), METH_FASTCALL,
    "e[key] = value: store `value` under the '/'-separated key of e.data."};

PyMethodDef k_methods[] = {
    {"autosave_start", as_method(autosave_start), METH_FASTCALL,
     "autosave_start(save, interval): call save() in the background after data changes."},
    {"data_changed", data_changed, METH_NOARGS, "Mark the experiment's data as changed."},
    {"autosave_stop", autosave_stop, METH_NOARGS, "Stop the background saving."},
    {nullptr, nullptr, 0, nullptr},
};

} // namespace

bool add_autosave(PyObject* module) {
  if (PyModule_AddFunctions(module, k_methods) != 0) {
    return false;
  }
  // A method descriptor of `object` binds to any instance, and Python calls it as a method
  // without making a bound method first: `Experiment.__setitem__ = _xrun.data_setitem`.
  PyObject* method = PyDescr_NewMethod(&PyBaseObject_Type, &k_data_setitem);
  if (method == nullptr || PyModule_AddObject(module, "data_setitem", method) != 0) {
    Py_XDECREF(method);
    return false;
  }
  return true;
}

void stop_autosave() {
  autosave().stop();
}

void autosave_before_fork() {
  autosave().pause_for_fork();
}

void autosave_after_fork_in_parent() {
  autosave().resume_after_fork();
}

void autosave_after_fork_in_child() {
  g_autosave = new Autosave(); // the parent's holds its thread's handle: never touched here
}

} // namespace xrun::python
