#include "python/summary.hpp"

#include "python/json_bridge.hpp"
#include "python/method_table.hpp"
#include "python/series_writer.hpp"

#include <nlohmann/json.hpp>

namespace py = pybind11;

namespace xrun::python {

std::string repr_for_message(PyObject* object) {
  PyObject* repr = PyObject_Repr(object);
  const char* text = repr != nullptr ? PyUnicode_AsUTF8(repr) : nullptr;
  std::string result = text != nullptr ? text : "<unprintable>";
  Py_XDECREF(repr);
  PyErr_Clear();
  if (result.size() > 200) {
    result = result.substr(0, 197) + "...";
  }
  return result;
}

namespace {

bool check_folder(const char* function) {
  if (!series_writer().has_folder()) {
    PyErr_Format(PyExc_RuntimeError, "%s() records only while a run records", function);
    return false;
  }
  return true;
}

PyObject* set_primary(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 2 || !PyUnicode_Check(args[0]) || PyUnicode_GetLength(args[0]) == 0) {
    PyErr_SetString(PyExc_TypeError, "set_primary(name, mode) takes a series name and a mode");
    return nullptr;
  }
  const bool text = PyUnicode_Check(args[1]);
  const bool maximize = text && PyUnicode_CompareWithASCIIString(args[1], "max") == 0;
  const bool minimize = text && PyUnicode_CompareWithASCIIString(args[1], "min") == 0;
  if (!maximize && !minimize) {
    PyErr_Format(PyExc_ValueError, "the primary metric's mode is 'max' or 'min', not %s",
                 repr_for_message(args[1]).c_str());
    return nullptr;
  }
  const char* name = PyUnicode_AsUTF8(args[0]);
  if (name == nullptr || !check_folder("set_primary")) {
    return nullptr;
  }
  series_writer().set_primary(name, maximize);
  Py_RETURN_NONE;
}

/// summary_update()'s fallback for values that are not plain JSON: numpy's through tolist().
PyObject* plain_value(PyObject*, PyObject* value) {
  if (!PyType_Check(value) && PyObject_HasAttrString(value, "tolist") != 0) {
    return PyObject_CallMethod(value, "tolist", nullptr);
  }
  PyErr_Format(PyExc_TypeError,
               "summary values are plain JSON (numbers, strings, lists, dicts, None), not %s (%s)",
               repr_for_message(value).c_str(), Py_TYPE(value)->tp_name);
  return nullptr;
}

PyMethodDef k_plain_value = {"plain_value", plain_value, METH_O, nullptr};

PyObject* summary_update(PyObject*, PyObject* values) {
  if (!PyDict_Check(values)) {
    PyErr_Format(PyExc_TypeError, "summary() takes a dict, not %s",
                 repr_for_message(values).c_str());
    return nullptr;
  }
  if (!check_folder("summary")) {
    return nullptr;
  }
  static PyObject* fallback = PyCFunction_New(&k_plain_value, nullptr);
  nlohmann::json merged = nlohmann::json::object();
  Py_ssize_t position = 0;
  PyObject* key = nullptr;
  PyObject* value = nullptr;
  while (PyDict_Next(values, &position, &key, &value)) {
    if (!PyUnicode_Check(key)) {
      PyErr_Format(PyExc_TypeError, "summary keys are strings, not %s",
                   repr_for_message(key).c_str());
      return nullptr;
    }
    try {
      merged[PyUnicode_AsUTF8(key)] = to_json(value, fallback);
    } catch (py::error_already_set& error) {
      if (error.matches(PyExc_TypeError)) { // which key: the message names only the value
        PyErr_Format(PyExc_TypeError, "summary %R: %S", key, error.value().ptr());
        return nullptr;
      }
      error.restore();
      return nullptr;
    } catch (const std::exception& error) {
      PyErr_Format(PyExc_ValueError, "summary %R: %s", key, error.what());
      return nullptr;
    }
  }
  series_writer().merge_summary(merged); // all or nothing: merged once every value converted
  Py_RETURN_NONE;
}

PyMethodDef k_methods[] = {
    {"set_primary", as_method(set_primary), METH_FASTCALL,
     "set_primary(name, mode): keep the best ('max' or 'min') value of series `name`."},
    {"summary_update", summary_update, METH_O,
     "summary_update(dict): merge plain-JSON values into the run's summary."},
    {nullptr, nullptr, 0, nullptr},
};

} // namespace

bool add_summary(PyObject* module) {
  return PyModule_AddFunctions(module, k_methods) == 0;
}

} // namespace xrun::python
