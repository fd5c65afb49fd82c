#include "config/launcher.hpp"

#include "util/strings.hpp"
#include "xrun/error.hpp"

#include <fmt/format.h>
#include <optional>
#include <regex>

namespace xrun::config {

namespace {

using Json = nlohmann::json;

/// A setting's text: a string as it is, a whole number written out (YAML's `gpus: 1`).
std::optional<std::string> text_of(const Json& value) {
  if (value.is_string()) {
    return value.get<std::string>();
  }
  if (value.is_number_integer()) {
    return std::to_string(value.get<long long>());
  }
  return std::nullopt;
}

std::optional<long long> whole_number(const Json& value) {
  if (value.is_number_integer()) {
    return value.get<long long>();
  }
  if (value.is_string()) {
    const auto text = value.get<std::string>();
    if (!text.empty() && text.size() < 10 &&
        text.find_first_not_of("0123456789") == std::string::npos) {
      return std::stoll(text);
    }
  }
  return std::nullopt;
}

/// Seconds of a Slurm time limit (90, 30:00, 02:00:00, 1-12, 1-12:30, 1-12:30:00); nullopt
/// for none (UNLIMITED) or an empty one.
std::optional<long long> limit_seconds(const std::string& text) {
  if (text.empty() || text == "UNLIMITED" || text == "INFINITE") {
    return std::nullopt;
  }
  long long days = 0;
  auto rest = text;
  const auto dash = rest.find('-');
  if (dash != std::string::npos) {
    days = std::stoll(rest.substr(0, dash));
    rest = rest.substr(dash + 1);
  }
  std::vector<long long> parts;
  for (const auto& part : util::split(rest, ':')) {
    parts.push_back(std::stoll(part));
  }
  long long seconds = 0;
  if (dash != std::string::npos) { // hours[:minutes[:seconds]]
    const long long scale[] = {3600, 60, 1};
    for (std::size_t i = 0; i < parts.size() && i < 3; ++i) {
      seconds += parts[i] * scale[i];
    }
  } else if (parts.size() == 1) { // minutes
    seconds = parts[0] * 60;
  } else if (parts.size() == 2) { // minutes:seconds
    seconds = parts[0] * 60 + parts[1];
  } else if (parts.size() == 3) {
    seconds = parts[0] * 3600 + parts[1] * 60 + parts[2];
  }
  return days * 86400 + seconds;
}

} // namespace

const std::vector<std::string>& launcher_keys() {
  static const std::vector<std::string> keys{
      "type",        "partition",   "time",     "mem",     "gpus", "cpus_per_task",
      "array_limit", "sbatch_args", "requeue", "signal_before"};
  return keys;
}

Json SlurmOptions::to_json() const {
  Json json = Json::object();
  const auto set = [&json](const char* key, const std::string& value) {
    if (!value.empty()) {
      json[key] = value;
    }
  };
  set("partition", partition);
  set("time", time);
  set("mem", mem);
  set("gpus", gpus);
  if (cpus_per_task > 0) {
    json["cpus_per_task"] = cpus_per_task;
  }
  if (array_limit > 0) {
    json["array_limit"] = array_limit;
  }
  if (!sbatch_args.empty()) {
    json["sbatch_args"] = sbatch_args;
  }
  json["requeue"] = requeue;
  json["signal_before"] = signal_before;
  return json;
}

SlurmOptions SlurmOptions::from_json(const Json& json,
                                     const std::function<std::string(const std::string&)>& where) {
  SlurmOptions options;
  if (!json.is_object()) {
    return options;
  }
  const auto bad = [&where](const std::string& key, const std::string& message) {
    return UsageError(fmt::format("{}: {}", where(key), message));
  };
  const auto text = [&](const std::string& key, const Json& value, const std::regex& shape,
                        const char* what) {
    const auto found = text_of(value);
    if (!found || !std::regex_match(*found, shape)) {
      throw bad(key, fmt::format("{} is not {}", value.dump(), what));
    }
    return *found;
  };
  const auto count = [&](const std::string& key, const Json& value, long long most) {
    const auto found = whole_number(value);
    if (!found || *found < 1 || *found > most) {
      throw bad(key, fmt::format("{} is not a whole number from 1 to {}", value.dump(), most));
    }
    return static_cast<int>(*found);
  };
  for (const auto& [key, value] : json.items()) {
    if (key == "type") {
      const auto type = text_of(value).value_or("");
      if (type != "local" && type != "slurm") {
        throw bad(key, fmt::format("{} is not a launcher (local or slurm)", value.dump()));
      }
    } else if (key == "partition") {
      options.partition = text(key, value, std::regex(R"([A-Za-z0-9_.,-]+)"), "a partition name");
    } else if (key == "time") {
      options.time = text(key, value,
                          std::regex(R"((\d+-)?\d+(:\d{1,2}){0,2}|UNLIMITED|INFINITE)"),
                          "a Slurm time limit (minutes, HH:MM:SS or D-HH:MM:SS)");
    } else if (key == "mem") {
      options.mem = text(key, value, std::regex(R"(\d+[KMGTkmgt]?)"),
                         "an amount of memory (a number with K, M, G or T)");
    } else if (key == "gpus") {
      options.gpus = text(key, value, std::regex(R"(([A-Za-z0-9_.-]+:)?\d+)"),
                          "a GPU count (2, or TYPE:2)");
    } else if (key == "cpus_per_task") {
      options.cpus_per_task = count(key, value, 100000);
    } else if (key == "array_limit") {
      options.array_limit = count(key, value, 1000000);
    } else if (key == "signal_before") {
      options.signal_before = count(key, value, 65535);
    } else if (key == "requeue") {
      if (!value.is_boolean()) {
        throw bad(key, fmt::format("{} is not true or false", value.dump()));
      }
      options.requeue = value.get<bool>();
    } else if (key == "sbatch_args") {
      const auto list = value.is_array() ? value : Json::array({value});
      for (const auto& item : list) {
        const auto arg = item.is_string() ? item.get<std::string>() : std::string();
        if (!arg.starts_with("-") || arg.find('\n') != std::string::npos) {
          throw bad(key, fmt::format("{} is not an sbatch option (like --account=NAME)",
                                     item.dump()));
        }
        options.sbatch_args.push_back(arg);
      }
    } else {
      throw bad(key, fmt::format("unknown launcher setting '{}' (the settings: {})", key,
                                 util::join(launcher_keys(), ", ")));
    }
  }
  if (const auto limit = limit_seconds(options.time);
      limit && options.signal_before >= *limit) {
    // The warning would come at the start: every run interrupted at once (and requeued).
    throw bad(json.contains("signal_before") ? "signal_before" : "time",
              fmt::format("the time limit {} ({} s) leaves no time before the warning, which "
                          "comes {} s before it",
                          options.time, *limit, options.signal_before));
  }
  return options;
}

std::vector<std::string> SlurmOptions::sbatch_options() const {
  std::vector<std::string> flags{"--open-mode=append",
                                 fmt::format("--signal=B:USR1@{}", signal_before),
                                 requeue ? "--requeue" : "--no-requeue"};
  const auto add = [&flags](const char* flag, const std::string& value) {
    if (!value.empty()) {
      flags.push_back(fmt::format("--{}={}", flag, value));
    }
  };
  add("partition", partition);
  add("time", time);
  add("mem", mem);
  add("gpus", gpus);
  if (cpus_per_task > 0) {
    add("cpus-per-task", std::to_string(cpus_per_task));
  }
  flags.insert(flags.end(), sbatch_args.begin(), sbatch_args.end());
  return flags;
}

} // namespace xrun::config
