#include "python/tracker.hpp"

#include "python/method_table.hpp"
#include "python/series_writer.hpp"
#include "python/summary.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace xrun::python {

namespace {

// Lives until exit: no teardown-order hazards. A forked process gets a fresh one (the parent's
// thread does not exist there, and its locks were taken for the fork).
SeriesWriter* g_writer = new SeriesWriter();

SeriesWriter& writer() {
  return *g_writer;
}

} // namespace

SeriesWriter& series_writer() {
  return writer();
}

namespace {

// Producer-side state, touched only with the GIL held.
PyObject* g_series = nullptr;          // dict: name -> index
PyObject* g_fallback = nullptr;        // track()'s Python path for everything but the fast path
PyObject* g_register = nullptr;        // log()'s Python path for a new series
std::vector<std::int64_t> g_last_step; // per series; -1 before its first point
std::int64_t g_last_log_step = -1;
// In a process the run's process forked, the run's series are not recorded (its writer lives
// in the run's process): they are refused until a run starts in the forked process itself.
bool g_forked = false;
// Counts track_start() and track_stop() calls: a log() whose registration of a new series ran
// Python code across the run's end sees it changed (and records nothing in the next run).
std::uint64_t g_run = 0;

bool refused_in_fork(const char* function) {
  if (g_forked) {
    PyErr_Format(PyExc_RuntimeError,
                 "%s() records values in the run's own process, not in a process it forked; "
                 "return them to it",
                 function);
  }
  return g_forked;
}

/// A small direct-mapped cache of name object -> series index: the same name object (a string
/// constant in the caller's loop) skips the dict lookup. Holds a reference to each key, so an
/// address cannot be reused by another string while cached.
struct CachedName {
  PyObject* key;
  int index;
};
std::array<CachedName, 16> g_names{};

void clear_names() {
  for (auto& slot : g_names) {
    Py_CLEAR(slot.key);
  }
}

/// The series index of `name`; -1 when it is not registered (with an error set on failure).
int series_index(PyObject* name) {
  auto& slot = g_names[(reinterpret_cast<std::uintptr_t>(name) >> 4) & 15u];
  if (slot.key == name) {
    return slot.index;
  }
  PyObject* found = g_series != nullptr ? PyDict_GetItemWithError(g_series, name) : nullptr;
  if (found == nullptr) {
    return -1;
  }
  const int index = static_cast<int>(PyLong_AsLong(found));
  if (PyUnicode_CheckExact(name)) {
    Py_XSETREF(slot.key, Py_NewRef(name));
    slot.index = index;
  }
  return index;
}

/// A float (numpy's float64 too) or an exact int as a double; false for anything else.
inline bool plain_number(PyObject* object, double& value) {
  if (PyFloat_Check(object)) {
    value = PyFloat_AS_DOUBLE(object);
    return true;
  }
  if (PyLong_CheckExact(object)) {
    value = PyLong_AsDouble(object);
    if (value == -1.0 && PyErr_Occurred()) {
      PyErr_Clear(); // too large: the slow path says so
      return false;
    }
    return true;
  }
  return false;
}

/// Waits for room in a full queue; false with a RuntimeError when the run was finished
/// meanwhile and nothing drains the queue any more.
bool wait_if_full(bool full, const char* function) {
  if (!full) {
    return true;
  }
  bool room = true;
  Py_BEGIN_ALLOW_THREADS;
  room = writer().wait_for_room();
  Py_END_ALLOW_THREADS;
  if (!room) {
    PyErr_Format(PyExc_RuntimeError, "%s(): the run finished while this call waited to record",
                 function);
  }
  return room;
}

PyObject* call_fallback(PyObject* const* args) {
  if (g_fallback == nullptr) {
    PyErr_SetString(PyExc_RuntimeError, "track() records series only while a run records");
    return nullptr;
  }
  return PyObject_Vectorcall(g_fallback, args, 2, nullptr);
}

PyObject* track(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 2) {
    PyErr_SetString(PyExc_TypeError, "track(name, value) takes two arguments");
    return nullptr;
  }
  const int index = series_index(args[0]);
  if (index < 0) {
    PyErr_Clear(); // an unhashable name, say: the slow path names it
    return call_fallback(args);
  }
  double value = 0;
  if (!plain_number(args[1], value)) {
    return call_fallback(args);
  }
  if (refused_in_fork("track")) {
    return nullptr;
  }
  const SeriesPoint point{static_cast<std::uint32_t>(index), ++g_last_step[index], value,
                          Clock::now(), nullptr};
  if (!wait_if_full(writer().push(&point, 1), "track")) {
    return nullptr;
  }
  Py_RETURN_NONE;
}

// -- log() ------------------------------------------------------------------------------------

/// A few elements on the stack, more on the heap: log() is called with a handful of metrics.
template <typename T> class SmallVector {
public:
  void add(const T& item) {
    if (m_size < m_local.size()) {
      m_local[m_size] = item;
    } else {
      m_more.push_back(item);
    }
    ++m_size;
  }
  T& operator[](std::size_t i) {
    return i < m_local.size() ? m_local[i] : m_more[i - m_local.size()];
  }
  std::size_t size() const { return m_size; }
  /// Contiguous elements (moved to the heap when there are more than fit on the stack).
  const T* data() {
    if (m_size <= m_local.size()) {
      return m_local.data();
    }
    m_more.insert(m_more.begin(), m_local.begin(), m_local.end()); // then data() only
    return m_more.data();
  }

private:
  std::array<T, 16> m_local;
  std::vector<T> m_more;
  std::size_t m_size = 0;
};

struct Metric {
  PyObject* name;
  PyObject* value;
  double number;
  int index;
};

struct LogCall {
  PyObject* data = nullptr;
  PyObject* step = nullptr;
  PyObject* stage = nullptr;
  SmallVector<Metric> metrics;
};

PyObject* g_word_data = nullptr; // interned "data", "step", "stage"
PyObject* g_word_step = nullptr;
PyObject* g_word_stage = nullptr;

bool is_word(PyObject* key, PyObject* word) {
  return key == word || PyUnicode_Compare(key, word) == 0;
}

/// The value of a metric as a double; numpy scalars, Decimal and the like through __float__.
/// bool is refused: a flag is not a measurement (and True would silently become 1.0).
bool metric_number(Metric& metric) {
  if (plain_number(metric.value, metric.number)) {
    return true;
  }
  PyNumberMethods* number = Py_TYPE(metric.value)->tp_as_number;
  if (!PyBool_Check(metric.value) && number != nullptr &&
      (number->nb_float != nullptr || number->nb_index != nullptr)) {
    metric.number = PyFloat_AsDouble(metric.value);
    if (metric.number != -1.0 || !PyErr_Occurred()) {
      return true;
    }
    PyObject* type = nullptr;
    PyObject* why = nullptr;
    PyObject* traceback = nullptr;
    PyErr_Fetch(&type, &why, &traceback); // the conversion's own reason ("too large", ...)
    const std::string value = repr_for_message(metric.value);
    PyErr_Format(PyExc_ValueError, "log(): the metric %R has no float value (%S): %s", metric.name,
                 why != nullptr ? why : Py_None, value.c_str());
    Py_XDECREF(type);
    Py_XDECREF(why);
    Py_XDECREF(traceback);
    return false;
  }
  PyErr_Format(PyExc_TypeError, "log(): the metric %R takes a number, not %s (%s)", metric.name,
               repr_for_message(metric.value).c_str(), Py_TYPE(metric.value)->tp_name);
  return false;
}

bool add_metric(LogCall& call, PyObject* name, PyObject* value) {
  if (!PyUnicode_Check(name)) {
    PyErr_Format(PyExc_TypeError, "log(): metric names are strings, not %s",
                 repr_for_message(name).c_str());
    return false;
  }
  Metric metric{name, value, 0.0, -1};
  if (!metric_number(metric)) {
    return false;
  }
  metric.index = series_index(name);
  if (metric.index < 0 && PyErr_Occurred()) {
    return false;
  }
  call.metrics.add(metric);
  return true;
}

/// Sorts log()'s arguments into data, step, stage and the keyword metrics (after data's).
bool parse_log(LogCall& call, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  if (nargs > 3) {
    PyErr_SetString(PyExc_TypeError, "log(data=None, step=None, stage=None, **metrics)");
    return false;
  }
  PyObject** slots[] = {&call.data, &call.step, &call.stage};
  for (Py_ssize_t i = 0; i < nargs; ++i) {
    *slots[i] = args[i];
  }
  const Py_ssize_t keywords = kwnames != nullptr ? PyTuple_GET_SIZE(kwnames) : 0;
  for (Py_ssize_t i = 0; i < keywords; ++i) {
    PyObject* key = PyTuple_GET_ITEM(kwnames, i);
    PyObject** slot = is_word(key, g_word_step)    ? &call.step
                      : is_word(key, g_word_stage) ? &call.stage
                      : is_word(key, g_word_data)  ? &call.data
                                                   : nullptr;
    if (slot != nullptr && *slot != nullptr) {
      PyErr_Format(PyExc_TypeError, "log() got %R twice", key);
      return false;
    }
    if (slot != nullptr) {
      *slot = args[nargs + i];
    }
  }
  if (call.data != nullptr && call.data != Py_None) {
    if (!PyDict_Check(call.data)) {
      PyErr_Format(PyExc_TypeError, "log() takes a dict of metrics, not %s (%s)",
                   repr_for_message(call.data).c_str(), Py_TYPE(call.data)->tp_name);
      return false;
    }
    Py_ssize_t position = 0;
    PyObject* name = nullptr;
    PyObject* value = nullptr;
    while (PyDict_Next(call.data, &position, &name, &value)) {
      if (!add_metric(call, name, value)) {
        return false;
      }
    }
  }
  for (Py_ssize_t i = 0; i < keywords; ++i) {
    PyObject* key = PyTuple_GET_ITEM(kwnames, i);
    if (!is_word(key, g_word_step) && !is_word(key, g_word_stage) && !is_word(key, g_word_data) &&
        !add_metric(call, key, args[nargs + i])) {
      return false;
    }
  }
  return true;
}

/// The step a log() call gives, as an int64; `given` false for None.
bool parse_step(PyObject* step, std::int64_t& value, bool& given) {
  given = step != nullptr && step != Py_None;
  if (!given) {
    return true;
  }
  PyObject* index = PyBool_Check(step) ? nullptr : PyNumber_Index(step);
  if (index == nullptr) {
    PyErr_Clear();
    PyErr_Format(PyExc_TypeError, "log(): step takes an int, not %s (%s)",
                 repr_for_message(step).c_str(), Py_TYPE(step)->tp_name);
    return false;
  }
  int overflow = 0;
  value = PyLong_AsLongLongAndOverflow(index, &overflow);
  Py_DECREF(index);
  if (overflow != 0) {
    PyErr_Format(PyExc_ValueError, "log(): step %s is out of range",
                 repr_for_message(step).c_str());
    return false;
  }
  return true;
}

/// The interned text of a stage (nullptr for none). A stage is a CSV column of its own, so one
/// with a comma, a quote or a line break is refused rather than quoted: every reader of the
/// series stays a plain split on commas.
bool parse_stage(PyObject* stage, const std::string*& text) {
  static PyObject* last_object = nullptr;
  static const std::string* last_text = nullptr;
  static auto* interned = new std::unordered_map<std::string, std::unique_ptr<std::string>>();
  text = nullptr;
  if (stage == nullptr || stage == Py_None) {
    return true;
  }
  if (stage == last_object) {
    text = last_text;
    return true;
  }
  if (!PyUnicode_Check(stage)) {
    PyErr_Format(PyExc_TypeError, "log(): stage takes a string, not %s (%s)",
                 repr_for_message(stage).c_str(), Py_TYPE(stage)->tp_name);
    return false;
  }
  Py_ssize_t size = 0;
  const char* utf8 = PyUnicode_AsUTF8AndSize(stage, &size);
  if (utf8 == nullptr) {
    return false;
  }
  const std::string value(utf8, static_cast<std::size_t>(size));
  if (value.find_first_of(",\"\r\n") != std::string::npos) {
    PyErr_Format(PyExc_ValueError,
                 "log(): stage %s cannot hold a comma, a quote or a line break (it is a column "
                 "of the series' CSV file)",
                 repr_for_message(stage).c_str());
    return false;
  }
  auto& slot = (*interned)[value];
  if (!slot) {
    slot = std::make_unique<std::string>(value);
  }
  Py_XSETREF(last_object, Py_NewRef(stage));
  last_text = text = slot.get();
  return true;
}

/// Makes a series of every metric not registered yet (through the Python side); false with
/// an error set when one cannot be.
bool register_new(LogCall& call) {
  for (std::size_t i = 0; i < call.metrics.size(); ++i) {
    Metric& metric = call.metrics[i];
    if (metric.index >= 0) {
      continue;
    }
    if (g_register == nullptr) {
      PyErr_SetString(PyExc_RuntimeError, "log() records series only while a run records");
      return false;
    }
    PyObject* name = Py_NewRef(metric.name); // the call may run code that drops it elsewhere
    const std::uint64_t run = g_run;
    PyObject* result = PyObject_CallOneArg(g_register, name);
    Py_XDECREF(result);
    if (result != nullptr && run != g_run) { // the run ended (the GIL was released meanwhile)
      Py_DECREF(name);
      PyErr_SetString(PyExc_RuntimeError, "log() records series only while a run records");
      return false;
    }
    metric.index = result != nullptr ? series_index(name) : -1;
    Py_DECREF(name);
    if (metric.index < 0) {
      if (!PyErr_Occurred()) {
        PyErr_Format(PyExc_RuntimeError, "log(): no series was made for %R", metric.name);
      }
      return false;
    }
  }
  return true;
}

PyObject* log_metrics(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  LogCall call;
  std::int64_t step = 0;
  bool given = false;
  const std::string* stage = nullptr;
  // Everything is checked before anything is recorded: a refused call records nothing.
  if (!parse_log(call, args, nargs, kwnames) || !parse_step(call.step, step, given) ||
      !parse_stage(call.stage, stage)) {
    return nullptr;
  }
  for (std::size_t i = 0; i < call.metrics.size(); ++i) {
    if (call.metrics[i].index < 0) {
      // New series: made by Python code, which may change the caller's dict; so the call
      // starts over with every name registered.
      return register_new(call) ? log_metrics(self, args, nargs, kwnames) : nullptr;
    }
  }
  if (refused_in_fork("log")) {
    return nullptr;
  }
  if (call.metrics.size() == 0) {
    Py_RETURN_NONE; // no point: not a step either
  }
  if (!given) {
    step = g_last_log_step + 1;
  }
  g_last_log_step = step;
  SmallVector<SeriesPoint> points;
  const std::uint64_t ticks = Clock::now();
  for (std::size_t i = 0; i < call.metrics.size(); ++i) {
    const Metric& metric = call.metrics[i];
    g_last_step[metric.index] = step;
    points.add({static_cast<std::uint32_t>(metric.index), step, metric.number, ticks, stage});
  }
  if (!wait_if_full(writer().push(points.data(), points.size()), "log")) {
    return nullptr;
  }
  Py_RETURN_NONE;
}

// -- set-up, summary, primary metric ----------------------------------------------------------

PyObject* track_start(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs < 1 || nargs > 3 || !PyCallable_Check(args[0]) ||
      (nargs > 1 && args[1] != Py_None && !PyCallable_Check(args[1])) ||
      (nargs > 2 && args[2] != Py_None && !PyUnicode_Check(args[2]))) {
    PyErr_SetString(PyExc_TypeError, "track_start(fallback, register=None, folder=None)");
    return nullptr;
  }
  if (g_forked) { // a run of the forked process's own: the parent's series are not its
    clear_names();
    Py_CLEAR(g_series);
    g_last_step.clear();
    g_last_log_step = -1;
    g_forked = false;
  }
  if (g_series == nullptr && (g_series = PyDict_New()) == nullptr) {
    return nullptr;
  }
  ++g_run;
  Py_XSETREF(g_fallback, Py_NewRef(args[0]));
  Py_CLEAR(g_register);
  if (nargs > 1 && args[1] != Py_None) {
    g_register = Py_NewRef(args[1]);
  }
  if (nargs > 2 && args[2] != Py_None) {
    const char* folder = PyUnicode_AsUTF8(args[2]);
    if (folder == nullptr) {
      return nullptr;
    }
    writer().set_folder(folder);
  }
  Py_RETURN_NONE;
}

PyObject* track_register(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 2 || !PyUnicode_Check(args[0]) || !PyUnicode_Check(args[1])) {
    PyErr_SetString(PyExc_TypeError, "track_register(name, path) takes two strings");
    return nullptr;
  }
  if (g_series == nullptr) { // not started, or the run ended while the caller got here
    PyErr_SetString(PyExc_RuntimeError, "track() and log() record series only while a run records");
    return nullptr;
  }
  const char* name = PyUnicode_AsUTF8(args[0]);
  const char* path = PyUnicode_AsUTF8(args[1]);
  if (name == nullptr || path == nullptr) {
    return nullptr;
  }
  // The GIL stays held: no other Python thread may push while the series list grows (the
  // writer thread is stopped meanwhile).
  const int index = writer().add(name, path);
  if (index < 0) {
    return PyErr_SetFromErrnoWithFilename(PyExc_OSError, path);
  }
  g_last_step.resize(static_cast<std::size_t>(index) + 1, -1);
  PyObject* key = PyLong_FromLong(index);
  if (key == nullptr || PyDict_SetItem(g_series, args[0], key) != 0) {
    Py_XDECREF(key);
    return nullptr;
  }
  Py_DECREF(key);
  Py_RETURN_NONE;
}

PyObject* track_stop(PyObject*, PyObject*) {
  // Producers are cut off while the GIL is still held: once it is released around close_all(),
  // a track() or log() of another thread finds no series (a RuntimeError), registers none and
  // pushes nothing, and summary calls are refused.
  ++g_run;
  clear_names();
  Py_CLEAR(g_series);
  Py_CLEAR(g_fallback);
  Py_CLEAR(g_register);
  g_last_step.clear();
  g_last_log_step = -1;
  writer().seal();
  Py_BEGIN_ALLOW_THREADS;
  writer().close_all();
  Py_END_ALLOW_THREADS;
  // The run's series are incomplete: its end must say so, as for data that was not saved.
  if (const auto& lost = writer().lost(); !lost.empty()) {
    return PyUnicode_FromStringAndSize(lost.data(), static_cast<Py_ssize_t>(lost.size()));
  }
  Py_RETURN_NONE;
}

PyMethodDef k_methods[] = {
    {"track", as_method(track), METH_FASTCALL,
     "track(name, value): append a number to the series `name` at its next step."},
    {"log", as_method(log_metrics), METH_FASTCALL | METH_KEYWORDS,
     "log(data=None, step=None, stage=None, **metrics): append every metric at one step."},
    {"track_start", as_method(track_start), METH_FASTCALL,
     "track_start(fallback, register=None, folder=None): take tracked values; "
     "`fallback(name, value)` gets what track()'s fast path does not handle, `register(name)` "
     "makes a series for log(); the summary goes to `folder`."},
    {"track_register", as_method(track_register), METH_FASTCALL,
     "track_register(name, path): start the series `name` in the file `path`."},
    {"track_stop", track_stop, METH_NOARGS,
     "Write all queued values and close the series; why values were lost, or None."},
    {nullptr, nullptr, 0, nullptr},
};

} // namespace

bool add_tracker(PyObject* module) {
  g_word_data = PyUnicode_InternFromString("data");
  g_word_step = PyUnicode_InternFromString("step");
  g_word_stage = PyUnicode_InternFromString("stage");
  if (g_word_data == nullptr || g_word_step == nullptr || g_word_stage == nullptr) {
    return false;
  }
  return PyModule_AddFunctions(module, k_methods) == 0 && add_summary(module);
}

void stop_tracker() {
  writer().close_all();
}

void tracker_before_fork() noexcept {
  writer().pause_for_fork();
}

void tracker_after_fork_in_parent() noexcept {
  writer().resume_after_fork();
}

void tracker_after_fork_in_child() noexcept {
  g_writer = new SeriesWriter(); // the parent's is left as it was, never touched here
  g_forked = true;
}

} // namespace xrun::python
