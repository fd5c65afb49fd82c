// Reading a module's parameters and functions from Python source without Python: any text is
// scanned without throwing, and `FILE.py:NAME` is split without throwing either.
#include "core/function_target.hpp"
#include "core/module_scan.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = xrun::fuzz::text_of(data, size);
  const auto scan = xrun::core::scan_module(text);
  for (const auto& assignment : scan.assignments) {
    (void)xrun::core::is_upper_name(assignment.name);
  }
  for (const auto& function : scan.functions) {
    (void)xrun::core::is_identifier(function.name);
  }
  const auto first_line = text.substr(0, text.find('\n'));
  (void)xrun::core::split_function_target(first_line);
  return 0;
}
