// How large a parameter value xrun takes, wherever it comes from (the command line, a config,
// the environment, `--sweep`). Every converter on the way (YAML, JSON, Python literals, the
// bridge between C++ and Python) checks these bounds, so that no input can exhaust the stack
// or the memory; a value beyond them is bad input.
#pragma once

#include <cstddef>

namespace xrun::core {

/// Levels of nesting a value may have (`[[1]]` has two). Python's own parser stops at 200
/// nested brackets; 100 leaves room for the records that carry a value.
inline constexpr int k_max_value_depth = 100;

/// Nodes the values of one config file may expand to, YAML aliases counted at every use: far
/// more than a config holds, and converted, checked and recorded in about a second.
inline constexpr std::size_t k_max_config_nodes = 100000;

/// Bytes of text the values of one config file may expand to, aliases counted at every use.
inline constexpr std::size_t k_max_config_text = 10 * 1024 * 1024;

} // namespace xrun::core
