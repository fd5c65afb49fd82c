#include "cli/launcher_options.hpp"

#include "sweep/slurm.hpp"
#include "xrun/error.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <fmt/format.h>
#include <thread>

namespace xrun::cli {

namespace {

const LauncherFlag* find_flag(const std::string& name) {
  const auto& flags = launcher_flags();
  const auto found = std::find_if(flags.begin(), flags.end(),
                                  [&](const LauncherFlag& flag) { return flag.name == name; });
  return found == flags.end() ? nullptr : &*found;
}

std::string flag_of(const std::string& key) {
  for (const auto& flag : launcher_flags()) {
    if (flag.key == key) {
      return flag.name;
    }
  }
  return key;
}

} // namespace

const std::vector<LauncherFlag>& launcher_flags() {
  static const std::vector<LauncherFlag> flags{
      {"--launcher", "type", true,
       "Where a sweep's variations run: local (here, the default) or slurm"},
      {"--partition", "partition", true, "The Slurm partition"},
      {"--time", "time", true, "Each task's time limit (Slurm's form: 90, 02:00:00, 1-12:00:00)"},
      {"--mem", "mem", true, "Each task's memory (8G)"},
      {"--gpus", "gpus", true, "Each task's GPUs (1, or TYPE:N)"},
      {"--cpus-per-task", "cpus_per_task", true, "Each task's CPUs"},
      {"--array-limit", "array_limit", true, "At most this many tasks run at once (--array=...%K)"},
      {"--sbatch-arg", "sbatch_args", true,
       "An option passed to sbatch as it is (repeatable): --sbatch-arg=--qos=long"},
      {"--signal-before", "signal_before", true,
       "Seconds before the time limit that Slurm warns a task (default 120): its run is "
       "interrupted and recorded so"},
      {"--requeue", "requeue", false,
       "A task warned of its time limit is requeued and runs its variation again"}};
  return flags;
}

void set_launcher_flag(nlohmann::json& launcher, const std::string& flag,
                       const std::string& value) {
  const auto* found = find_flag(flag);
  if (found == nullptr) {
    return;
  }
  if (!found->takes_value) {
    launcher[found->key] = true;
  } else if (found->key == "sbatch_args") {
    launcher[found->key].push_back(value);
  } else {
    launcher[found->key] = value;
  }
}

void add_launcher_option(CLI::App& command, const LauncherFlag& flag, nlohmann::json& launcher) {
  const auto group = "Slurm (a sweep's variations as one job array)";
  const auto name = flag.name;
  if (!flag.takes_value) {
    command
        .add_flag_callback(
            name, [&launcher, name] { set_launcher_flag(launcher, name); }, flag.description)
        ->group(group);
    return;
  }
  command
      .add_option_function<std::string>(
          name,
          [&launcher, name](const std::string& value) { set_launcher_flag(launcher, name, value); },
          flag.description)
      ->allow_extra_args(false)
      ->group(group);
}

void add_launcher_options(CLI::App& command, nlohmann::json& launcher) {
  for (const auto& flag : launcher_flags()) {
    add_launcher_option(command, flag, launcher);
  }
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
