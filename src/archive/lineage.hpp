// What a function run was given and who took what it made: the inputs its meta records
// (`function.inputs`) and the runs of the archive whose inputs name it.
#pragma once

#include "xrun/meta.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace xrun::archive {

/// One input of a run, as its meta records it.
struct RunInput {
  nlohmann::ordered_json record; // {"name", "ref", "path", "sha256", "size", "run"?, ...}
  std::string name;
  std::string ref;
  std::string sha256;
  std::string run;    // the producing run's id; empty when the input is no run's output
  std::string listed; // that run as `archive list` shows it; empty when not in the archive
};

/// A run of the archive that took one of this run's outputs as an input.
struct RunConsumer {
  std::string listed; // the consuming run as `archive list` shows it
  std::string id;     // its meta id
  std::string path;   // its folder, absolute
  std::string input;  // the name of its input
  std::string output; // the name of this run's output it took ("" when the ref names a file)
};

struct Lineage {
  std::vector<RunInput> inputs;
  std::vector<RunConsumer> consumers;
};

/// The inputs `meta` records and the runs under `archive` that consume the run, found by the
/// meta ids their inputs name. A run without a `function` record (not a function run: it has no
/// outputs) or an `archive` that is not a folder finds nothing in the archive; a `function`
/// not shaped as xrun writes it adds no inputs.
Lineage lineage_of(const RunMeta& meta, const std::filesystem::path& archive);

/// {"inputs": [record + "listed"], "consumers": [{"run", "id", "path", "input", "output"}]},
/// as `archive show --json` gives them.
nlohmann::ordered_json inputs_json(const Lineage& lineage);
nlohmann::ordered_json consumers_json(const Lineage& lineage);

} // namespace xrun::archive
