// The YAML config reader: the `extend` chain, `include:`, environment substitution, the
// sweep grammar and the resolved config. The input is up to three config files separated by
// a line `%%` (c.yml, b.yml, a.yml), beside a module exp.py and a mixin mix.py, so that
// `extend: b.yml` chains them; anything it cannot read must be a located ConfigError.
#include "config/config.hpp"
#include "fuzz_support.hpp"
#include "xrun/error.hpp"

#include <map>

namespace {

const xrun::fuzz::TempFolder k_folder;

// A fixed environment: variables that are set, one that is empty, the rest unset.
std::optional<std::string> environment(const std::string& name) {
  static const std::map<std::string, std::string> values{
      {"HOME", "/home/user"}, {"LR", "0.1"}, {"EMPTY", ""}, {"NAME", "run ${LR}"}};
  const auto found = values.find(name);
  if (found == values.end()) {
    return std::nullopt;
  }
  return found->second;
}

const bool k_prepared = [] {
  xrun::fuzz::write_file(k_folder.path() / "exp.py", "LR = 0.1\nEPOCHS: int = 3\n");
  xrun::fuzz::write_file(k_folder.path() / "mix.py", "def after_end(e):\n    pass\n");
  return true;
}();

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto files = xrun::fuzz::split_input(xrun::fuzz::text_of(data, size), "\n%%\n", 3);
  const char* const names[] = {"c.yml", "b.yml", "a.yml"};
  for (std::size_t i = 0; i < 3; ++i) {
    const auto file = k_folder.path() / names[i];
    if (i < files.size()) {
      xrun::fuzz::write_file(file, files[i]);
    } else {
      std::filesystem::remove(file);
    }
  }
  try {
    const auto config =
        xrun::config::load_config(k_folder.path() / "c.yml", size % 2 == 0, environment);
    (void)config.resolved_yaml(k_folder.path() / "results");
    (void)xrun::config::Config::from_json(config.to_json());
  } catch (const xrun::Error&) {
  }
  return 0;
}
