// The grammar of a config's `sweep:` section (grid, zip, random; lists, range, linspace,
// logspace): what the config reader makes of it, with the place of every entry. Expanding a
// spec into variations is the sweep layer's (sweep/expand.hpp).
#pragma once

#include "config/location.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace xrun::config {

/// One value of a swept parameter: as a `parameters:` entry's (`text` when it is converted by
/// the declared type, as a plain word or a command-line value is).
struct SweepValue {
  nlohmann::json value;
  std::optional<std::string> text;
};

/// A parameter varied over a list of values (a `grid:` or `zip:` entry, or `--sweep`).
struct SweepList {
  std::string name;
  Location where;
  std::vector<SweepValue> values;
};

/// A parameter drawn at random: `uniform: [low, high]`, `loguniform: [low, high]`,
/// `integer: [low, high]` (both included) or `choice: [values...]`.
struct SweepDraw {
  std::string name;
  Location where;
  std::string kind;
  std::vector<SweepValue> arguments;
};

/// A config's `sweep:` section: the grid's cartesian product, crossed with the zip's rows,
/// crossed with `samples` random draws (seeded: the same sweep always expands the same way).
struct SweepSpec {
  Location where; // of the `sweep:` key; line 0 when there is none
  std::vector<SweepList> grid;
  std::vector<SweepList> zip;
  std::vector<SweepDraw> random;
  long long samples = 0;
  long long seed = 0;

  bool empty() const { return grid.empty() && zip.empty() && random.empty(); }
};

namespace yaml_file {
struct Layer;
}

/// The `sweep:` section of one config file (an empty spec without one). Throws ConfigError at
/// the entry that does not fit the grammar.
SweepSpec read_sweep(yaml_file::Layer& layer);

} // namespace xrun::config
