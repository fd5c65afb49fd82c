#include "run/supervisor.hpp"

#include "core/atomic_file.hpp"
#include "core/diagnostics.hpp"
#include "core/protocol.hpp"
#include "core/run_hash.hpp"
#include "run/git_info.hpp"
#include "run/output_log.hpp"
#include "run/python_packages.hpp"
#include "util/color.hpp"
#include "util/fs.hpp"
#include "util/host.hpp"
#include "util/process.hpp"
#include "util/signal_pipe.hpp"
#include "util/time.hpp"
#include "xrun/error.hpp"
#include "xrun/meta.hpp"
#include "xrun/run_analysis_template.hpp"
#include "xrun/run_folder.hpp"
#include "xrun/version.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <future>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace xrun::run {

namespace {

using Json = nlohmann::json;
namespace protocol = core::protocol;
using SteadyClock = std::chrono::steady_clock;

constexpr auto k_heartbeat_interval = std::chrono::seconds(5);
// After the experiment exits, how long output from processes it left behind (which still hold
// the pipes) is collected before the run is closed.
constexpr auto k_drain_grace = std::chrono::seconds(2);
constexpr int k_child_fd_control_out = 3;
constexpr int k_child_fd_control_in = 4;

class Pipe {
public:
  Pipe() {
    if (::pipe2(m_fds.data(), O_CLOEXEC) != 0) {
      throw ArchiveError(fmt::format("cannot create a pipe: {}", std::strerror(errno)));
    }
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  ~Pipe() {
    close_read();
    close_write();
  }
  int read_end() const { return m_fds[0]; }
  int write_end() const { return m_fds[1]; }
  void close_read() { close_fd(m_fds[0]); }
  void close_write() { close_fd(m_fds[1]); }

private:
  static void close_fd(int& fd) {
    if (fd >= 0) {
      ::close(fd);
      fd = -1;
    }
  }
  std::array<int, 2> m_fds{-1, -1};
};

/// In the forked child: move `fd` to `target`.
void place_fd(int fd, int target) {
  if (::dup2(fd, target) < 0) {
    ::_exit(127);
  }
}

/// Forks the experiment process. The child does not exec: it is this program, already loaded,
/// and goes straight to `body` (starting Python), which saves a whole process start.
pid_t spawn_child(const std::function<int(int, int)>& body, const Pipe& out, const Pipe& err,
                  const Pipe& control_out, const Pipe& control_in,
                  const std::vector<int>& handled) {
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  // The supervisor's handlers (of `handled`, and SIGPIPE, which it ignores) must not run in
  // the child: a signal would land in the supervisor's signal pipe.
  auto reset = handled;
  reset.push_back(SIGPIPE);
  const pid_t supervisor = ::getpid();
  const pid_t pid = util::fork_quietly(reset);
  if (pid != 0) {
    const int error = errno;
    if (pid < 0) {
      throw ArchiveError(
          fmt::format("cannot start the experiment process: {}", std::strerror(error)));
    }
    return pid;
  }
  // Move the four descriptors the child keeps out of the way, close every descriptor of the
  // supervisor (they are close-on-exec, but no exec comes), then put the four in place. Only
  // then can no dup2 or close hit a descriptor that is still needed. Descriptors the user's
  // environment passed down stay open, as they would across exec.
  const int keep[4] = {out.write_end(), err.write_end(), control_out.write_end(),
                       control_in.read_end()};
  const int targets[4] = {STDOUT_FILENO, STDERR_FILENO, k_child_fd_control_out,
                          k_child_fd_control_in};
  const int supervisor_fds[] = {out.read_end(),         out.write_end(),
                                err.read_end(),         err.write_end(),
                                control_out.read_end(), control_out.write_end(),
                                control_in.read_end(),  control_in.write_end()};
  int high[4];
  for (int i = 0; i < 4; ++i) {
    high[i] = ::fcntl(keep[i], F_DUPFD_CLOEXEC, 10);
    if (high[i] < 0) {
      ::_exit(127);
    }
  }
  for (int fd : supervisor_fds) {
    ::close(fd);
  }
  for (int i = 0; i < 4; ++i) {
    place_fd(high[i], targets[i]);
    ::close(high[i]);
  }
  // Whatever else this process holds for itself (a sweep's pipes, the log) is close-on-exec:
  // closed here as exec would. The four placed above are not marked.
  util::close_exec_descriptors();
  // Programs the experiment starts share its output pipes (their output is captured too) but
  // not the control pipes: a process left running must not keep the run from being closed.
  ::fcntl(k_child_fd_control_out, F_SETFD, FD_CLOEXEC);
  ::fcntl(k_child_fd_control_in, F_SETFD, FD_CLOEXEC);
  ::setenv("PYTHONUNBUFFERED", "1", 1);
  // A supervisor that dies (SIGKILL, the OOM killer) takes the experiment with it, as an
  // interrupt: with nobody to record it, a run going on would only show as lost later with
  // its end missing. The check after the call closes the gap of a supervisor gone already.
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != supervisor) {
    ::_exit(128 + SIGTERM);
  }
  int code = 127;
  try {
    code = body(k_child_fd_control_in, k_child_fd_control_out);
  } catch (const Error& error) {
    core::print_error(error.what(), error.hint());
    code = error.exit_code();
  } catch (const std::exception& error) {
    core::print_error(error.what());
    code = k_exit_usage;
  }
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  // Not exit(): the supervisor's objects, copied by fork, are not this process's to destroy.
  ::_exit(code);
}

struct Stream {
  int fd;
  int echo_fd;
  LineCollector lines;
  bool paint = false;        // color xrun's message prefixes in the echo (a terminal)
  bool at_line_start = true; // the next byte echoed starts a line
};

/// The series of a run whose experiment died before reporting them: `.track/<name>.csv`
/// files and `.track/<name>_NNN.png` image series.
std::vector<std::string> tracked_on_disk(const std::filesystem::path& track) {
  std::vector<std::string> names;
  std::error_code error;
  for (std::filesystem::recursive_directory_iterator it(track, error), end; !error && it != end;
       it.increment(error)) {
    const auto relative = it->path().lexically_relative(track);
    auto name = (relative.parent_path() / relative.stem()).generic_string();
    if (relative.extension() == ".png" && name.size() > 4 && name[name.size() - 4] == '_') {
      name.resize(name.size() - 4);
    } else if (relative.extension() != ".csv") {
      continue;
    }
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      names.push_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string signal_name(int number) {
  const char* name = ::sigabbrev_np(number);
  return name ? fmt::format("SIG{}", name) : fmt::format("signal {}", number);
}

std::string default_interrupt_reason(int number) {
  switch (number) {
  case SIGINT:
    return "SIGINT (Ctrl-C)";
  case SIGTERM:
    return "SIGTERM (asked to stop)";
  case SIGHUP:
    return "SIGHUP (the terminal closed)";
  default:
    return signal_name(number);
  }
}

/// The run being supervised: what the supervisor knows and writes.
class Supervision {
public:
  explicit Supervision(const RunRequest& request) : m_request(request) {}

  int run();

private:
  /// Copies the output of the process m_child to the terminal and the log and reads its
  /// messages until it is gone and its pipes are drained; returns its wait status.
  int watch(Pipe& out, Pipe& err, Pipe& control_out, Pipe& control_in);
  bool plugins_owe_end() const;
  void finish_plugins();
  void handle_signal(int number, bool sent_by_process);
  void handle_output(Stream& stream);
  void handle_control();
  void handle_message(const std::string& line);
  void send_reply(const protocol::PrepareReply& reply);
  protocol::PrepareReply start_run(const protocol::PrepareRequest& message);
  void record_start(const protocol::PrepareRequest& message, const StagedRunFolder& staged);
  void rewrite_start_meta(const std::filesystem::path& staging, const RunFolder& run);
  void sync_start();
  void undo_start(const std::optional<StagedRunFolder>& staged);
  std::string copy_name(const std::string& source);
  void heartbeat();
  int finish(int wait_status);
  void record_end();
  void record_outcome();
  int end_run();
  void note_interruption();
  void log_line(std::string_view line) { m_log.append(line); }

  const RunRequest& m_request;
  pid_t m_child = -1;
  int m_control_in = -1; // supervisor -> child
  int m_control_out = -1;
  std::string m_control_buffer;
  OutputLog m_log;
  std::optional<RunFolder> m_folder;
  RunMeta m_meta;
  std::optional<protocol::FinishReport> m_outcome; // the experiment's report of its end
  GitDiff m_git_diff = GitDiff::code;
  std::future<std::optional<GitSnapshot>> m_git;
  int m_interrupts = 0;
  bool m_terminated = false;
  bool m_killed_by_us = false;
  bool m_heartbeat_failed = false; // a heartbeat could not be written (warned of once)
  bool m_outcome_written = false;  // the final status, as reported, is on record
  Json m_interrupted_by; // {"signal", "reason"} of the first signal that came
  std::vector<int> m_handled{SIGINT, SIGTERM, SIGHUP, SIGCHLD}; // and interrupt_reasons' signals
  std::optional<util::SignalPipe> m_signals;
  bool m_ended = false;         // the final status is written
  bool m_plugins_ended = false; // the plugins' after_end hooks have run
  std::string m_record_error;   // why the run could not be recorded; it was stopped
  std::string m_start_error;    // why the run's start could not be recorded; it did not start
  std::vector<std::filesystem::path> m_created_dirs; // namespace folders this run created
  std::vector<std::string> m_start_files;            // the files of the run folder's start
  std::string m_code;           // the experiment module's source when the run started
};

int Supervision::run() {
  // The code as it is when the run starts, not when the experiment asks for its folder (its
  // imports may take long enough for an editor to save a change meanwhile).
  m_code = util::read_file(m_request.file).value_or("");
  m_git_diff = git_diff_mode(std::getenv("XRUN_GIT_DIFF"));
  for (const auto& [number, reason] : m_request.interrupt_reasons) {
    if (std::find(m_handled.begin(), m_handled.end(), number) == m_handled.end()) {
      m_handled.push_back(number);
    }
  }
  m_signals.emplace(m_handled);
  int code = 0;
  {
    Pipe out, err, control_out, control_in;
    m_child = spawn_child(m_request.child, out, err, control_out, control_in, m_handled);
    // Asking git takes a few processes; do it while the child starts Python.
    m_git = std::async(std::launch::async, read_git, m_request.file, m_git_diff);
    code = finish(watch(out, err, control_out, control_in));
  } // the pipes closed: a process forked next must not hold them
  if (plugins_owe_end()) {
    finish_plugins();
  }
  return code;
}

int Supervision::watch(Pipe& out, Pipe& err, Pipe& control_out, Pipe& control_in) {
  out.close_write();
  err.close_write();
  control_out.close_write();
  control_in.close_read();
  m_control_in = control_in.write_end();
  m_control_out = control_out.read_end();

  Stream streams[2] = {{out.read_end(), STDOUT_FILENO, {}},
                       {err.read_end(), STDERR_FILENO, {}, util::color_enabled(STDERR_FILENO)}};
  bool control_open = true;
  std::optional<int> wait_status;
  std::optional<SteadyClock::time_point> drain_deadline;
  auto next_heartbeat = SteadyClock::now() + k_heartbeat_interval;

  // Until the child is gone and everything it wrote (output and messages) is read; processes
  // it left behind holding the pipes get k_drain_grace.
  while (!wait_status || streams[0].fd >= 0 || streams[1].fd >= 0 || control_open) {
    const auto now = SteadyClock::now();
    if (drain_deadline && now >= *drain_deadline) {
      break;
    }
    if (!m_folder || m_ended) {
      next_heartbeat = now + k_heartbeat_interval; // nothing (more) to beat for
    } else if (now >= next_heartbeat) {
      heartbeat();
      next_heartbeat = now + k_heartbeat_interval;
    }
    auto until = next_heartbeat;
    if (drain_deadline && *drain_deadline < until) {
      until = *drain_deadline;
    }
    const int timeout = static_cast<int>(std::max<long long>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count() + 1));

    std::array<pollfd, 4> fds{{{m_signals->fd(), POLLIN, 0},
                               {streams[0].fd, POLLIN, 0},
                               {streams[1].fd, POLLIN, 0},
                               {control_open ? m_control_out : -1, POLLIN, 0}}};
    if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) {
      throw ArchiveError(fmt::format("poll failed: {}", std::strerror(errno)));
    }
    if (fds[0].revents & POLLIN) {
      while (const auto caught = m_signals->next()) {
        handle_signal(caught->number, caught->sent_by_process);
      }
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i + 1].revents & (POLLIN | POLLHUP | POLLERR)) {
        handle_output(streams[i]);
      }
    }
    if (fds[3].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buffer[4096];
      const ssize_t got = ::read(m_control_out, buffer, sizeof buffer);
      if (got > 0) {
        m_control_buffer.append(buffer, static_cast<size_t>(got));
        handle_control();
      } else if (got == 0 || errno != EINTR) {
        control_open = false;
      }
    }
    if (!wait_status) {
      int status = 0;
      if (::waitpid(m_child, &status, WNOHANG) == m_child) {
        wait_status = status;
        drain_deadline = SteadyClock::now() + k_drain_grace;
      }
    }
  }
  for (auto& stream : streams) {
    stream.lines.finish([this](std::string_view line) { log_line(line); });
  }
  if (!wait_status) {
    int status = 0;
    ::waitpid(m_child, &status, 0);
    wait_status = status;
  }
  return *wait_status;
}

/// Whether a plugin with an after_end hook was loaded for this run and the experiment process
/// ended without calling it (killed, or died in C code).
bool Supervision::plugins_owe_end() const {
  // After the experiment's report, its process ran them (or was stopped while it did).
  if (!m_folder || m_plugins_ended || !m_record_error.empty() || m_outcome) {
    return false;
  }
  const auto found = m_meta.extra.find("plugins");
  if (found == m_meta.extra.end() || !found->is_array()) {
    return false;
  }
  return std::any_of(found->begin(), found->end(), [](const auto& plugin) {
    const auto hooks = plugin.find("hooks");
    return plugin.value("loaded", false) && hooks != plugin.end() && hooks->is_array() &&
           std::find(hooks->begin(), hooks->end(), "after_end") != hooks->end();
  });
}

/// Runs the after_end hooks in a new process, now that the final status is recorded; their
/// output goes to the terminal and the log like the experiment's, and what failed is added to
/// the meta's plugin records.
void Supervision::finish_plugins() {
  if (!m_request.finisher) {
    return;
  }
  const auto folder = m_folder->path;
  const auto& finisher = m_request.finisher;
  Pipe out, err, control_out, control_in;
  m_child = spawn_child([&](int in, int to) { return finisher(folder, in, to); }, out, err,
                        control_out, control_in, m_handled);
  m_interrupts = 0;
  const int status = watch(out, err, control_out, control_in);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    log_line("xrun: the plugins' after_end hooks did not complete");
    core::print_warning("the plugins' after_end hooks did not complete");
  }
  try {
    write_meta(folder, m_meta);
  } catch (const Error& error) {
    core::print_error(error.what());
  }
}

void Supervision::handle_signal(int number, bool sent_by_process) {
  if (number == SIGCHLD) {
    return; // the loop reaps the child
  }
  if (m_interrupted_by.is_null()) {
    const auto given = m_request.interrupt_reasons.find(number);
    m_interrupted_by = {{"signal", signal_name(number)},
                        {"reason", given != m_request.interrupt_reasons.end()
                                       ? given->second
                                       : default_interrupt_reason(number)}};
  }
  if (number != SIGINT && number != SIGTERM && number != SIGHUP) {
    // A warning (a batch system's time limit is near): the experiment is interrupted as by a
    // first Ctrl-C, so that it saves what it has; the limit itself brings SIGTERM.
    if (m_interrupts++ == 0) {
      ::kill(m_child, SIGINT);
      std::cerr << fmt::format("\nxrun: interrupting the experiment: {}\n",
                               m_interrupted_by.value("reason", ""));
    }
    return;
  }
  if (number == SIGINT) {
    ++m_interrupts;
    if (m_interrupts == 1) {
      // Ctrl-C at the terminal reaches the experiment directly (same process group);
      // a SIGINT sent to xrun alone is passed on.
      if (sent_by_process) {
        ::kill(m_child, SIGINT);
      }
      std::cerr << "\nxrun: interrupting the experiment (press Ctrl-C again to kill it)\n";
      return;
    }
  } else {
    m_terminated = true;
    if (m_interrupts++ == 0) {
      ::kill(m_child, SIGTERM);
      return;
    }
  }
  m_killed_by_us = true;
  ::kill(m_child, SIGKILL);
}

void Supervision::handle_output(Stream& stream) {
  char buffer[65536];
  const ssize_t got = ::read(stream.fd, buffer, sizeof buffer);
  if (got < 0 && errno == EINTR) {
    return;
  }
  if (got <= 0) {
    stream.fd = -1; // at its end; the Pipe that owns the descriptor closes it
    return;
  }
  const std::string_view chunk(buffer, static_cast<size_t>(got));
  try {
    // The experiment process writes into a pipe, so its messages come uncolored (as they
    // stay in the log); on the terminal they look as the supervisor's own.
    if (stream.paint) {
      util::write_all(stream.echo_fd, core::paint_message_prefixes(chunk, stream.at_line_start),
                      "the terminal");
    } else {
      util::write_all(stream.echo_fd, chunk, "the terminal");
    }
  } catch (const std::system_error&) {
    // The terminal went away (closed ssh session): the log and the run go on.
  }
  stream.lines.feed(chunk, [this](std::string_view line) { log_line(line); });
}

void Supervision::handle_control() {
  for (auto end = m_control_buffer.find('\n'); end != std::string::npos;
       end = m_control_buffer.find('\n')) {
    const auto line = m_control_buffer.substr(0, end);
    m_control_buffer.erase(0, end + 1);
    handle_message(line);
  }
}

void Supervision::handle_message(const std::string& line) {
  std::optional<protocol::Message> message;
  try {
    message = protocol::parse_message(line);
  } catch (const protocol::ProtocolError& error) {
    core::print_error(error.what());
    if (Json::parse(line, nullptr, false).value("type", "") == "prepare") {
      // Refused, so that the experiment stops instead of waiting for its folder.
      send_reply(protocol::PrepareReply::refused(error.what()));
    }
    return;
  }
  if (!message) {
    return;
  }
  if (const auto* prepare = std::get_if<protocol::PrepareRequest>(&*message)) {
    // The experiment starts only once its run folder holds its whole start (meta, code, log).
    send_reply(start_run(*prepare));
    if (!m_folder) {
      return;
    }
    // The experiment goes on while its start is made durable: the fsyncs are off its path.
    try {
      sync_start();
      if (m_request.on_folder) {
        m_request.on_folder(m_folder->path);
      }
    } catch (const std::exception& error) {
      // A run that cannot be recorded must not go on unrecorded.
      m_record_error = error.what();
      m_killed_by_us = true;
      ::kill(m_child, SIGKILL);
    }
  } else if (auto* finish = std::get_if<protocol::FinishReport>(&*message)) {
    m_outcome = std::move(*finish);
    m_meta.extra["plugins"] = m_outcome->plugins;
    record_outcome();
  } else if (const auto* plugins = std::get_if<protocol::PluginsReport>(&*message)) {
    m_meta.extra["plugins"] = plugins->plugins;
    m_plugins_ended = m_plugins_ended || plugins->ended;
  }
}

void Supervision::send_reply(const protocol::PrepareReply& answer) {
  try {
    util::write_all(m_control_in, answer.to_json().dump() + "\n", "the experiment's control pipe");
  } catch (const std::system_error&) {
    // The child is gone; its exit status tells the rest.
  }
}

/// The recorded command line keeps no secret: the value of a plugin setting that the plugins'
/// records hold as secret (`--plugin NAME:SETTING=VALUE`, or `--plugin=NAME:...`) is replaced
/// by what the record holds instead.
void redact_plugin_settings(std::vector<std::string>& words, const Json& plugins) {
  std::vector<std::pair<std::string, std::string>> secret; // "NAME:SETTING=", shown value
  for (const auto& plugin : plugins) {
    const auto settings = plugin.value("settings", Json::object());
    for (const auto& name : plugin.value("secret_settings", Json::array())) {
      if (!name.is_string() || !settings.contains(name.get<std::string>())) {
        continue;
      }
      const auto& shown = settings[name.get<std::string>()];
      secret.emplace_back(fmt::format("{}:{}=", plugin.value("name", ""), name.get<std::string>()),
                          shown.is_string() ? shown.get<std::string>() : shown.dump());
    }
  }
  for (std::size_t i = 0; i < words.size() && !secret.empty(); ++i) {
    std::size_t start = 0;
    if (words[i] == "--plugin" && i + 1 < words.size()) {
      ++i;
    } else if (words[i].starts_with("--plugin=")) {
      start = std::string_view("--plugin=").size();
    } else {
      continue;
    }
    for (const auto& [prefix, shown] : secret) {
      if (std::string_view(words[i]).substr(start).starts_with(prefix)) {
        words[i] = words[i].substr(0, start + prefix.size()) + shown;
      }
    }
  }
}

/// Creates the run folder out of sight, writes the run's start into it (meta, code copies,
/// analysis.py, config, git diff, log) and gives it its name: the reply to the experiment's
/// "prepare". Bad input (a prefix, a namespace, a live debug run) is replied as an error for
/// the experiment to report; a folder that cannot be created or written is the supervisor's
/// to report (m_start_error), and the reply tells the experiment not to start. Either way,
/// everything this attempt created is removed.
protocol::PrepareReply Supervision::start_run(const protocol::PrepareRequest& message) {
  if (m_folder || !m_start_error.empty()) {
    return protocol::PrepareReply::refused("the run folder was already created");
  }
  const RunNaming naming{.prefix = message.prefix, .debug = message.debug};
  std::optional<StagedRunFolder> staged;
  try {
    const std::filesystem::path base = message.base_path;
    check_prefix(naming.prefix); // before any folder is made
    const auto ns_dir = ensure_namespace(base, message.namespace_name, &m_created_dirs);
    staged = stage_run_folder(ns_dir, naming);
    record_start(message, *staged);
    m_folder = publish_run_folder(
        *staged, naming, [&](const RunFolder& run) { rewrite_start_meta(staged->staging, run); });
    m_log.renamed(m_folder->path / "experiment_out.log");
  } catch (const Error& error) {
    undo_start(staged);
    if (error.kind() == ErrorKind::usage || error.kind() == ErrorKind::config) {
      return protocol::PrepareReply::refused(error.what());
    }
    m_start_error = error.what();
    return protocol::PrepareReply::unrecordable(m_start_error);
  } catch (const std::exception& error) {
    undo_start(staged);
    m_start_error = error.what();
    return protocol::PrepareReply::unrecordable(m_start_error);
  }
  return protocol::PrepareReply::created(m_folder->path.string(), m_folder->id,
                                        util::to_epoch_seconds(m_folder->created));
}

/// Removes what a start that failed created: the staged folder and the namespace folders.
void Supervision::undo_start(const std::optional<StagedRunFolder>& staged) {
  m_log.close();
  m_start_files.clear();
  std::error_code ignored;
  if (staged) {
    std::filesystem::remove_all(staged->staging, ignored);
  }
  // Deepest first; one that another run put something into meanwhile stays.
  for (auto it = m_created_dirs.rbegin(); it != m_created_dirs.rend(); ++it) {
    std::filesystem::remove(*it, ignored);
  }
  m_created_dirs.clear();
}

/// The staged meta again, for the id drawn after another run took the first one.
void Supervision::rewrite_start_meta(const std::filesystem::path& staging, const RunFolder& run) {
  m_meta.id = run.id;
  m_meta.start_time = util::to_epoch_seconds(run.created);
  const auto file = staging / k_meta_file;
  std::filesystem::remove(file);
  util::write_new_file(file, serialize_meta(m_meta));
}

/// Makes the start of the run durable: its files, its folder and the folder's name.
void Supervision::sync_start() {
  try {
    for (const auto& name : m_start_files) {
      util::fsync_file(m_folder->path / name);
    }
    util::fsync_directory(m_folder->path);
    util::fsync_directory(m_folder->path.parent_path());
  } catch (const std::system_error& error) {
    throw ArchiveError(error.what());
  }
}

void Supervision::record_start(const protocol::PrepareRequest& message,
                               const StagedRunFolder& staged) {
  const std::filesystem::path base = message.base_path;
  m_meta.id = staged.run.id;
  m_meta.name = message.name;
  m_meta.namespace_name = message.namespace_name;
  m_meta.base_path = std::filesystem::absolute(base).lexically_normal().string();
  m_meta.experiment_path = std::filesystem::absolute(m_request.file).lexically_normal().string();
  if (!m_request.config.empty()) {
    m_meta.config_path = std::filesystem::absolute(m_request.config).lexically_normal().string();
  }
  m_meta.description = message.description;
  m_meta.short_description = message.short_description;
  m_meta.status = RunStatus::running;
  m_meta.start_time = util::to_epoch_seconds(staged.run.created);
  m_meta.heartbeat = util::to_epoch_seconds(util::Clock::now());
  m_meta.host = util::host_name();
  m_meta.pid = ::getpid();
  // With host and pid, what tells whether the supervisor lives: a container with this host
  // name but its own pid namespace has other processes under the same pids.
  if (const auto pids = util::pid_namespace(); !pids.empty()) {
    m_meta.extra["pid_namespace"] = pids;
  }
  m_meta.xrun_version = k_version;
  m_meta.python_version = message.python_version;
  m_meta.python_executable = message.python_executable;
  m_meta.command_line = m_request.command_line;
  redact_plugin_settings(m_meta.command_line, message.plugins);
  if (m_request.meta_extra.is_object()) {
    for (const auto& [key, value] : m_request.meta_extra.items()) {
      m_meta.extra[key] = value;
    }
  }
  m_meta.working_directory = std::filesystem::current_path().string();
  m_meta.parameters = message.parameters;
  m_meta.hooks = message.hooks;
  if (message.plugins.is_array() && !message.plugins.empty()) {
    m_meta.extra["plugins"] = message.plugins;
  }
  if (message.sys_path) {
    // Listed here, while the experiment already runs: the run does not wait for it.
    const std::vector<std::filesystem::path> folders(message.sys_path->begin(),
                                                     message.sys_path->end());
    auto& packages = m_meta.extra["packages"] = nlohmann::ordered_json::object();
    for (auto& [name, version] : installed_packages(folders)) {
      packages[name] = std::move(version);
    }
  }

  const auto& folder = staged.staging;
  std::vector<std::filesystem::path> code_files{m_request.file};
  for (const auto& source : message.dependencies) {
    m_meta.dependencies.push_back({source, copy_name(source)});
    code_files.emplace_back(source);
  }
  std::string diff;
  if (auto git = m_git.valid() ? m_git.get() : std::nullopt) {
    diff = m_git_diff == GitDiff::code ? diff_of_files(*git, code_files) : git->diff;
    if (!diff.empty()) {
      git->record.diff_file = "git_diff.patch";
    }
    m_meta.git = git->record;
  }
  // The code as archived: the module and the files of its chain, read once.
  std::vector<std::string> contents;
  std::vector<core::CodeFile> code{{"experiment_code.py", m_code}};
  for (const auto& copy : m_meta.dependencies) {
    auto content = util::read_file(copy.source);
    if (!content) {
      throw ArchiveError(fmt::format("{} disappeared before it could be archived", copy.source));
    }
    const std::filesystem::path source = copy.source;
    if (source.extension() == ".py") {
      code.push_back({source.filename().string(), *content});
    }
    contents.push_back(std::move(*content));
  }
  auto hash = core::run_hash(m_meta.parameters, code);
  m_meta.run_hash = std::move(hash.hash);
  m_meta.extra["run_hash_inputs"] = std::move(hash.inputs);
  // The folder is not visible yet: its files need no temp files, only checked writes (synced
  // once the experiment is on its way: sync_start).
  const auto write = [&](const std::string& name, std::string_view content) {
    util::write_new_file(folder / name, content);
    m_start_files.push_back(name);
  };
  try {
    write(k_meta_file, serialize_meta(m_meta));
    write("experiment_code.py", m_code);
    for (std::size_t i = 0; i < contents.size(); ++i) {
      write(m_meta.dependencies[i].copy, contents[i]);
    }
    write("analysis.py", k_run_analysis_template);
    if (m_request.resolved_config) {
      write("experiment_config.yml", m_request.resolved_config(message));
    }
    if (!diff.empty()) {
      write(m_meta.git->diff_file, diff);
    }
  } catch (const std::system_error& error) {
    throw ArchiveError(error.what());
  }
  m_log.open(folder / "experiment_out.log");
  m_start_files.push_back("experiment_out.log");
}

/// The name a base or mixin file gets in the run folder: its own, so that the archived code
/// finds it as the original did; numbered when two files share a name.
std::string Supervision::copy_name(const std::string& source) {
  const auto name = std::filesystem::path(source).filename().string();
  std::string candidate = name;
  for (int n = 2; std::any_of(m_meta.dependencies.begin(), m_meta.dependencies.end(),
                              [&](const FileCopy& copy) { return copy.copy == candidate; }) ||
                  candidate == "experiment_code.py" || candidate == "analysis.py" ||
                  candidate == "experiment_config.yml";
       ++n) {
    candidate = fmt::format("{}_{}", n, name);
  }
  return candidate;
}

void Supervision::heartbeat() {
  m_meta.heartbeat = util::to_epoch_seconds(util::Clock::now());
  try {
    write_meta(m_folder->path, m_meta);
  } catch (const Error& error) {
    if (!m_heartbeat_failed) { // once: it is tried again every few seconds
      core::print_warning(fmt::format("{} (the run goes on)", error.what()));
    }
    m_heartbeat_failed = true;
  }
}

int Supervision::finish(int wait_status) {
  if (!m_folder) {
    // The experiment never got a run folder: bad input (already reported by the child),
    // --help-like exits, an interrupt or a crash while loading, or a start that could not be
    // recorded. Nothing was created.
    if (!m_start_error.empty()) {
      throw RecordError(
          fmt::format("cannot record the run, so it did not start: {}", m_start_error),
          "nothing was created or left; make room or fix the folder, then run again");
    }
    const bool interrupted = m_interrupts > 0 || m_terminated ||
                             (WIFSIGNALED(wait_status) && (WTERMSIG(wait_status) == SIGINT ||
                                                           WTERMSIG(wait_status) == SIGTERM)) ||
                             (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 130);
    if (interrupted) {
      std::cerr << "xrun: interrupted before the run started; no run was created\n";
      return exit_code_for(RunStatus::interrupted);
    }
    if (WIFSIGNALED(wait_status)) {
      core::print_error(fmt::format("the experiment process died of {} before the run "
                                    "started; no run was created",
                                    signal_name(WTERMSIG(wait_status))));
      return 128 + WTERMSIG(wait_status);
    }
    const int code = WEXITSTATUS(wait_status);
    if (code == k_exit_unrecorded) {
      return code; // what the run needs could not be written, as the experiment process said
    }
    if (code != k_exit_usage) {
      // The module ended the process while it was loading (os._exit, exit() in C): neither
      // a success without a run nor a run that failed. (sys.exit is reported by the child.)
      core::print_error(fmt::format("the experiment process exited with code {} while loading "
                                    "{}; no run was created",
                                    code, m_request.file.string()));
    }
    return k_exit_usage;
  }

  if (!m_record_error.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(m_folder->path, ignored);
    for (auto it = m_created_dirs.rbegin(); it != m_created_dirs.rend(); ++it) {
      std::filesystem::remove(*it, ignored);
    }
    throw RecordError(fmt::format("cannot record the run, so it was stopped: {}", m_record_error));
  }

  if (m_ended) {
    // Recorded from the experiment's report; what its process did afterwards (the plugins'
    // after_end hooks) does not change how the run ended.
    if (WIFSIGNALED(wait_status) && !m_killed_by_us) {
      const auto note = fmt::format("xrun: the experiment process was killed by {} after the "
                                    "run had ended",
                                    signal_name(WTERMSIG(wait_status)));
      log_line(note);
      std::cerr << note << '\n';
    }
    return end_run();
  }
  record_end();
  const bool interrupt_requested = m_interrupts > 0 || m_terminated;
  int signal = 0;
  if (WIFSIGNALED(wait_status)) {
    signal = WTERMSIG(wait_status);
    // Ended by the interrupt the user asked for: a forwarded SIGINT/SIGTERM, or the SIGKILL
    // xrun sent on a second Ctrl-C. Any other signal is the experiment's death.
    const bool by_interrupt =
        interrupt_requested && (signal == SIGINT || signal == SIGTERM || m_killed_by_us);
    m_meta.status = by_interrupt ? RunStatus::interrupted : RunStatus::killed;
    m_meta.signal = signal;
    if (m_killed_by_us) {
      m_meta.error_message = "killed by xrun after a second interrupt";
    } else if (m_meta.status == RunStatus::killed) {
      m_meta.error_type = signal_name(signal);
    }
    log_line(fmt::format("xrun: the experiment process was killed by {}", signal_name(signal)));
  } else {
    const int code = WEXITSTATUS(wait_status);
    if (code == 0) {
      // A run ends with the experiment's report. A process that exited cleanly without one
      // (os._exit, exit() from native code) cut its experiment short: the run did not finish.
      m_meta.status = RunStatus::failed;
      m_meta.error_type = "EarlyExit";
      m_meta.error_message = "the experiment process exited with code 0 before the experiment "
                             "ended (os._exit, or exit() from native code)";
      log_line("xrun: " + m_meta.error_message);
      std::cerr << "xrun: " << m_meta.error_message << '\n';
    } else if (code == 130 || (m_outcome && m_outcome->interrupted)) {
      m_meta.status = RunStatus::interrupted;
      if (m_meta.error_type.empty()) {
        // Exit code 130: a KeyboardInterrupt outside the experiment's function (while the run
        // was being set up or closed), so it made no report of its own.
        m_meta.error_type = "KeyboardInterrupt";
      }
    } else {
      m_meta.status = RunStatus::failed;
      if (m_meta.error_type.empty()) {
        m_meta.error_type = fmt::format("exit code {}", code);
      }
    }
  }
  m_meta.exit_code = exit_code_for(m_meta.status, signal);
  return end_run();
}

/// The end time, errors, series and hooks of the run, from the experiment's report when it
/// made one (its own end: the plugins' after_end hooks after it are not the run's time).
void Supervision::record_end() {
  m_ended = true;
  const double now = util::to_epoch_seconds(util::Clock::now());
  const double reported = m_outcome ? m_outcome->end_time : now;
  m_meta.end_time = reported >= m_meta.start_time && reported <= now ? reported : now;
  m_meta.duration = *m_meta.end_time - m_meta.start_time;
  m_meta.heartbeat = *m_meta.end_time;
  if (!m_outcome) { // the experiment's process died before its report: its series are on disk
    m_meta.error_type.clear();
    m_meta.error_message.clear();
    m_meta.tracked = tracked_on_disk(m_folder->path / ".track");
    return;
  }
  m_meta.error_type = m_outcome->error_type;
  m_meta.error_message = m_outcome->error_message;
  m_meta.tracked = m_outcome->tracked;
  m_meta.hooks = m_outcome->hooks;
  // A signal sent to the experiment process itself, not to xrun.
  if (m_interrupted_by.is_null() && m_outcome->signal) {
    m_interrupted_by = {{"signal", signal_name(*m_outcome->signal)},
                        {"reason", "sent to the experiment process"}};
  }
}

/// The final status as the experiment reported it, written at once: from here on, nothing its
/// process does (a plugin calling os._exit, a kill during the after_end hooks) can change it.
void Supervision::record_outcome() {
  if (!m_folder || m_ended || !m_record_error.empty()) {
    return;
  }
  record_end();
  m_meta.status = m_outcome->status();
  m_meta.exit_code = exit_code_for(m_meta.status, 0);
  note_interruption();
  try {
    write_meta(m_folder->path, m_meta);
    m_outcome_written = true;
  } catch (const Error& error) {
    core::print_error(error.what());
  }
}

/// Keeps in the meta why an interrupted run was interrupted.
void Supervision::note_interruption() {
  if (!m_interrupted_by.is_null() &&
      (m_meta.status == RunStatus::interrupted || m_killed_by_us)) {
    m_meta.extra["interrupted_by"] = nlohmann::ordered_json::parse(m_interrupted_by.dump());
  }
}

/// Writes the final meta (again: plugin records may have come since) and reports the end.
int Supervision::end_run() {
  note_interruption();
  try {
    write_meta(m_folder->path, m_meta);
  } catch (const Error& error) {
    if (m_outcome_written) { // the status is on record; only later plugin records are not
      core::print_warning(error.what());
      std::cerr << fmt::format("xrun: run {} after {:.2f} s: {}\n", to_string(m_meta.status),
                               m_meta.duration, m_folder->path.string());
      return m_meta.exit_code.value_or(1);
    }
    // The run's folder says `running` (a full disk, say): the run ended, but not on record,
    // and a script must not take it for done.
    core::print_error(error.what());
    std::cerr << fmt::format("xrun: the run {} after {:.2f} s, but its record could not be "
                             "written; it will show as lost: {}\n",
                             to_string(m_meta.status), m_meta.duration,
                             m_folder->path.string());
    return std::max(1, m_meta.exit_code.value_or(1));
  }
  std::cerr << fmt::format("xrun: run {} after {:.2f} s: {}\n", to_string(m_meta.status),
                           m_meta.duration, m_folder->path.string());
  return m_meta.exit_code.value_or(1);
}

} // namespace

int supervise(const RunRequest& request) {
  Supervision supervision(request);
  return supervision.run();
}

} // namespace xrun::run
