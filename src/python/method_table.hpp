// Entries of a C-API method table (PyMethodDef) for functions of other signatures than
// PyCFunction's (METH_FASTCALL, METH_KEYWORDS): the table stores every function as a
// PyCFunction and Python calls it by the flags.
#pragma once

#include <Python.h>

namespace xrun::python {

template <typename Function> PyCFunction as_method(Function function) {
  // Through a generic function pointer: a direct cast between function types warns.
  return reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(function));
}

} // namespace xrun::python
