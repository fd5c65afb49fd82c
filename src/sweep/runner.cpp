#include "sweep/runner.hpp"

#include "core/child_process.hpp"
#include "core/diagnostics.hpp"
#include "core/protocol.hpp"
#include "sweep/row_text.hpp"
#include "sweep/schedule.hpp"
#include "sweep/slurm.hpp"
#include "sweep/workers.hpp"
#include "util/fs.hpp"
#include "util/host.hpp"
#include "util/line_reader.hpp"
#include "util/process.hpp"
#include "util/strings.hpp"
#include "util/table.hpp"
#include "util/time.hpp"
#include "xrun/error.hpp"
#include "xrun/meta.hpp"
#include "xrun/run_folder.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

namespace xrun::sweep {

namespace {

using Json = nlohmann::json;

/// Plans the variations in a new process: their typed parameters, run hashes and archive.
std::vector<core::protocol::PlanReport> plan(const Json& request, const Json& variations,
                                             const Launcher& launcher, int& exit_code) {
  core::Pipe control;
  const pid_t pid = core::fork_child(
      "Python", {},
      [&] {
        control.close_read();
        return launcher.plan(request, variations, control.write_end());
      },
      core::EscapedError::usage);
  control.close_write();
  std::string buffer;
  char chunk[65536];
  for (;;) {
    const ssize_t got = ::read(control.read_end(), chunk, sizeof chunk);
    if (got > 0) {
      buffer.append(chunk, static_cast<std::size_t>(got));
    } else if (got == 0 || errno != EINTR) {
      break;
    }
  }
  control.close_read();
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  exit_code = core::exit_code_of(status);
  std::vector<std::optional<core::protocol::PlanReport>> planned(variations.size());
  std::string refused; // a message of another protocol version
  util::LineReader().feed(buffer, [&](std::string_view line) {
    try {
      const auto message = core::protocol::parse_message(line);
      const auto* report = message ? std::get_if<core::protocol::PlanReport>(&*message) : nullptr;
      if (report && report->index < planned.size()) {
        planned[report->index] = *report;
      }
    } catch (const core::protocol::ProtocolError& error) {
      refused = error.what();
    }
  });
  if (!refused.empty()) {
    core::print_error(refused);
    exit_code = exit_code == 0 ? k_exit_internal : exit_code;
    return {};
  }
  std::vector<core::protocol::PlanReport> reports;
  for (auto& report : planned) {
    if (!report) {
      if (exit_code == 0) {
        core::print_error("the experiment process did not plan every variation");
        exit_code = k_exit_usage;
      }
      return {};
    }
    reports.push_back(std::move(*report));
  }
  return reports;
}

/// The run hashes of the `done` runs in a namespace folder, with their folder names.
std::map<std::string, std::string> done_runs(const std::filesystem::path& namespace_dir) {
  std::map<std::string, std::string> done;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(namespace_dir, error)) {
    if (!entry.is_directory(error) || entry.path().filename().string().starts_with(".")) {
      continue;
    }
    try {
      const auto meta = read_meta(entry.path());
      if (meta.status == RunStatus::done && !meta.run_hash.empty()) {
        done.emplace(meta.run_hash, entry.path().filename().string());
      }
    } catch (const Error&) {
      // not a run, or a damaged one: not done
    }
  }
  return done;
}

/// The sweep's lock (`<sweep>/lock`), held for as long as this object lives by the process
/// that runs, submits or cancels the sweep's variations, so that no second process does the
/// same rows. Throws UsageError when taken.
class SweepLock {
public:
  explicit SweepLock(const Manifest& manifest) {
    const auto file = manifest.folder / "lock";
    // Like any file of a run (0666 less the umask): a group sharing the archive resumes it.
    m_fd = ::open(file.c_str(), O_CREAT | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (m_fd < 0) {
      throw ArchiveError(fmt::format("cannot open {}: {}", file.string(), std::strerror(errno)));
    }
    if (::flock(m_fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(m_fd);
      throw UsageError(
          manifest.pid > 0
              ? fmt::format("sweep {} is being run by another process (pid {} on {})",
                            manifest.id, manifest.pid, manifest.host)
              : fmt::format("sweep {} is being submitted or cancelled by another process",
                            manifest.id),
          "wait for it, or stop it; `xrun sweep status` shows its progress");
    }
  }
  ~SweepLock() { ::close(m_fd); }
  SweepLock(const SweepLock&) = delete;
  SweepLock& operator=(const SweepLock&) = delete;

  int fd() const { return m_fd; }

private:
  int m_fd = -1;
};

/// Submits `rows` of the manifest to Slurm as one job array and records the submission in the
/// manifest. A new sweep (`created`: its folder made for it) whose submission fails is
/// removed whole; an existing one is left as it was.
int submit_rows(Manifest& manifest, const std::vector<std::size_t>& rows, const Options& options,
                bool created) {
  const auto slurm_options = slurm::Options::from_json(
      options.slurm_options, [](const std::string& key) { return "launcher." + key; });
  std::vector<int> indices;
  for (const auto i : rows) {
    indices.push_back(manifest.rows[i].index);
  }
  const auto discard = [&] {
    if (created) {
      std::error_code ignored;
      std::filesystem::remove_all(manifest.folder, ignored);
    }
  };
  auto launcher = manifest.launcher;
  launcher["type"] = "slurm";
  launcher["options"] = slurm_options.to_json();
  if (!launcher.contains("submissions")) {
    launcher["submissions"] = nlohmann::json::array();
  }
  // From sbatch to the manifest that records its job, Ctrl-C waits: a job must not run
  // unrecorded.
  sigset_t blocked;
  sigset_t previous;
  sigemptyset(&blocked);
  for (const int number : {SIGINT, SIGTERM, SIGHUP}) {
    sigaddset(&blocked, number);
  }
  ::sigprocmask(SIG_BLOCK, &blocked, &previous);
  struct Unblock {
    sigset_t mask;
    ~Unblock() { ::sigprocmask(SIG_SETMASK, &mask, nullptr); }
  } unblock{previous};
  Json submission;
  try {
    if (created) {
      manifest.launcher = launcher;
      manifest.state = "submitting";
      manifest.save(); // the tasks read their variations from it
    }
    submission = slurm::submit(manifest, slurm_options, indices);
  } catch (...) {
    discard();
    throw;
  }
  const auto job = submission.value("job_id", "");
  const auto array = submission.value("array", "");
  launcher["submissions"].push_back(std::move(submission));
  manifest.launcher = std::move(launcher);
  manifest.state = "submitted";
  manifest.host = util::host_name();
  manifest.pid = 0; // no process of the sweep's stays
  for (const auto i : rows) {
    auto& row = manifest.rows[i];
    row.job = job;
    row.status = "submitted";
    row.run.clear();
    row.exit_code.reset();
  }
  try {
    manifest.save();
  } catch (const Error&) {
    // A job whose sweep does not know it must not run.
    util::run_program({"scancel", job});
    discard();
    throw;
  }
  const auto at = manifest.namespace_dir.string();
  std::cerr << fmt::format("xrun: sweep {}: {} variation{} submitted to Slurm as job {} "
                           "(array {})\n"
                           "  follow it:  xrun sweep status {} --path {}\n"
                           "  its queue:  squeue -j {}\n"
                           "  cancel it:  xrun sweep cancel {} --path {}\n",
                           manifest.id, rows.size(), rows.size() == 1 ? "" : "s", job, array,
                           manifest.id, at, job, manifest.id, at);
  return 0;
}

void print_table(const Manifest& manifest, const std::set<std::string>& done, std::ostream& out) {
  util::Table table;
  std::vector<util::Cell> header{"#", "run hash"};
  header.insert(header.end(), manifest.swept.begin(), manifest.swept.end());
  if (!done.empty()) {
    header.emplace_back("");
  }
  table.add_row(std::move(header));
  for (const auto& row : manifest.rows) {
    std::vector<util::Cell> cells{std::to_string(row.index), row.run_hash.substr(0, 12)};
    for (const auto& name : manifest.swept) {
      cells.emplace_back(row.parameters.contains(name) ? cell(row.parameters[name]) : "");
    }
    if (!done.empty()) {
      cells.emplace_back(done.count(row.run_hash) ? "done already" : "");
    }
    table.add_row(std::move(cells));
  }
  out << table.render(false, util::TrailingSpaces::trimmed);
}

} // namespace

int run_sweep(const NewSweep& sweep, const Options& options, const Launcher& launcher) {
  const auto request = sweep.request.to_json();
  const auto& swept = sweep.swept;
  const auto& variations = sweep.variations;
  int code = 0;
  const auto planned = plan(request, variations, launcher, code);
  if (code != 0) {
    return code;
  }
  Manifest manifest;
  manifest.swept = swept;
  manifest.request = request;
  manifest.command_line = sweep.command_line;
  for (std::size_t i = 0; i < planned.size(); ++i) {
    Row row;
    row.index = static_cast<int>(i);
    row.parameters = nlohmann::ordered_json::object();
    const auto& values = planned[i].parameters;
    for (const auto& name : swept) {
      if (values.contains(name)) {
        row.parameters[name] = nlohmann::ordered_json::parse(values[name].dump());
      }
    }
    row.settings = variations[i];
    row.run_hash = planned[i].run_hash;
    manifest.rows.push_back(std::move(row));
  }
  const std::filesystem::path base = planned.front().base_path;
  const auto ns = planned.front().namespace_name;
  std::set<std::string> done_hashes;
  std::map<std::string, std::string> done;
  if (options.skip_done) {
    std::error_code error;
    const auto ns_dir = namespace_path(base, ns);
    if (std::filesystem::is_directory(ns_dir, error)) {
      done = done_runs(ns_dir);
    }
    for (const auto& [hash, run] : done) {
      done_hashes.insert(hash);
    }
  }
  if (options.dry_run) {
    print_table(manifest, done_hashes, std::cout);
    std::cout << fmt::format("{} variation{}", manifest.rows.size(),
                             manifest.rows.size() == 1 ? "" : "s");
    if (options.skip_done) {
      const auto skipped = std::count_if(manifest.rows.begin(), manifest.rows.end(),
                                         [&](const Row& row) { return done.count(row.run_hash); });
      std::cout << fmt::format(", {} done already", skipped);
    }
    std::cout << "; nothing was run\n";
    if (options.slurm) {
      const auto slurm_options = slurm::Options::from_json(
          options.slurm_options, [](const std::string& key) { return "launcher." + key; });
      std::cout << fmt::format("on Slurm: one job array, a task a variation: sbatch {}\n",
                               util::join(slurm_options.sbatch_options(), " "));
    }
    return 0;
  }
  const auto rows = rows_not_done(manifest, done);
  if (rows.empty()) {
    std::cerr << fmt::format("xrun: nothing to run: all {} variations are done already "
                             "(--skip-done)\n",
                             manifest.rows.size());
    return 0;
  }
  manifest.namespace_dir = ensure_namespace(base, ns);
  const auto sweeps = manifest.namespace_dir / k_sweeps_folder;
  util::make_directories(sweeps);
  const auto folder = create_run_folder(sweeps, {});
  manifest.id = folder.id;
  manifest.folder = folder.path;
  manifest.created = util::to_epoch_seconds(folder.created);
  manifest.working_directory = std::filesystem::current_path().string();
  if (options.slurm) {
    return submit_rows(manifest, rows, options, true);
  }
  const SweepLock lock(manifest);
  std::cerr << fmt::format("xrun: sweep {}: {} variations, {} to run with {} worker{}{}\n",
                           manifest.id, manifest.rows.size(), rows.size(), options.jobs,
                           options.jobs == 1 ? "" : "s",
                           rows.size() < manifest.rows.size() ? " (the rest done already)" : "");
  ProcessWorkers workers(launcher, lock.fd());
  return run_rows(manifest, rows, options, workers);
}

int resume_sweep(Manifest& manifest, bool failed_only, const Options& options,
                 const Launcher& launcher) {
  const SweepLock lock(manifest);
  manifest = Manifest::load(manifest.folder); // as the process before this one left it
  // The runs run where the sweep was started: relative paths in its values mean the same.
  std::error_code error;
  if (!manifest.working_directory.empty()) {
    std::filesystem::current_path(manifest.working_directory, error);
    if (error) {
      throw UsageError(fmt::format("sweep {} ran in {}, which is gone: {}", manifest.id,
                                   manifest.working_directory, error.message()));
    }
  }
  if (const auto unreachable = slurm::observe(manifest); !unreachable.empty()) {
    throw UsageError(fmt::format("cannot tell which of sweep {}'s variations Slurm still has: {}",
                                 manifest.id, unreachable),
                     "resume it where Slurm's commands work (a login node of the cluster)");
  }
  std::vector<std::size_t> rows;
  std::size_t running = 0;
  for (std::size_t i = 0; i < manifest.rows.size(); ++i) {
    const auto& status = manifest.rows[i].status;
    if (status == "running" || slurm::in_slurms_hands(manifest.rows[i])) {
      ++running; // its supervisor is alive, or Slurm will start it: not run twice
    } else if (status != "done" && status != "skipped" && (!failed_only || status != "pending")) {
      rows.push_back(i);
    }
  }
  if (rows.empty()) {
    std::cerr << fmt::format("xrun: sweep {}: nothing to run{}\n", manifest.id,
                             running ? fmt::format(" ({} still queued or running)", running)
                                     : "");
    return 0;
  }
  if (options.slurm) {
    const auto on_record = manifest.launcher.value("options", nlohmann::json::object());
    auto submitted = Options(options);
    submitted.slurm_options = on_record.is_object() ? on_record : nlohmann::json::object();
    for (const auto& [key, value] : options.slurm_options.items()) {
      submitted.slurm_options[key] = value; // given now: replaces what the sweep had
    }
    return submit_rows(manifest, rows, submitted, false);
  }
  std::cerr << fmt::format("xrun: sweep {}: {} variation{} to run again{}\n", manifest.id,
                           rows.size(), rows.size() == 1 ? "" : "s",
                           running ? fmt::format(" ({} still running elsewhere)", running) : "");
  manifest.state = "running";
  ProcessWorkers workers(launcher, lock.fd());
  return run_rows(manifest, rows, options, workers);
}

void print_status(Manifest& manifest, std::ostream& out, bool color) {
  const auto unreachable = slurm::observe(manifest);
  std::string where = shown_state(manifest);
  if (where == "lost") {
    where += fmt::format(": its process (pid {} on {}) is gone", manifest.pid, manifest.host);
  }
  if (manifest.on_slurm()) {
    std::vector<std::string> jobs;
    for (const auto& submission : manifest.launcher.value("submissions", Json::array())) {
      jobs.push_back(submission.value("job_id", ""));
    }
    where += fmt::format(", on Slurm: job{} {}", jobs.size() == 1 ? "" : "s",
                         util::join(jobs, ", "));
  }
  out << fmt::format("sweep {} ({}): {}: {}\n", manifest.id, where,
                     util::count_of(manifest.rows.size(), "variation"), summary_of(manifest));
  if (!unreachable.empty()) {
    out << fmt::format("  ({}; the run folders alone tell)\n", unreachable);
  }
  for (const auto& row : manifest.rows) {
    out << row_line(row, HashColumn::shown,
                    {shown_parameters(row),
                     (row.run.empty() ? "-" : row.run) +
                         (row.note.empty() || row.status == "done" ? "" : "  (" + row.note + ")")},
                    color, "  ");
  }
}

int cancel_sweep(Manifest& manifest, std::ostream& out) {
  if (manifest.on_slurm()) {
    const SweepLock lock(manifest); // not while another process submits or runs it
    manifest = Manifest::load(manifest.folder);
    slurm::cancel(manifest);
    reconcile(manifest);
    std::size_t cancelled = 0;
    for (auto& row : manifest.rows) {
      if (!row.job.empty() && row.run.empty()) {
        // Never started: nothing else records it. Its job stays on record, so that a run its
        // task began at the last moment is still found (and shows how it ended).
        row.status = "cancelled";
        ++cancelled;
      }
    }
    manifest.state = "cancelled";
    manifest.save();
    out << fmt::format("sweep {}: its Slurm jobs are cancelled; {} variation{} never started; "
                       "running ones are recorded as interrupted\n"
                       "  the rest: xrun sweep resume {} --launcher slurm --path {}\n",
                       manifest.id, cancelled, cancelled == 1 ? "" : "s", manifest.id,
                       manifest.namespace_dir.string());
    return 0;
  }
  if (manifest.pid > 0 && manifest.host != util::host_name()) {
    throw UsageError(fmt::format("sweep {} runs on {} (pid {})", manifest.id, manifest.host,
                                 manifest.pid),
                     "cancel it there");
  }
  if (manifest.state != "running" || !sweep_process_alive(manifest)) {
    out << fmt::format("sweep {} is not running ({}): nothing to cancel\n", manifest.id,
                       shown_state(manifest));
    return 0;
  }
  if (::kill(static_cast<pid_t>(manifest.pid), SIGTERM) != 0) {
    throw UsageError(fmt::format("cannot stop sweep {} (pid {}): {}", manifest.id, manifest.pid,
                                 std::strerror(errno)));
  }
  out << fmt::format("sweep {}: asked its process (pid {}) to stop; its running variations are "
                     "interrupted\n",
                     manifest.id, manifest.pid);
  return 0;
}

void print_list(const std::filesystem::path& root, std::ostream& out) {
  const auto folders = find_manifests(root);
  if (folders.empty()) {
    out << fmt::format("no sweeps under {}\n", root.string());
    return;
  }
  for (const auto& folder : folders) {
    try {
      auto manifest = Manifest::load(folder);
      slurm::observe(manifest);
      const auto done = std::count_if(manifest.rows.begin(), manifest.rows.end(), [](const Row& r) {
        return r.status == "done" || r.status == "skipped";
      });
      util::Table line({{},
                        {.min_width = 4, .align = util::Align::right, .after = "/"},
                        {.min_width = 4, .after = " done  "},
                        {.min_width = 11}});
      line.add_row({manifest.id, std::to_string(done), std::to_string(manifest.rows.size()),
                    shown_state(manifest),
                    std::filesystem::relative(manifest.namespace_dir, root).string()});
      out << line.render();
    } catch (const Error& error) {
      out << fmt::format("{}  damaged: {}\n", folder.filename().string(), error.what());
    }
  }
}

} // namespace xrun::sweep
