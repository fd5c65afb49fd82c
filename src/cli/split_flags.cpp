// After the FILE or RUN of `run` and `reproduce`, the words are the experiment's parameters
// with xrun's own flags among them: told apart by hand, from the table in run_flags.cpp
// (a parameter's value may be anything, `-v` included, so CLI11 cannot parse them).
#include "cli/run_flags.hpp"
#include "core/diagnostics.hpp"
#include "util/strings.hpp"
#include "xrun/error.hpp"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <map>

namespace xrun::cli {

namespace {

/// `-j N`, `-jN`, `--jobs N` or `--jobs=N` given after the file.
int jobs_value(const std::string& text) {
  try {
    std::size_t used = 0;
    const int jobs = std::stoi(text, &used);
    if (used == text.size() && jobs >= 1) {
      return jobs;
    }
  } catch (const std::exception&) {
  }
  throw UsageError(fmt::format("-j {}: the number of parallel runs is a whole number from 1",
                               util::shorten(text)));
}

/// `--plugin NAME`, `--plugin NAME:SETTING=VALUE` or `--no-plugin NAME` as a plugin choice for
/// the experiment process.
nlohmann::json plugin_choice(const std::string& flag, const std::string& word) {
  const bool enable = flag == "--plugin";
  const auto colon = word.find(':');
  const auto name = word.substr(0, colon);
  const auto where = fmt::format("{} {}", flag, util::shorten(word));
  const bool identifier = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0])) &&
                          std::all_of(name.begin(), name.end(),
                                      [](unsigned char c) { return std::isalnum(c) || c == '_'; });
  if (!identifier) {
    throw UsageError(fmt::format("{}: '{}' is not a plugin name", where, util::shorten(name)),
                     "name a plugin as `xrun plugins list` shows it, e.g. --plugin notify");
  }
  nlohmann::json choice = {{"name", name}, {"enabled", enable}, {"where", where}};
  if (colon != std::string::npos) {
    const auto setting = word.substr(colon + 1);
    const auto equals = setting.find('=');
    if (!enable || equals == std::string::npos || equals == 0) {
      throw UsageError(fmt::format("{}: a setting is given as NAME:SETTING=VALUE", where),
                       "e.g. --plugin notify:file=runs.log");
    }
    choice["settings"] = {{setting.substr(0, equals), setting.substr(equals + 1)}};
  }
  return choice;
}

/// Keeps `value` of `flag` (named `name`) given after the file in `options`.
void take(RunOptions& options, const RunFlag& flag, const std::string& name, std::string value) {
  switch (flag.kind) {
  case Kind::toggle:
    options.*std::get<bool RunOptions::*>(flag.field) = true;
    break;
  case Kind::list:
    (options.*std::get<std::vector<std::string> RunOptions::*>(flag.field))
        .push_back(std::move(value));
    break;
  case Kind::text:
    options.*std::get<std::optional<std::string> RunOptions::*>(flag.field) = std::move(value);
    break;
  case Kind::jobs:
    options.*std::get<int RunOptions::*>(flag.field) = jobs_value(value);
    break;
  case Kind::plugin:
    options.plugins.push_back(plugin_choice(name, value));
    break;
  case Kind::archive: // only before RUN: never found after it
    break;
  case Kind::launcher:
    set_launcher_flag(options.launcher, name, value);
    break;
  }
}

/// A word after the file naming one of xrun's flags: the flag, the name used, and the value
/// given in the same word (`--tag=x`, `-j4`).
struct FlagWord {
  const RunFlag* flag = nullptr;
  std::string name;
  std::optional<std::string> value;
};

/// The flag `word` names, if any. A switch is the whole word; a flag taking a value may be
/// followed by `=VALUE` (a long name) or directly by the value (a short one).
FlagWord find_flag(const std::string& word) {
  const auto before_equals = word.substr(0, word.find('='));
  for (const auto& flag : run_flags()) {
    if (!flag.after_file) {
      continue;
    }
    for (const auto& name : util::split(flag.names, ',')) {
      if (word == name) {
        return {&flag, name, std::nullopt};
      }
      if (!takes_value(flag)) {
        continue;
      }
      if (name.starts_with("--") && before_equals == name) {
        return {&flag, name, word.substr(name.size() + 1)};
      }
      if (!name.starts_with("--") && word.starts_with(name)) {
        return {&flag, name, word.substr(name.size())};
      }
    }
  }
  return {};
}

/// Values reach Python as str and the run's record as JSON: both hold text, not bytes.
void check_text(const std::string& word, const std::string& before) {
  if (util::valid_utf8(word)) {
    return;
  }
  const auto shown = [](const std::string& text) {
    return util::shorten(util::escape_non_utf8(text));
  };
  throw UsageError(fmt::format("'{}'{} is not UTF-8 text", shown(word),
                               before.starts_with("--")
                                   ? fmt::format(" (the value of {})", shown(before))
                                   : std::string()),
                   "xrun takes values as text (UTF-8), as they are recorded in JSON");
}

/// Warns once for each parameter given more than once: the last value is used (as most
/// command lines do), but the earlier one was probably meant too.
void warn_repeated(const std::vector<std::string>& parameters) {
  std::vector<std::string> order;
  std::map<std::string, std::pair<int, std::string>> given; // name: times, the last value
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    const auto& arg = parameters[i];
    if (!arg.starts_with("--") || arg.size() == 2) {
      continue; // a value (split_flags never takes a word starting with `--` as one)
    }
    const auto equals = arg.find('=');
    const auto name = arg.substr(2, equals == std::string::npos ? std::string::npos : equals - 2);
    auto value = equals != std::string::npos ? arg.substr(equals + 1)
                 : i + 1 < parameters.size() && !parameters[i + 1].starts_with("--")
                     ? parameters[i + 1]
                     : std::string("true"); // a bare flag
    auto& [times, last] = given[name];
    if (times++ == 0) {
      order.push_back(name);
    }
    last = std::move(value);
  }
  for (const auto& name : order) {
    const auto& [times, last] = given[name];
    if (times > 1) {
      core::print_warning(fmt::format(
          "--{} given {}; using {}", util::shorten(name),
          times == 2 ? std::string("twice") : fmt::format("{} times", times), util::shorten(last)));
    }
  }
}

} // namespace

std::vector<std::string> split_flags(RunOptions& options) {
  for (std::size_t i = 0; i < options.rest.size(); ++i) {
    check_text(options.rest[i], i > 0 ? options.rest[i - 1] : std::string());
  }
  for (const auto& [flag, word] : options.plugin_flags) {
    check_text(word, flag);
  }
  for (const auto& [flag, word] : options.plugin_flags) {
    options.plugins.push_back(plugin_choice(flag, word));
  }
  std::vector<std::string> parameters;
  for (std::size_t i = 0; i < options.rest.size(); ++i) {
    const auto& arg = options.rest[i];
    // The word after a parameter's `--NAME` is its value (`--OFFSET -v`), unless it is an
    // option itself (`--FLAG --dry-run`: a bare bool).
    const bool value_of_parameter = !parameters.empty() && !arg.starts_with("--") &&
                                    parameters.back().starts_with("--") &&
                                    parameters.back().find('=') == std::string::npos;
    const auto found = value_of_parameter ? FlagWord{} : find_flag(arg);
    if (found.flag == nullptr) {
      parameters.push_back(arg);
      continue;
    }
    auto value = found.value;
    if (!value && takes_value(*found.flag)) {
      if (i + 1 == options.rest.size()) {
        throw UsageError(fmt::format("{} needs {}", arg, found.flag->missing), found.flag->example);
      }
      value = options.rest[++i];
    }
    take(options, *found.flag, found.name, value.value_or(std::string()));
  }
  warn_repeated(parameters);
  return parameters;
}

} // namespace xrun::cli
