#include "cli/launch.hpp"
#include "sweep/slurm.hpp"
#include "xrun/error.hpp"

#include <algorithm>
#include <thread>
#include <fmt/format.h>

namespace xrun::cli {

namespace {

/// The launcher's flags with a value, and the `launcher:` settings they give.
const std::vector<std::pair<std::string, std::string>> k_flags{
    {"--launcher", "type"},           {"--partition", "partition"},
    {"--time", "time"},               {"--mem", "mem"},
    {"--gpus", "gpus"},               {"--cpus-per-task", "cpus_per_task"},
    {"--array-limit", "array_limit"}, {"--sbatch-arg", "sbatch_args"},
    {"--signal-before", "signal_before"}};

std::string flag_of(const std::string& key) {
  if (key == "requeue") {
    return "--requeue";
  }
  for (const auto& [flag, setting] : k_flags) {
    if (setting == key) {
      return flag;
    }
  }
  return key;
}

} // namespace

std::vector<std::string> launcher_flags() {
  std::vector<std::string> flags;
  for (const auto& [flag, key] : k_flags) {
    flags.push_back(flag);
  }
  return flags;
}

bool is_launcher_flag(const std::string& flag) {
  return std::any_of(k_flags.begin(), k_flags.end(),
                     [&](const auto& entry) { return entry.first == flag; });
}

void set_launcher_flag(nlohmann::json& launcher, const std::string& flag,
                       const std::string& value) {
  for (const auto& [name, key] : k_flags) {
    if (name == flag) {
      if (key == "sbatch_args") {
        launcher[key].push_back(value);
      } else {
        launcher[key] = value;
      }
    }
  }
}

void add_launcher_options(CLI::App& command, nlohmann::json& launcher) {
  const auto group = "Slurm (a sweep's variations as one job array)";
  const auto add = [&](const std::string& flag, const std::string& description) {
    command
        .add_option_function<std::string>(
            flag,
            [&launcher, flag](const std::string& value) {
              set_launcher_flag(launcher, flag, value);
            },
            description)
        ->allow_extra_args(false)
        ->group(group);
  };
  add("--launcher", "Where a sweep's variations run: local (here, the default) or slurm");
  add("--partition", "The Slurm partition");
  add("--time", "Each task's time limit (Slurm's form: 90, 02:00:00, 1-12:00:00)");
  add("--mem", "Each task's memory (8G)");
  add("--gpus", "Each task's GPUs (1, or TYPE:N)");
  add("--cpus-per-task", "Each task's CPUs");
  add("--array-limit", "At most this many tasks run at once (--array=...%K)");
  add("--sbatch-arg", "An option passed to sbatch as it is (repeatable): --sbatch-arg=--qos=long");
  add("--signal-before",
      "Seconds before the time limit that Slurm warns a task (default 120): its run is "
      "interrupted and recorded so");
  command
      .add_flag_callback(
          "--requeue", [&launcher] { launcher["requeue"] = true; },
          "A task warned of its time limit is requeued and runs its variation again")
      ->group(group);
}

void set_launcher(sweep::Options& options, const nlohmann::json& from_config,
                  const nlohmann::json& given) {
  auto merged = from_config.is_object() ? from_config : nlohmann::json::object();
  for (const auto& [key, value] : given.items()) {
    if (key == "sbatch_args" && merged.contains(key) && merged[key].is_array()) {
      for (const auto& arg : value) {
        merged[key].push_back(arg);
      }
    } else {
      merged[key] = value;
    }
  }
  sweep::slurm::Options::from_json(merged, [&](const std::string& key) {
    return given.contains(key) ? flag_of(key) : "launcher." + key;
  });
  options.slurm = merged.value("type", "local") == "slurm";
  if (!options.slurm) {
    for (const auto& [key, value] : given.items()) {
      if (key != "type") {
        throw UsageError(fmt::format("{} is for --launcher slurm", flag_of(key)),
                         "submit to Slurm with --launcher slurm");
      }
    }
  }
  merged.erase("type");
  options.slurm_options = std::move(merged);
}

void set_local_options(sweep::Options& options, int jobs, bool fail_fast, bool verbose,
                       const std::string& hint) {
  if (options.slurm && (jobs > 0 || fail_fast || verbose)) {
    throw UsageError("-j, --fail-fast and -v are for sweeps run here, not on Slurm", hint);
  }
  options.jobs =
      jobs > 0 ? jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  options.fail_fast = fail_fast;
  options.verbose = verbose;
}

} // namespace xrun::cli
