#include "cli/commands.hpp"
#include "python/package_export.hpp"

#include <CLI/CLI.hpp>
#include <iostream>

namespace xrun::cli {

void add_python_path_command(CLI::App& app, Action& action) {
  auto* command = app.add_subcommand(
      "python-path", "Print a folder to put on PYTHONPATH so that plain python3 can import xrun");
  command->footer("Example: export PYTHONPATH=\"$(xrun python-path)${PYTHONPATH:+:$PYTHONPATH}\"\n"
                  "Then `python3 exp.py --LR 0.1` runs the experiment through xrun.");
  command->callback([&action] {
    action = [] {
      std::cout << python::exported_package_dir().string() << '\n';
      return 0;
    };
  });
}

} // namespace xrun::cli
