#include "cli/complete.hpp"

#include "archive/inspect.hpp"
#include "archive/runs.hpp"
#include "archive/trash.hpp"
#include "config/config.hpp"
#include "core/function_target.hpp"
#include "core/module_scan.hpp"
#include "python/package_export.hpp"
#include "sweep/manifest.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fmt/format.h>
#include <regex>
#include <set>

namespace xrun::cli {

namespace {

struct Candidate {
  std::string word;
  std::string description;
};

std::string first_line(std::string_view text, std::size_t limit = 70) {
  auto line = std::string(text.substr(0, text.find('\n')));
  if (line.size() > limit) {
    std::size_t cut = limit - 3;
    while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) {
      --cut; // not inside a UTF-8 character
    }
    line = line.substr(0, cut) + "...";
  }
  return line;
}

const CLI::Option* find_option(const CLI::App& node, std::string_view word) {
  const auto name = word.substr(0, word.find('='));
  for (const auto* option : node.get_options()) {
    if (!option->nonpositional()) {
      continue;
    }
    for (const auto& long_name : option->get_lnames()) {
      if (name == "--" + long_name) {
        return option;
      }
    }
    for (const auto& short_name : option->get_snames()) {
      if (name == "-" + short_name) {
        return option;
      }
    }
  }
  return nullptr;
}

bool takes_value(const CLI::Option* option) {
  return option != nullptr && option->get_expected_min() > 0;
}

std::vector<Candidate> option_candidates(const CLI::App& node) {
  std::vector<Candidate> found;
  for (const auto* option : node.get_options()) {
    if (!option->nonpositional()) {
      continue;
    }
    for (const auto& long_name : option->get_lnames()) {
      found.push_back({"--" + long_name, first_line(option->get_description())});
    }
  }
  return found;
}

std::vector<Candidate> command_candidates(const CLI::App& node) {
  std::vector<Candidate> found;
  for (const auto* sub :
       node.get_subcommands([](const CLI::App* s) { return !s->get_group().empty(); })) {
    found.push_back({sub->get_name(), first_line(sub->get_description())});
  }
  return found;
}

/// The parameters a module declares, and those of the bases it extends (found in its text as
/// `Experiment.extend("base.py", ...)`), read without Python.
void module_parameters(const std::filesystem::path& module, std::vector<Candidate>& found,
                       std::set<std::string>& seen, int depth) {
  std::optional<std::string> source;
  try {
    source = util::read_file(module);
  } catch (const std::exception&) {
    return;
  }
  if (!source || depth > 8) {
    return;
  }
  const auto scan = core::scan_module(*source);
  for (const auto& assignment : scan.assignments) {
    if (!core::is_upper_name(assignment.name) || assignment.name.starts_with("__") ||
        !seen.insert(assignment.name).second) {
      continue;
    }
    std::string description = assignment.annotation;
    if (const auto it = scan.descriptions.find(assignment.name); it != scan.descriptions.end()) {
      description += (description.empty() ? "" : ": ") + first_line(it->second);
    }
    found.push_back({"--" + assignment.name, description});
  }
  static const std::regex extend(
      R"(Experiment\.extend\(\s*(?:experiment_path\s*=\s*)?["']([^"']+)["'])");
  for (std::sregex_iterator it(source->begin(), source->end(), extend), end; it != end; ++it) {
    module_parameters(module.parent_path() / (*it)[1].str(), found, seen, depth + 1);
  }
}

/// The top-level functions of the module at `path`, read from its source; none when it cannot
/// be read (completion offers nothing rather than failing).
auto module_functions(const std::filesystem::path& path) {
  std::optional<std::string> source;
  try {
    source = util::read_file(path);
  } catch (const std::exception&) {
    source.reset();
  }
  return core::scan_module(source.value_or("")).functions;
}

/// The parameters of the top-level function `function` of `module`, lower case as declared:
/// `--lr` described by its annotation and default.
std::vector<Candidate> function_parameters(const std::filesystem::path& module,
                                           const std::string& function) {
  std::vector<Candidate> found;
  for (const auto& definition : module_functions(module)) {
    if (definition.name != function) {
      continue;
    }
    found.clear(); // a later definition of the name is the one Python keeps
    for (const auto& parameter : definition.parameters) {
      auto description = parameter.annotation;
      if (!parameter.default_value.empty()) {
        description += (description.empty() ? "= " : " = ") + parameter.default_value;
      }
      found.push_back({"--" + parameter.name, first_line(description)});
    }
  }
  return found;
}

/// `FILE.py:NAME` for each public top-level function of the module in `word` (`FILE.py:` and
/// the start of a name), described by its parameters.
std::vector<Candidate> function_candidates(const std::string& word) {
  const auto module = word.substr(0, word.rfind(".py:") + 3);
  std::vector<Candidate> found;
  std::set<std::string> seen;
  for (const auto& function : module_functions(module)) {
    if (function.name.starts_with("_") || !seen.insert(function.name).second) {
      continue;
    }
    std::vector<std::string> names;
    for (const auto& parameter : function.parameters) {
      names.push_back(parameter.name);
    }
    found.push_back(
        {module + ":" + function.name, first_line(fmt::format("({})", util::join(names, ", ")))});
  }
  return found;
}

/// The parameters of the experiment in `file` (a module, a function of one as FILE.py:NAME, or
/// a config extending either), and the ones every experiment module has.
std::vector<Candidate> experiment_parameters(const std::string& word) {
  const auto target = core::split_function_target(word);
  if (!target.function.empty()) {
    return function_parameters(target.file, target.function);
  }
  const std::filesystem::path file = word;
  std::vector<std::filesystem::path> modules{file};
  const auto extension = file.extension().string();
  if (extension == ".yml" || extension == ".yaml") {
    try {
      // Only the experiment and the mixins matter here: a variable set when the run starts
      // (or a value given on its command line) need not be set while it is typed.
      auto config =
          config::load_config(file, false, config::unset_as_empty(config::process_environment()));
      if (!config.function.empty()) {
        return function_parameters(config.experiment, config.function);
      }
      modules = {config.experiment};
      modules.insert(modules.end(), config.includes.begin(), config.includes.end());
    } catch (const std::exception&) {
      return {}; // a config that does not load completes nothing
    }
  }
  std::vector<Candidate> found;
  std::set<std::string> seen;
  for (const auto& module : modules) {
    module_parameters(module, found, seen, 0);
  }
  found.push_back({"--__INCLUDE__", "mixin modules to include"});
  found.push_back({"--__DEBUG__", "bool: run into the debug folder, replaced each time"});
  found.push_back({"--__PREFIX__", "str: a prefix for the run folder's name"});
  return found;
}

std::vector<Candidate> run_candidates(const std::filesystem::path& root) {
  std::vector<Candidate> found;
  std::error_code error;
  if (!std::filesystem::is_directory(root, error)) {
    return found;
  }
  try {
    const double now = util::to_epoch_seconds(util::Clock::now());
    for (const auto& run : archive::find_runs(root)) {
      const auto relative = run.relative();
      const auto slash = relative.rfind('/');
      found.push_back(
          {std::string(relative.substr(slash == std::string_view::npos ? 0 : slash + 1)),
           fmt::format("{} {}", run.status(now),
                       relative.substr(0, slash == std::string_view::npos ? 0 : slash))});
    }
  } catch (const std::exception&) {
  }
  return found;
}

/// The plugins in xrun's own folder and the user's, described by their docstring's first line
/// (read as text: completion never starts Python).
std::vector<Candidate> plugin_candidates() {
  std::vector<Candidate> found;
  std::vector<std::filesystem::path> folders{python::builtin_plugin_dir()};
  const char* config = std::getenv("XDG_CONFIG_HOME");
  const char* home = std::getenv("HOME");
  if (config && *config) {
    folders.emplace_back(std::filesystem::path(config) / "xrun" / "plugins");
  } else if (home && *home) {
    folders.emplace_back(std::filesystem::path(home) / ".config" / "xrun" / "plugins");
  }
  for (const auto& folder : folders) {
    std::error_code error;
    for (std::filesystem::directory_iterator it(folder, error), end; !error && it != end;
         it.increment(error)) {
      const auto& path = it->path();
      const auto name = path.stem().string();
      const bool module = path.extension() == ".py";
      if (name.empty() || name[0] == '_' || name[0] == '.' ||
          (!module && !std::filesystem::is_regular_file(path / "__init__.py", error))) {
        continue;
      }
      const auto text = util::read_file(module ? path : path / "__init__.py").value_or("");
      std::string description;
      if (text.starts_with("\"\"\"")) {
        description = first_line(std::string_view(text).substr(3));
        description = description.substr(0, description.find("\"\"\""));
      }
      std::erase_if(found, [&](const Candidate& other) { return other.word == name; });
      found.push_back({name, description});
    }
  }
  return found;
}

/// Where the words typed so far lead: the command, the words it was given that are no
/// command's or option's, and the archive they name (`--path`).
struct Position {
  CLI::App* node = nullptr;
  std::vector<std::string> positionals;
  std::string archive = "results";

  bool experiment_command() const {
    return node->get_name() == "run" || node->get_name() == "reproduce";
  }
};

Position walk(CLI::App& app, const std::vector<std::string>& words) {
  Position position;
  position.node = &app;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const auto& word = words[i];
    if (word.starts_with("-")) {
      const auto* option = find_option(*position.node, word);
      const bool parameter =
          !option && position.experiment_command() && !position.positionals.empty();
      if (word.starts_with("--path=")) {
        position.archive = word.substr(7);
      }
      // A parameter given bare (a bool) is followed by the next option, not by its value.
      const bool value_follows =
          i + 1 < words.size() &&
          (takes_value(option) || (parameter && !words[i + 1].starts_with("--")));
      if (value_follows && word.find('=') == std::string::npos) {
        if (word == "--path") {
          position.archive = words[i + 1];
        }
        ++i;
      }
      continue;
    }
    CLI::App* sub = nullptr;
    if (position.positionals.empty()) {
      for (auto* candidate : position.node->get_subcommands([](CLI::App*) { return true; })) {
        if (candidate->get_name() == word) {
          sub = candidate;
        }
      }
    }
    if (sub) {
      position.node = sub;
    } else {
      position.positionals.push_back(word);
    }
  }
  return position;
}

/// After `run FILE` or `reproduce RUN`: the experiment's parameters and the command's options,
/// unless a parameter's value is being typed.
std::vector<Candidate> parameter_candidates(const Position& position, const std::string& previous,
                                            bool previous_is_option, const std::string& current,
                                            std::ostream& out) {
  if (previous == "--__INCLUDE__") {
    out << ":files py\n";
    return {};
  }
  if (previous.starts_with("--") && !previous_is_option &&
      previous.find('=') == std::string::npos && !current.starts_with("--")) {
    return {}; // the value of a parameter
  }
  std::vector<Candidate> found;
  if (position.node->get_name() == "run") {
    found = experiment_parameters(position.positionals.front());
  } else {
    std::filesystem::path folder = position.positionals.front();
    try {
      folder = archive::resolve_run(position.archive, position.positionals.front());
    } catch (const std::exception&) {
      return {}; // no such run: nothing to offer
    }
    // A function run's function, in the module archived as experiment_code.py.
    std::string function;
    try {
      const auto meta = read_meta(folder);
      if (const auto record = meta.extra.find("function");
          record != meta.extra.end() && record->is_object()) {
        function = record->value("name", "");
      }
    } catch (const std::exception&) {
    }
    const auto code = (folder / "experiment_code.py").string();
    found = experiment_parameters(function.empty() ? code : code + ":" + function);
  }
  const auto own = option_candidates(*position.node);
  found.insert(found.end(), own.begin(), own.end());
  return found;
}

/// A command's arguments: runs, sweeps, shells, or files and folders (a directive on `out`).
std::vector<Candidate> argument_candidates(const Position& position, std::ostream& out) {
  const auto& name = position.node->get_name();
  if (name == "run") {
    out << ":files py yml yaml\n";
    return {};
  }
  if (name == "extract") {
    out << ":files zst tzst gz tgz zip\n";
    return {};
  }
  std::vector<Candidate> found;
  if (name == "completions") {
    found = {{"bash", ""}, {"zsh", ""}, {"fish", ""}};
  } else if (name == "show" || name == "tail" || name == "diff" || name == "reproduce" ||
             name == "analysis" || name == "delete" || name == "modify") {
    found = run_candidates(position.archive);
  } else if (name == "restore") {
    found = run_candidates(archive::trash_of(position.archive));
  } else if ((name == "status" || name == "resume" || name == "retry" || name == "cancel") &&
             position.positionals.empty()) {
    for (const auto& folder : sweep::find_manifests(position.archive)) {
      found.push_back({folder.filename().string(),
                       "sweep in " + folder.parent_path().parent_path().string()});
    }
  }
  return found;
}

/// The shell's directive for the value of option `previous`: folders or files, or nothing.
void value_directive(const std::string& previous, std::ostream& out) {
  if (previous == "--path" || previous == "--dir") {
    out << ":dirs\n";
  } else if (previous == "--from") {
    out << ":files py\n";
  } else if (previous == "-o" || previous == "--output") {
    out << ":files\n";
  }
}

} // namespace

int complete(CLI::App& app, const std::vector<std::string>& given, std::ostream& out) {
  std::vector<std::string> words = given.empty() ? std::vector<std::string>{""} : given;
  const std::string current = words.back();
  words.pop_back();
  const auto position = walk(app, words);
  const auto& node = *position.node;

  const std::string previous = words.empty() ? std::string() : words.back();
  const auto* previous_option = find_option(node, previous);
  std::vector<Candidate> found;
  if (position.experiment_command() && (previous == "--plugin" || previous == "--no-plugin")) {
    found = plugin_candidates();
  } else if (previous == "--launcher") {
    found = {{"local", "here, with -j workers"}, {"slurm", "one Slurm job array"}};
  } else if (takes_value(previous_option) && previous.find('=') == std::string::npos) {
    value_directive(previous, out);
  } else if (position.experiment_command() && !position.positionals.empty()) {
    found = parameter_candidates(position, previous, previous_option != nullptr, current, out);
  } else if (current.starts_with("-")) {
    found = option_candidates(node);
  } else if (!command_candidates(node).empty() && position.positionals.empty()) {
    found = command_candidates(node);
  } else if (position.experiment_command() && node.get_name() == "run" &&
             current.find(".py:") != std::string::npos) {
    found = function_candidates(current);
  } else {
    found = argument_candidates(position, out);
  }
  for (const auto& candidate : found) {
    if (candidate.word.starts_with(current)) {
      out << candidate.word;
      if (!candidate.description.empty()) {
        out << '\t' << candidate.description;
      }
      out << '\n';
    }
  }
  return 0;
}

} // namespace xrun::cli
