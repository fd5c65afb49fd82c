#include "python/json_bridge.hpp"

#include "core/value_limits.hpp"

#include <cmath>
#include <fmt/format.h>

namespace py = pybind11;

namespace xrun::python {

namespace {

// Both ways, a message may carry a value a few levels down (a config's parameters, a record's
// value): twice a value's own bound leaves room for that and keeps the C stack safe.
constexpr int k_max_depth = 2 * core::k_max_value_depth;

nlohmann::json convert(py::handle object, py::handle fallback, int depth) {
  if (depth > k_max_depth) {
    throw py::value_error(
        fmt::format("data nested more than {} levels deep (a cycle?)", k_max_depth));
  }
  PyObject* raw = object.ptr();
  if (raw == Py_None) {
    return nullptr;
  }
  if (PyBool_Check(raw)) {
    return raw == Py_True;
  }
  if (PyLong_Check(raw)) {
    int overflow = 0;
    const long long value = PyLong_AsLongLongAndOverflow(raw, &overflow);
    if (overflow == 0) {
      if (value == -1 && PyErr_Occurred()) {
        throw py::error_already_set();
      }
      return value;
    }
    return PyLong_AsDouble(raw); // beyond 64 bits: as close as JSON numbers get
  }
  if (PyFloat_Check(raw)) {
    const double value = PyFloat_AS_DOUBLE(raw);
    return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
  }
  if (PyUnicode_Check(raw)) {
    Py_ssize_t size = 0;
    const char* text = PyUnicode_AsUTF8AndSize(raw, &size);
    if (text == nullptr) {
      throw py::error_already_set();
    }
    return std::string(text, static_cast<std::size_t>(size));
  }
  // Containers are walked through snapshots that hold references: the fallback runs Python
  // code, during which another thread may change or free what is being serialised.
  if (PyDict_Check(raw)) {
    nlohmann::json result = nlohmann::json::object();
    const auto items = py::reinterpret_steal<py::list>(PyDict_Items(raw));
    if (!items) {
      throw py::error_already_set();
    }
    for (const auto item : items) {
      const auto pair = py::reinterpret_borrow<py::tuple>(item);
      const py::handle key = pair[0];
      const std::string name = PyUnicode_Check(key.ptr()) ? key.cast<std::string>()
                                                          : py::str(key).cast<std::string>();
      result[name] = convert(pair[1], fallback, depth + 1);
    }
    return result;
  }
  if (PyList_Check(raw) || PyTuple_Check(raw)) {
    nlohmann::json result = nlohmann::json::array();
    const auto items = py::reinterpret_steal<py::list>(PySequence_List(raw));
    if (!items) {
      throw py::error_already_set();
    }
    for (const auto item : items) {
      result.push_back(convert(item, fallback, depth + 1));
    }
    return result;
  }
  const py::object plain = fallback(object);
  if (plain.ptr() == raw) {
    throw py::type_error("the JSON fallback returned its argument unchanged");
  }
  return convert(plain, fallback, depth + 1);
}

py::object python_value(const nlohmann::json& value, int depth) {
  if (depth > k_max_depth) {
    throw py::value_error(fmt::format("JSON nested more than {} levels deep", k_max_depth));
  }
  switch (value.type()) {
  case nlohmann::json::value_t::null:
    return py::none();
  case nlohmann::json::value_t::boolean:
    return py::bool_(value.get<bool>());
  case nlohmann::json::value_t::number_integer:
    return py::int_(value.get<long long>());
  case nlohmann::json::value_t::number_unsigned:
    return py::int_(value.get<unsigned long long>());
  case nlohmann::json::value_t::number_float:
    return py::float_(value.get<double>());
  case nlohmann::json::value_t::string:
    return py::str(value.get_ref<const std::string&>());
  case nlohmann::json::value_t::array: {
    py::list list;
    for (const auto& item : value) {
      list.append(python_value(item, depth + 1));
    }
    return list;
  }
  case nlohmann::json::value_t::object: {
    py::dict dict;
    for (const auto& [key, item] : value.items()) {
      dict[py::str(key)] = python_value(item, depth + 1);
    }
    return dict;
  }
  default:
    return py::none();
  }
}

} // namespace

nlohmann::json to_json(py::handle object, py::handle fallback) {
  return convert(object, fallback, 0);
}

py::object from_json(const nlohmann::json& value) {
  return python_value(value, 0);
}

} // namespace xrun::python
