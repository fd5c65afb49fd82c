// Sweeps: the variations of an experiment a `sweep:` section or `--sweep` asks for.
#pragma once

#include "config/config.hpp"

#include <string>
#include <vector>

namespace xrun::sweep {

/// One variation: a setting for each swept parameter, located at its sweep entry (so that a
/// value the parameter's type refuses is reported there).
using Variation = std::vector<config::ParameterSetting>;

/// `NAME=V1,V2,...` from the command line as a grid list. Values are separated by commas
/// outside brackets and quotes; a value in quotes is taken as written without them
/// (`TAG='a,b',c` is the two values `a,b` and `c`). Each is converted by the parameter's type,
/// as `--NAME VALUE` is. Throws UsageError.
config::SweepList parse_command_line_sweep(const std::string& text);

/// Every variation, in order: the grid's cartesian product (its first parameter varies
/// slowest), each crossed with the zip's rows, each crossed with the random draws. The draws
/// come from a generator seeded with the spec's seed, so the same spec always gives the same
/// variations. Throws ConfigError at the entry that cannot be expanded (zip lists of different
/// lengths, bad bounds, an unknown distribution, more than a million variations).
std::vector<Variation> expand(const config::SweepSpec& spec);

/// The swept parameters' names, in the order of a variation's settings.
std::vector<std::string> swept_names(const config::SweepSpec& spec);

} // namespace xrun::sweep
