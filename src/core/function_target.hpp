// `FILE.py:NAME`: a function of a Python module named where a module alone may be named (the
// file of `xrun run`, a config's `extend:`).
#pragma once

#include <string>
#include <string_view>

namespace xrun::core {

/// A module file and, for a function run, the name of the function in it.
struct FunctionTarget {
  std::string file;     // the module (or any other file named)
  std::string function; // the function's name; empty: the module itself
};

/// `word` split at its last `:` when the part before ends in `.py` and the part after is a
/// Python identifier (`mod.py:train`); otherwise the whole word is the file, so a file whose
/// name holds a colon (`runs:v2.py`, `a.py:b.yml`) stays what it is.
FunctionTarget split_function_target(std::string_view word);

/// Whether `name` is a Python identifier of ASCII letters, digits and `_`, not starting with
/// a digit.
bool is_identifier(std::string_view name);

} // namespace xrun::core
