// Built only with XRUN_SANITIZE. CPython and pybind11 keep interpreter-lifetime allocations
// that Py_Finalize does not free (interned strings, static types, pybind11's internals); they
// are not xrun's leaks, and LeakSanitizer would fail every run that embeds Python.

extern "C" const char* __lsan_default_suppressions();

extern "C" const char* __lsan_default_suppressions() {
  return "leak:libpython3\n"
         "leak:pybind11::detail::local_internals\n"
         "leak:pybind11::detail::get_internals\n";
}
