#include "archive/inspect.hpp"
#include "cli/commands.hpp"
#include "scaffold/templates.hpp"

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

namespace xrun::cli {

void add_template_command(CLI::App& app, Action& action) {
  auto* group = app.add_subcommand(
      "template", "Start a new experiment, extension, config, mixin or run analysis from a file "
                  "that runs as generated");
  group->require_subcommand(1);
  struct Kind {
    const char* name;
    scaffold::Kind kind;
    const char* description;
    const char* argument;
  };
  const Kind kinds[] = {
      {"experiment", scaffold::Kind::experiment, "NAME.py: a complete experiment to edit",
       "The module's name (a Python identifier)"},
      {"extend", scaffold::Kind::extend,
       "NAME.py: an experiment extending --from BASE.py, listing the base's parameters",
       "The module's name (a Python identifier)"},
      {"config", scaffold::Kind::config,
       "NAME.yml: a config of --from EXP.py with every parameter and its description",
       "The config's name"},
      {"mixin", scaffold::Kind::mixin, "NAME.py: a mixin with a parameter and two hooks",
       "The module's name (a Python identifier)"},
      {"analysis", scaffold::Kind::analysis,
       "analysis_<id>.py: a script in cells that loads one recorded run and plots its series",
       "The run: a folder, a run id or a unique part of one"},
  };
  for (const auto& kind : kinds) {
    auto request = std::make_shared<scaffold::TemplateRequest>();
    request->kind = kind.kind;
    auto* sub = group->add_subcommand(kind.name, kind.description);
    sub->add_option(kind.kind == scaffold::Kind::analysis ? "run" : "name", request->name,
                    kind.argument)
        ->required();
    if (kind.kind == scaffold::Kind::extend || kind.kind == scaffold::Kind::config) {
      sub->add_option("--from", request->from, "The experiment module to start from")->required();
    }
    if (kind.kind == scaffold::Kind::analysis) {
      sub->add_option("--path", request->archive, "The archive folder (to find RUN by its id)")
          ->capture_default_str();
    }
    sub->add_option("--dir", request->folder, "Where to write the file")->capture_default_str();
    sub->add_flag("--force", request->force, "Replace a file that exists");
    sub->callback([request, &action] {
      action = [request] {
        if (request->kind == scaffold::Kind::analysis) {
          request->run = archive::resolve_run(request->archive, request->name);
        }
        return scaffold::make_template(*request, std::cout);
      };
    });
  }
}

} // namespace xrun::cli
