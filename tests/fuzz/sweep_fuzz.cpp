// Sweeps: the `sweep:` grammar of a config (grid, zip, random; range, linspace, logspace) and
// its expansion into variations, and `--sweep NAME=V1,V2`. The input's first line is a
// `--sweep` value, the rest a config's body below `extend: exp.py`.
#include "config/config.hpp"
#include "fuzz_support.hpp"
#include "sweep/expand.hpp"
#include "xrun/error.hpp"

namespace {

const xrun::fuzz::TempFolder k_folder;

const bool k_prepared = [] {
  xrun::fuzz::write_file(k_folder.path() / "exp.py", "LR = 0.1\n");
  return true;
}();

std::optional<std::string> no_environment(const std::string&) {
  return std::nullopt;
}

// How many variations `spec` expands to, at most `limit` + 1: the expansion itself refuses more
// than a million, which is allowed but too slow to be done on every input.
std::size_t variations_of(const xrun::config::SweepSpec& spec, std::size_t limit) {
  std::size_t count = 1;
  for (const auto& list : spec.grid) {
    count *= std::max<std::size_t>(list.values.size(), 1);
    if (count > limit) {
      return limit + 1;
    }
  }
  if (!spec.zip.empty()) {
    count *= std::max<std::size_t>(spec.zip.front().values.size(), 1);
  }
  if (!spec.random.empty()) {
    count *= static_cast<std::size_t>(std::max(spec.samples, 1LL));
  }
  return count > limit ? limit + 1 : count;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parts = xrun::fuzz::split_input(xrun::fuzz::text_of(data, size), "\n", 2);
  try {
    const auto list = xrun::sweep::parse_command_line_sweep(std::string(parts.front()));
    (void)list.values.size();
  } catch (const xrun::Error&) {
  }
  if (parts.size() < 2) {
    return 0;
  }
  xrun::fuzz::write_file(k_folder.path() / "s.yml", "extend: exp.py\n" + std::string(parts[1]));
  try {
    const auto config = xrun::config::load_config(k_folder.path() / "s.yml", true, no_environment);
    if (variations_of(config.sweep, 10000) <= 10000) {
      const auto variations = xrun::sweep::expand(config.sweep);
      (void)xrun::sweep::swept_names(config.sweep);
      (void)variations.size();
    }
  } catch (const xrun::Error&) {
  }
  return 0;
}
