// Starting the embedded Python interpreter. This header does not include pybind11, so the
// rest of xrun can use it without paying for (or depending on) Python headers.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xrun::python {

/// The interpreter xrun presents as `sys.executable`, and why.
struct PythonChoice {
  std::string executable;
  std::string warning; // non-empty when an active virtualenv could not be used
};

/// Picks `sys.executable` for the embedded interpreter: the active virtualenv's `bin/python`
/// (not resolved, so that the venv's site-packages are used) when its pyvenv.cfg names the
/// Python xrun was built with, else the build-time Python. `virtual_env` is $VIRTUAL_ENV.
PythonChoice choose_python(const char* virtual_env, std::string_view build_python,
                           std::string_view build_version);

/// The Python xrun was built against ("/usr/bin/python3") and its version ("3.11.2").
std::string_view build_python();
std::string_view build_python_version();

/// The embedded interpreter for the lifetime of this object; at most one per process.
/// `sys.executable` is set per choose_python(), so subprocess and multiprocessing "spawn"
/// pools started from the experiment run the right Python.
class Interpreter {
public:
  /// Starts the interpreter with `argv` as sys.argv. Prints the choose_python() warning to
  /// stderr. Throws PythonError when Python cannot start.
  explicit Interpreter(const std::vector<std::string>& argv);
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;
  ~Interpreter();

  /// Runs `code` in the namespace of `__main__`. Throws PythonError with the Python exception's
  /// type, message and traceback.
  void exec(const std::string& code);

  /// Evaluates the expression `code` and returns str() of the result. Throws PythonError.
  std::string eval_str(const std::string& code);
};

} // namespace xrun::python
