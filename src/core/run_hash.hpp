// The run hash: what makes two runs the same computation, so that one need not be repeated.
#pragma once

#include "xrun/meta.hpp"

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace xrun::core {

struct CodeFile {
  std::string name; // as it is archived: experiment_code.py, base.py, mixin.py
  std::string content;
};

struct RunHash {
  std::string hash;              // 64 hex digits
  nlohmann::ordered_json inputs; // what went into it: parameter names, file names and hashes
};

/// The SHA-256 over the parameters (sorted by name; each with its declared type and its value
/// as canonical JSON, so 1 and 1.0 differ; or its `exact` repr, kept in the record's extra
/// when JSON cannot hold the value exactly) and the Python code (each file's SHA-256, in
/// order). Special parameters (`__DEBUG__`, `__PREFIX__`, `__INCLUDE__`) are left out: they
/// change where a run goes and which mixins load, and the mixins are among the files. Config
/// files are not code: their effect is in the parameter values.
RunHash run_hash(const std::vector<ParameterRecord>& parameters,
                 const std::vector<CodeFile>& files);

} // namespace xrun::core
