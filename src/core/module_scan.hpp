// Reading an experiment module's parameters from its source, without Python.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace xrun::core {

/// A name assigned at the top level of a module.
struct Assignment {
  std::string name;
  std::string annotation; // the annotation's source text (`list[int]`), empty when none
  int line = 0;           // 1-based
  std::string value;      // the assigned expression's source text (`[8, 8]`)
};

/// A parameter of a function: `name: annotation = default`.
struct FunctionParameter {
  std::string name;
  std::string annotation;    // its source text, empty when none
  std::string default_value; // its source text, empty when none
};

/// A function defined at the top level of a module (`def NAME(...)`), which `xrun run
/// FILE.py:NAME` runs: its parameters are given on the command line as `--name value`.
struct FunctionDefinition {
  std::string name;
  int line = 0;                              // of `def`, 1-based
  std::vector<FunctionParameter> parameters; // in order, without `*args`, `**kwargs`, `/`, `*`
};

struct ModuleScan {
  std::vector<Assignment> assignments;             // first assignment of each name, in order
  std::vector<FunctionDefinition> functions;       // top-level `def`s, in order
  std::map<std::string, std::string> descriptions; // `# :param NAME:` blocks
  std::map<std::string, std::string> hook_descriptions; // `# :hook NAME:` blocks
};

/// Scans Python source for top-level `NAME = ...` and `NAME: annotation = ...` statements,
/// top-level function definitions and description comment blocks:
///
///     # :param LR:
///     #     The learning rate. Indented comment lines directly below
///     #     continue the description.
///
/// Strings (also triple-quoted and f-strings), brackets spanning lines and backslash
/// continuations are understood, so only real top-level statements count. Never throws: text
/// it cannot make sense of is skipped.
ModuleScan scan_module(std::string_view source);

/// Python's str.isupper() for identifiers: at least one letter, and no lower-case letter.
bool is_upper_name(std::string_view name);

} // namespace xrun::core
