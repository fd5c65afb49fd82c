#include "sweep/runner.hpp"

#include "core/diagnostics.hpp"
#include "core/protocol.hpp"
#include "sweep/slurm.hpp"
#include "util/color.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"
#include "util/strings.hpp"
#include "util/host.hpp"
#include "util/signal_pipe.hpp"
#include "util/time.hpp"
#include "xrun/error.hpp"
#include "xrun/meta.hpp"
#include "xrun/run_folder.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <iostream>
#include <map>
#include <optional>
#include <poll.h>
#include <set>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

namespace xrun::sweep {

namespace {

using Json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

constexpr std::size_t k_tail_lines = 20; // of a worker's output, shown when it fails

std::array<int, 2> make_pipe() {
  std::array<int, 2> fds{-1, -1};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
    throw ArchiveError(fmt::format("cannot create a pipe: {}", std::strerror(errno)));
  }
  return fds;
}

/// A value as a table cell: text without quotes, anything else as JSON.
std::string cell(const nlohmann::ordered_json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

std::string shown_parameters(const Row& row) {
  std::string text;
  for (const auto& [name, value] : row.parameters.items()) {
    text += fmt::format("{}{}={}", text.empty() ? "" : " ", name, cell(value));
  }
  return text;
}

std::string duration_text(double seconds) {
  if (seconds < 60) {
    return seconds < 10 ? fmt::format("{:.1f}s", seconds) : fmt::format("{:.0f}s", seconds);
  }
  if (seconds < 3600) {
    return fmt::format("{}m{:02}s", int(seconds) / 60, int(seconds) % 60);
  }
  return fmt::format("{}h{:02}m", int(seconds) / 3600, int(seconds) % 3600 / 60);
}

/// "2 done, 1 failed": how many rows have each status.
std::string summary_of(const Manifest& manifest) {
  std::map<std::string, int> counts;
  for (const auto& row : manifest.rows) {
    ++counts[row.status];
  }
  std::string summary;
  for (const auto& [status, count] : counts) {
    summary += fmt::format("{}{} {}", summary.empty() ? "" : ", ", count, status);
  }
  return summary;
}

/// Plans the variations in a new process: their typed parameters, run hashes and archive.
std::vector<core::protocol::PlanReport> plan(const Json& request, const Json& variations,
                                             const Launcher& launcher, int& exit_code) {
  const auto control = make_pipe();
  std::cout.flush();
  std::cerr.flush();
  const pid_t pid = ::fork();
  if (pid < 0) {
    throw ArchiveError(fmt::format("cannot start Python: {}", std::strerror(errno)));
  }
  if (pid == 0) {
    ::close(control[0]);
    int code = k_exit_usage;
    try {
      code = launcher.plan(request, variations, control[1]);
    } catch (const std::exception& error) {
      core::print_error(error.what());
    }
    std::cout.flush();
    std::cerr.flush();
    ::_exit(code);
  }
  ::close(control[1]);
  std::string buffer;
  char chunk[65536];
  for (;;) {
    const ssize_t got = ::read(control[0], chunk, sizeof chunk);
    if (got > 0) {
      buffer.append(chunk, static_cast<std::size_t>(got));
    } else if (got == 0 || errno != EINTR) {
      break;
    }
  }
  ::close(control[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::vector<std::optional<core::protocol::PlanReport>> planned(variations.size());
  std::size_t start = 0;
  for (auto end = buffer.find('\n'); end != std::string::npos; end = buffer.find('\n', start)) {
    const auto line = std::string_view(buffer).substr(start, end - start);
    start = end + 1;
    try {
      const auto message = core::protocol::parse_message(line);
      const auto* report = message ? std::get_if<core::protocol::PlanReport>(&*message) : nullptr;
      if (report && report->index < planned.size()) {
        planned[report->index] = *report;
      }
    } catch (const core::protocol::ProtocolError& error) {
      core::print_error(error.what());
      exit_code = exit_code == 0 ? error.exit_code() : exit_code;
      return {};
    }
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

/// One `xrun run` of a variation, in a forked process of the sweep.
struct Worker {
  pid_t pid = -1;
  std::size_t row = 0;
  int output = -1; // its stdout and stderr
  std::string partial;
  std::vector<std::string> tail;
  SteadyClock::time_point started;
};

/// Runs `rows` of the manifest with up to `options.jobs` workers at a time.
class Execution {
public:
  /// `lock`: the sweep's lock, held while the execution runs (its workers close it).
  Execution(Manifest& manifest, const SweepLock& lock, const Options& options,
            const Launcher& launcher)
      : m_manifest(manifest), m_options(options), m_launcher(launcher), m_lock(lock.fd()),
        m_terminal(::isatty(STDERR_FILENO) != 0), m_color(util::color_enabled(STDERR_FILENO)) {}
  Execution(const Execution&) = delete;
  Execution& operator=(const Execution&) = delete;

  int run(const std::vector<std::size_t>& rows);

private:
  void launch(std::size_t row);
  void handle_signal(int number, bool sent_by_process);
  void read_output(Worker& worker);
  void read_reports();
  void reap();
  void finished(Worker& worker, int wait_status);
  void save();
  void say(const std::string& line);
  void draw_status();

  Manifest& m_manifest;
  const Options& m_options;
  const Launcher& m_launcher;
  int m_lock; // the sweep's lock, SweepLock's
  bool m_terminal;
  bool m_color; // statuses and message prefixes in color (stderr is a terminal)
  std::vector<Worker> m_workers;
  std::array<int, 2> m_reports{-1, -1};
  std::string m_report_buffer;
  std::size_t m_total = 0;
  std::size_t m_finished = 0;
  bool m_stopping = false;
  bool m_interrupted = false;
  bool m_status_drawn = false;
  SteadyClock::time_point m_start = SteadyClock::now();
};

void Execution::save() {
  try {
    m_manifest.save();
  } catch (const Error& error) {
    core::print_warning(error.what());
  }
}

void Execution::say(const std::string& line) {
  if (m_status_drawn) {
    std::cerr << "\r\033[K";
    m_status_drawn = false;
  }
  std::cerr << line << '\n';
}

void Execution::draw_status() {
  if (!m_terminal) {
    return;
  }
  std::map<std::string, int> counts;
  for (const auto& row : m_manifest.rows) {
    ++counts[row.status];
  }
  const auto left = m_total - m_finished - m_workers.size();
  std::string text = fmt::format(
      "sweep {}: {} done, {} failed, {} running, {} left", m_manifest.id, counts["done"],
      counts["failed"] + counts["killed"] + counts["lost"], m_workers.size(), left);
  if (m_finished > 0 && (left + m_workers.size()) > 0) {
    const double elapsed = std::chrono::duration<double>(SteadyClock::now() - m_start).count();
    text += ", about " +
            duration_text(elapsed / double(m_finished) * double(left + m_workers.size())) +
            " to go";
  }
  if (m_stopping) {
    text += " (stopping)";
  }
  std::cerr << "\r\033[K" << text << std::flush;
  m_status_drawn = true;
}

void Execution::launch(std::size_t index) {
  auto& row = m_manifest.rows[index];
  const auto output = make_pipe();
  std::cout.flush();
  std::cerr.flush();
  const pid_t pid = util::fork_quietly({SIGINT, SIGTERM, SIGHUP, SIGCHLD});
  if (pid != 0) {
    const int error = errno;
    if (pid > 0) {
      ::setpgid(pid, pid); // as the worker does itself: whichever comes first
    }
    ::close(output[1]);
    if (pid < 0) {
      ::close(output[0]);
      throw ArchiveError(fmt::format("cannot start a worker: {}", std::strerror(error)));
    }
    Worker worker;
    worker.pid = pid;
    worker.row = index;
    worker.output = output[0];
    worker.started = SteadyClock::now();
    m_workers.push_back(std::move(worker));
    row.status = "running";
    row.run.clear();
    row.job.clear();
    row.exit_code.reset();
    return;
  }
  // The worker: this program, already loaded, running one `xrun run`. In a process group of
  // its own (signals come from the sweep, see handle_signal), with no terminal input: the runs
  // of a sweep go on side by side.
  ::setpgid(0, 0);
  if (const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC); null >= 0) {
    ::dup2(null, STDIN_FILENO);
    ::close(null);
  }
  ::dup2(output[1], STDOUT_FILENO);
  ::dup2(output[1], STDERR_FILENO);
  // The sweep's descriptors stay open across fork (close-on-exec, but no exec comes): close
  // what this run must not hold, so that its experiment does not inherit them.
  for (int fd : util::SignalPipe::descriptors()) {
    ::close(fd);
  }
  for (const auto& other : m_workers) {
    ::close(other.output);
  }
  ::close(output[0]);
  ::close(output[1]);
  ::close(m_reports[0]);
  ::close(m_lock); // the sweep's lock is the sweep process's, not its runs'

  const int reports = m_reports[1];
  const Json sweep_record = {{"id", m_manifest.id}, {"index", row.index}};
  int code = 127;
  try {
    code = m_launcher.run(m_manifest.request, row.settings, sweep_record,
                          [reports, &row](const std::filesystem::path& folder) {
                            const auto line =
                                fmt::format("{}\t{}\n", row.index, folder.filename().string());
                            [[maybe_unused]] const auto ignored =
                                ::write(reports, line.data(), line.size());
                          });
  } catch (const std::exception& error) {
    core::print_error(error.what());
    code = k_exit_usage;
  }
  std::cout.flush();
  std::cerr.flush();
  ::_exit(code);
}

void Execution::handle_signal(int number, bool sent_by_process) {
  if (number == SIGCHLD) {
    return;
  }
  if (!m_stopping) {
    say(fmt::format("\nxrun: stopping the sweep: the running variations are interrupted, the "
                    "rest is left for `xrun sweep resume {}`",
                    m_manifest.id));
  }
  m_stopping = true;
  m_interrupted = true;
  // Workers have process groups of their own, so every signal reaches them from here, once:
  // a second Ctrl-C is a second one for their supervisors too (which then kill).
  const int forwarded = number == SIGHUP ? SIGTERM : number;
  for (const auto& worker : m_workers) {
    ::kill(worker.pid, forwarded);
  }
  (void)sent_by_process;
}

void Execution::read_output(Worker& worker) {
  char buffer[65536];
  const ssize_t got = ::read(worker.output, buffer, sizeof buffer);
  if (got < 0 && errno == EINTR) {
    return;
  }
  if (got <= 0) {
    ::close(worker.output);
    worker.output = -1;
    return;
  }
  worker.partial.append(buffer, static_cast<std::size_t>(got));
  for (auto end = worker.partial.find('\n'); end != std::string::npos;
       end = worker.partial.find('\n')) {
    auto line = worker.partial.substr(0, end);
    worker.partial.erase(0, end + 1);
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    if (m_options.verbose) {
      bool at_line_start = true; // a whole line
      say(fmt::format("[{}] {}", m_manifest.rows[worker.row].index,
                      m_color ? core::paint_message_prefixes(line, at_line_start) : line));
    }
    worker.tail.push_back(std::move(line));
    if (worker.tail.size() > k_tail_lines) {
      worker.tail.erase(worker.tail.begin());
    }
  }
}

void Execution::read_reports() {
  char buffer[4096];
  const ssize_t got = ::read(m_reports[0], buffer, sizeof buffer);
  if (got <= 0) {
    return;
  }
  m_report_buffer.append(buffer, static_cast<std::size_t>(got));
  for (auto end = m_report_buffer.find('\n'); end != std::string::npos;
       end = m_report_buffer.find('\n')) {
    const auto line = m_report_buffer.substr(0, end);
    m_report_buffer.erase(0, end + 1);
    const auto tab = line.find('\t');
    if (tab == std::string::npos) {
      continue;
    }
    const auto index = std::stoul(line.substr(0, tab));
    for (auto& row : m_manifest.rows) {
      if (std::size_t(row.index) == index) {
        row.run = line.substr(tab + 1);
      }
    }
    save(); // the folder of a running variation is on record at once
  }
}

void Execution::finished(Worker& worker, int wait_status) {
  while (worker.output >= 0) {
    read_output(worker); // what it wrote last
  }
  auto& row = m_manifest.rows[worker.row];
  const int code = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
  row.exit_code = code;
  row.status = code == 0 ? "done" : code == 130 ? "interrupted" : code > 128 ? "killed" : "failed";
  if (!row.run.empty()) {
    try { // the run's own record is the truth
      const auto meta = read_meta(m_manifest.namespace_dir / row.run);
      row.status = std::string(to_string(meta.status));
    } catch (const Error&) {
    }
  }
  ++m_finished;
  const double seconds = std::chrono::duration<double>(SteadyClock::now() - worker.started).count();
  say(fmt::format("{} #{:<4} {}  {}  {}", core::paint_status(row.status, m_color, 11), row.index,
                  shown_parameters(row),
                  duration_text(seconds), row.run.empty() ? "(no run folder)" : row.run));
  if (row.status != "done" && row.status != "interrupted" && !m_options.verbose) {
    for (const auto& line : worker.tail) {
      say("    " + line);
    }
  }
  if (row.status != "done" && row.status != "interrupted" && m_options.fail_fast && !m_stopping) {
    say("xrun: --fail-fast: stopping the sweep");
    m_stopping = true;
    for (const auto& other : m_workers) {
      if (other.pid != worker.pid) {
        ::kill(other.pid, SIGTERM);
      }
    }
  }
  save();
}

void Execution::reap() {
  for (;;) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) {
      return;
    }
    const auto it = std::find_if(m_workers.begin(), m_workers.end(),
                                 [pid](const Worker& worker) { return worker.pid == pid; });
    if (it != m_workers.end()) {
      read_reports();
      finished(*it, status);
      m_workers.erase(it);
    }
  }
}

int Execution::run(const std::vector<std::size_t>& rows) {
  util::SignalPipe signals{SIGINT, SIGTERM, SIGHUP, SIGCHLD};
  m_reports = make_pipe();
  ::fcntl(m_reports[0], F_SETFL, O_NONBLOCK);
  m_total = rows.size();
  m_manifest.pid = ::getpid();
  m_manifest.host = util::host_name();
  m_manifest.pid_namespace = util::pid_namespace();
  m_manifest.pid_time = util::to_epoch_seconds(util::Clock::now());
  std::size_t next = 0;
  save();
  while (true) {
    // A signal that came while the last run was being recorded stops what would start next.
    while (const auto caught = signals.next()) {
      handle_signal(caught->number, caught->sent_by_process);
    }
    while (!m_stopping && next < rows.size() &&
           m_workers.size() < static_cast<std::size_t>(m_options.jobs)) {
      launch(rows[next++]);
      save();
    }
    if (m_workers.empty()) {
      break;
    }
    draw_status();
    std::vector<pollfd> fds{{signals.fd(), POLLIN, 0}, {m_reports[0], POLLIN, 0}};
    for (const auto& worker : m_workers) {
      fds.push_back({worker.output, POLLIN, 0});
    }
    if (::poll(fds.data(), fds.size(), 500) < 0 && errno != EINTR) {
      throw ArchiveError(fmt::format("poll failed: {}", std::strerror(errno)));
    }
    if (fds[0].revents & POLLIN) {
      while (const auto caught = signals.next()) {
        handle_signal(caught->number, caught->sent_by_process);
      }
    }
    if (fds[1].revents & POLLIN) {
      read_reports();
    }
    for (std::size_t i = 2; i < fds.size(); ++i) {
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
        const auto it = std::find_if(m_workers.begin(), m_workers.end(),
                                     [&](const Worker& w) { return w.output == fds[i].fd; });
        if (it != m_workers.end() && it->output >= 0) {
          read_output(*it);
        }
      }
    }
    reap();
  }
  if (m_status_drawn) {
    std::cerr << "\r\033[K" << std::flush;
  }
  ::close(m_reports[0]);
  ::close(m_reports[1]);
  m_manifest.state = m_interrupted ? "interrupted" : "finished";
  if (std::any_of(m_manifest.rows.begin(), m_manifest.rows.end(), slurm::in_slurms_hands)) {
    m_manifest.state = "submitted"; // some of it is still Slurm's to run
  }
  save();
  std::cerr << fmt::format("xrun: sweep {}: {}\n  {}\n", m_manifest.id, summary_of(m_manifest),
                           m_manifest.folder.string());
  const bool complete =
      std::all_of(m_manifest.rows.begin(), m_manifest.rows.end(),
                  [](const Row& row) { return row.status == "done" || row.status == "skipped"; });
  if (!complete) {
    std::cerr << fmt::format("  the rest: xrun sweep resume {} --path {}\n", m_manifest.id,
                             m_manifest.namespace_dir.string());
  }
  return m_interrupted ? 130 : complete ? 0 : 1;
}

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
  std::vector<std::vector<std::string>> table;
  std::vector<std::string> header{"#", "run hash"};
  header.insert(header.end(), manifest.swept.begin(), manifest.swept.end());
  if (!done.empty()) {
    header.push_back("");
  }
  table.push_back(header);
  for (const auto& row : manifest.rows) {
    std::vector<std::string> cells{std::to_string(row.index), row.run_hash.substr(0, 12)};
    for (const auto& name : manifest.swept) {
      cells.push_back(row.parameters.contains(name) ? cell(row.parameters[name]) : "");
    }
    if (!done.empty()) {
      cells.push_back(done.count(row.run_hash) ? "done already" : "");
    }
    table.push_back(std::move(cells));
  }
  std::vector<std::size_t> widths(header.size(), 0);
  for (const auto& cells : table) {
    for (std::size_t i = 0; i < cells.size(); ++i) {
      widths[i] = std::max(widths[i], cells[i].size());
    }
  }
  for (const auto& cells : table) {
    std::string line;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      line += fmt::format("{:<{}}", cells[i], i + 1 < cells.size() ? widths[i] + 2 : 0);
    }
    while (!line.empty() && line.back() == ' ') {
      line.pop_back();
    }
    out << line << '\n';
  }
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
  std::vector<std::size_t> rows;
  for (std::size_t i = 0; i < manifest.rows.size(); ++i) {
    auto& row = manifest.rows[i];
    if (const auto found = done.find(row.run_hash); found != done.end()) {
      row.status = "skipped";
      row.run = found->second;
    } else {
      rows.push_back(i);
    }
  }
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
  return Execution(manifest, lock, options, launcher).run(rows);
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
  return Execution(manifest, lock, options, launcher).run(rows);
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
    out << fmt::format("  {} #{:<4} {:<12}  {}  {}{}\n", core::paint_status(row.status, color, 11),
                       row.index,
                       row.run_hash.substr(0, 12), shown_parameters(row),
                       row.run.empty() ? "-" : row.run,
                       row.note.empty() || row.status == "done" ? "" : "  (" + row.note + ")");
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
      out << fmt::format("{}  {:>4}/{:<4} done  {:<11}  {}\n", manifest.id, done,
                         manifest.rows.size(), shown_state(manifest),
                         std::filesystem::relative(manifest.namespace_dir, root).string());
    } catch (const Error& error) {
      out << fmt::format("{}  damaged: {}\n", folder.filename().string(), error.what());
    }
  }
}

} // namespace xrun::sweep
