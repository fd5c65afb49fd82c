#include "sweep/slurm.hpp"

#include "core/atomic_file.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"
#include "xrun/error.hpp"
#include "xrun/meta.hpp"

#include <algorithm>
#include <cstdlib>
#include <fmt/format.h>
#include <regex>
#include <set>

namespace xrun::sweep::slurm {

namespace {

using Json = nlohmann::json;

constexpr const char* k_slurm_folder = "slurm"; // in the sweep folder: scripts and task output

/// A shell word: as it is when it is safe so, else in single quotes.
std::string shell_quoted(const std::string& word) {
  const bool safe = !word.empty() && std::all_of(word.begin(), word.end(), [](unsigned char c) {
    return std::isalnum(c) || std::string_view("-_./=:,%@+").find(char(c)) != std::string_view::npos;
  });
  if (safe) {
    return word;
  }
  std::string quoted = "'";
  for (const char c : word) {
    quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return quoted + "'";
}

std::filesystem::path own_executable() {
  std::error_code error;
  auto path = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) {
    throw ArchiveError(fmt::format("cannot tell where the xrun program is: {}", error.message()));
  }
  return path;
}

/// The text of `field=` in one line of `scontrol -o show job` (up to the next space).
std::string field(const std::string& line, const std::string& name) {
  const auto key = " " + name + "=";
  auto at = (" " + line).find(key);
  if (at == std::string::npos) {
    return "";
  }
  at += key.size() - 1; // in `line`
  const auto end = line.find(' ', at);
  return line.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

/// A state in which Slurm runs the task no more (any other may still run it: pending, held,
/// suspended, powering a node up, ...).
bool ended(const std::string& state) {
  static const std::set<std::string> k_final{
      "COMPLETED", "FAILED",   "CANCELLED",     "TIMEOUT",  "NODE_FAIL",
      "PREEMPTED", "BOOT_FAIL", "DEADLINE",     "OUT_OF_MEMORY", "REVOKED"};
  return k_final.count(state) > 0;
}

} // namespace

std::string array_ranges(std::vector<int> indices) {
  std::sort(indices.begin(), indices.end());
  indices.erase(std::unique(indices.begin(), indices.end()), indices.end());
  std::string text;
  for (std::size_t i = 0; i < indices.size();) {
    std::size_t j = i;
    while (j + 1 < indices.size() && indices[j + 1] == indices[j] + 1) {
      ++j;
    }
    text += fmt::format("{}{}", text.empty() ? "" : ",", indices[i]);
    if (j > i) {
      text += fmt::format("-{}", indices[j]);
    }
    i = j + 1;
  }
  return text;
}

std::optional<std::vector<int>> parse_array_ranges(const std::string& text) {
  static const std::regex k_part(R"((\d+)(?:-(\d+)(?::(\d+))?)?)");
  std::vector<int> indices;
  for (const auto& part : util::split(text.substr(0, text.find('%')), ',')) {
    std::smatch match;
    if (!std::regex_match(part, match, k_part) || part.size() > 18) {
      return std::nullopt; // shortened by scontrol (`...`), or not an array expression
    }
    const int first = std::stoi(match[1]);
    const int last = match[2].matched ? std::stoi(match[2]) : first;
    const int step = match[3].matched ? std::max(1, std::stoi(match[3])) : 1;
    for (int index = first; index <= last; index += step) {
      indices.push_back(index);
    }
  }
  if (indices.empty()) {
    return std::nullopt;
  }
  return indices;
}

std::vector<std::string> submit_command(const Manifest& manifest, const Options& options,
                                        const std::string& array, const std::string& script) {
  std::vector<std::string> command{"sbatch",
                                   "--parsable",
                                   "--array=" + array,
                                   "--job-name=xrun-" + manifest.id,
                                   "--output=" +
                                       (manifest.folder / k_slurm_folder / "%A_%a.out").string(),
                                   "--chdir=" + manifest.working_directory};
  // On the command line, where they win over SBATCH_* variables of the environment.
  for (const auto& flag : options.sbatch_options()) {
    command.push_back(flag);
  }
  command.push_back(script);
  return command;
}

std::string batch_script(const Manifest& manifest, const Options& options,
                         const std::filesystem::path& executable,
                         const std::vector<std::string>& command) {
  std::string script = fmt::format("#!/bin/bash\n"
                                   "# An xrun sweep on Slurm, one array task a variation (the task "
                                   "id is the\n"
                                   "# variation's index).\n"
                                   "#   sweep: {}\n"
                                   "#   runs:  {}\n"
                                   "# Submitted by xrun as:\n"
                                   "#  ",
                                   manifest.id, manifest.namespace_dir.string());
  for (const auto& word : command) {
    script += " " + shell_quoted(word);
  }
  // exec: xrun's supervisor is the batch step itself, so Slurm's warning (B:USR1) reaches it.
  script += fmt::format("\nexec {} sweep task {} \"$SLURM_ARRAY_TASK_ID\"{}\n",
                        shell_quoted(executable.string()), shell_quoted(manifest.folder.string()),
                        options.requeue ? " --requeue" : "");
  return script;
}

Json submit(const Manifest& manifest, const Options& options, const std::vector<int>& rows) {
  if (!util::on_path("sbatch")) {
    throw UsageError("sbatch is not on PATH: --launcher slurm submits with Slurm's sbatch",
                     "run this on a machine of the cluster (a login node), or load its Slurm "
                     "module first");
  }
  const auto folder = manifest.folder / k_slurm_folder;
  util::make_directories(folder);
  const auto submissions = manifest.launcher.value("submissions", Json::array());
  const auto name = fmt::format("job-{}.sh", submissions.size() + 1);
  auto array = array_ranges(rows);
  if (options.array_limit > 0) {
    array += fmt::format("%{}", options.array_limit);
  }
  const auto script_path = folder / name;
  const auto command = submit_command(manifest, options, array, script_path.string());
  core::write_file_atomic(script_path,
                          batch_script(manifest, options, own_executable(), command));
  std::filesystem::permissions(script_path, std::filesystem::perms::owner_exec,
                               std::filesystem::perm_options::add);

  const auto result = util::run_program(command);
  const auto said = util::trim(result.err.empty() ? result.out : result.err);
  if (!result.ok()) {
    std::error_code ignored;
    std::filesystem::remove(script_path, ignored);
    std::string hint = "fix the option Slurm names, then submit again";
    if (said.find("array") != std::string::npos) {
      hint = "array task ids are the variations' indices: Slurm's MaxArraySize (scontrol show "
             "config) must be above the largest";
    }
    std::string message;
    for (const auto& line : util::split(said.empty() ? "(no message)" : said, '\n')) {
      message += "\n  " + line;
    }
    throw UsageError(
        fmt::format("sbatch refused the sweep's job array (exit code {}):{}", result.exit_code,
                    message),
        hint);
  }
  const auto job_id = util::trim(result.out.substr(0, result.out.find(';')));
  if (job_id.empty() || job_id.find_first_not_of("0123456789") != std::string::npos) {
    // Whatever it submitted must not run unrecorded.
    util::run_program({"scancel", "--name=xrun-" + manifest.id});
    std::error_code ignored;
    std::filesystem::remove(script_path, ignored);
    throw UsageError(fmt::format("sbatch did not print a job id, so the job (if any) was "
                                 "cancelled: {}",
                                 util::trim(result.out)));
  }
  return {{"job_id", job_id},
          {"array", array},
          {"script", (std::filesystem::path(k_slurm_folder) / name).string()},
          {"submitted", util::to_epoch_seconds(util::Clock::now())},
          {"rows", rows}};
}

std::optional<std::map<int, TaskState>> query(const std::string& job_id, std::string& why) {
  if (!util::on_path("scontrol")) {
    why = "scontrol is not on PATH";
    return std::nullopt;
  }
  ::setenv("SLURM_BITSTR_LEN", "0", 1); // array task lists in full, not cut at 64 characters
  const auto result = util::run_program({"scontrol", "-o", "show", "job", job_id});
  if (!result.ok()) {
    if (result.err.find("Invalid job id") != std::string::npos) {
      return std::map<int, TaskState>{}; // ended long enough ago to be forgotten
    }
    why = util::trim(result.err.empty() ? result.out : result.err);
    return std::nullopt;
  }
  std::map<int, TaskState> tasks;
  for (const auto& line : util::split(result.out, '\n')) {
    if (field(line, "ArrayJobId") != job_id) {
      continue;
    }
    TaskState task;
    task.state = field(line, "JobState");
    task.reason = field(line, "Reason");
    task.exit_code = field(line, "ExitCode");
    try {
      task.restarts = std::stoi(field(line, "Restarts"));
    } catch (const std::exception&) {
    }
    const auto indices = parse_array_ranges(field(line, "ArrayTaskId"));
    if (!indices) {
      why = fmt::format("cannot read the task ids of job {}: {}", job_id,
                        field(line, "ArrayTaskId"));
      return std::nullopt;
    }
    for (const int index : *indices) {
      tasks[index] = task;
    }
  }
  return tasks;
}

bool in_slurms_hands(const Row& row) {
  static const std::set<std::string> k_statuses{"submitted", "pending", "requeued", "starting",
                                                "ending"};
  return !row.job.empty() && (k_statuses.count(row.status) > 0 || row.status == "running");
}

std::string observe(Manifest& manifest) {
  reconcile(manifest);
  if (!manifest.on_slurm()) {
    return "";
  }
  std::map<std::string, std::optional<std::map<int, TaskState>>> jobs;
  std::string unreachable;
  for (auto& row : manifest.rows) {
    if (row.job.empty() || row.status == "cancelled") {
      continue;
    }
    auto found = jobs.find(row.job);
    if (found == jobs.end()) {
      std::string why;
      // Once Slurm did not answer, asking about the next job would wait as long again.
      found = jobs.emplace(row.job, unreachable.empty() ? query(row.job, why) : std::nullopt)
                  .first;
      if (!found->second && unreachable.empty()) {
        unreachable = fmt::format("Slurm could not be asked about job {}: {}", row.job, why);
      }
    }
    if (!found->second) {
      continue; // the run folders alone tell
    }
    const auto task = found->second->find(row.index);
    if (task == found->second->end()) {
      if (row.run.empty()) {
        row.status = "lost";
        row.note = fmt::format("Slurm no longer knows task {}_{}, and it began no run", row.job,
                               row.index);
      }
      continue; // ended long ago: its run tells
    }
    const auto& state = task->second;
    const auto ending = state.reason == "None" ? std::string() : " (" + state.reason + ")";
    const bool queued = state.state == "PENDING" || state.state == "REQUEUED" ||
                        state.state.starts_with("REQUEUE_") || state.state == "SPECIAL_EXIT";
    if (row.run.empty() || row.attempt < state.restarts) {
      // No run yet, or one of an earlier attempt of a requeued task: over, whatever it says.
      const auto before =
          row.run.empty() ? std::string()
                          : fmt::format("; its last run {} was {}", row.run, row.status);
      if (queued) {
        row.status = state.restarts > 0 ? "requeued" : "pending";
        const auto held = state.state == "PENDING" ? std::string() : state.state + ", ";
        row.note = state.restarts > 0
                       ? fmt::format("{}Slurm runs it again (restart {}){}", held,
                                     state.restarts, before)
                   : state.reason == "None" ? held
                                            : fmt::format("{}waiting: {}", held, state.reason);
      } else if (!ended(state.state)) {
        row.status = "starting";
        row.note = before.empty() ? "" : before.substr(2);
      } else {
        row.status = "lost";
        row.note = fmt::format("Slurm task {}_{} ended {}{} (exit code {}) before its run "
                               "began{}; see {}/{}/{}_{}.out",
                               row.job, row.index, state.state, ending, state.exit_code, before,
                               manifest.folder.string(), k_slurm_folder, row.job, row.index);
      }
    } else if (!ended(state.state)) {
      // The task of this run goes on: its run is not over for Slurm either.
      if (row.status == "lost") {
        row.status = "running";
        row.note = fmt::format("{}, but Slurm still has the task ({})", row.note, state.state);
      } else if (row.status != "running" && row.status != "done") {
        row.note = fmt::format("its run ended {}{}; Slurm is still ending the task",
                               row.status, row.note.empty() ? "" : " (" + row.note + ")");
        row.status = "ending";
      }
    } else if (row.status == "running" || row.status == "lost") {
      row.status = "lost"; // its supervisor was ended with the task
      row.note = fmt::format("Slurm ended the task: {}{}", state.state, ending);
    } else if (row.status != "done" && state.state != "COMPLETED" && state.state != "FAILED") {
      // The run recorded how it ended; Slurm says why (TIMEOUT, PREEMPTED, CANCELLED, ...).
      row.note += fmt::format("{}Slurm: {}{}", row.note.empty() ? "" : "; ", state.state, ending);
    }
  }
  if (manifest.state == "submitted" &&
      std::none_of(manifest.rows.begin(), manifest.rows.end(), in_slurms_hands)) {
    manifest.state = "finished";
  }
  return unreachable;
}

void cancel(const Manifest& manifest) {
  std::set<std::string> jobs;
  for (const auto& row : manifest.rows) {
    if (!row.job.empty()) {
      jobs.insert(row.job);
    }
  }
  if (jobs.empty()) {
    return;
  }
  if (!util::on_path("scancel")) {
    throw UsageError("scancel is not on PATH: a sweep on Slurm is cancelled with Slurm's scancel",
                     "run this on a machine of the cluster (a login node)");
  }
  std::vector<std::string> command{"scancel"};
  command.insert(command.end(), jobs.begin(), jobs.end());
  const auto result = util::run_program(command);
  if (!result.ok()) {
    throw UsageError(fmt::format("scancel failed (exit code {}):\n  {}", result.exit_code,
                                 util::trim(result.err.empty() ? result.out : result.err)));
  }
}

std::string requeue_this_task() {
  const char* job = std::getenv("SLURM_JOB_ID");
  if (job == nullptr || *job == '\0') {
    return "SLURM_JOB_ID is not set";
  }
  const auto result = util::run_program({"scontrol", "requeue", job});
  if (!result.ok()) {
    return result.started ? util::trim(result.err) : "scontrol is not on PATH";
  }
  return "";
}

} // namespace xrun::sweep::slurm
