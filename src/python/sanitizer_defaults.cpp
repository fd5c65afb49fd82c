// Built only with XRUN_SANITIZE. CPython and pybind11 keep interpreter-lifetime allocations
// that Py_Finalize does not free (interned strings, static types, pybind11's internals); they
// are not xrun's leaks, and LeakSanitizer would fail every run that embeds Python. With libpython
// linked statically there is no library name to match, so CPython's allocator entry points are.
// Extension modules' own lifetime allocations are no more xrun's.

extern "C" const char* __lsan_default_suppressions();

extern "C" const char* __lsan_default_suppressions() {
  return "leak:libpython3\n"
         "leak:PyObject_Malloc\n"
         "leak:PyObject_Calloc\n"
         "leak:PyObject_Realloc\n"
         "leak:PyMem_Malloc\n"
         "leak:PyMem_RawMalloc\n"
         "leak:PyMem_RawCalloc\n"
         "leak:PyMem_RawRealloc\n"
         "leak:pybind11::detail::local_internals\n"
         "leak:pybind11::detail::get_internals\n"
         // Built outside CPython's allocator: a str's final buffer, and numpy's module-lifetime
         // tables (an experiment importing numpy would fail under LeakSanitizer otherwise).
         "leak:_PyUnicodeWriter_Finish\n"
         "leak:_multiarray_umath\n";
}
