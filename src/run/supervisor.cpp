#include "run/supervision.hpp"

#include "core/child_process.hpp"
#include "core/diagnostics.hpp"
#include "run/git_info.hpp"
#include "run/outcome.hpp"
#include "run/output_log.hpp"
#include "util/color.hpp"
#include "util/fs.hpp"
#include "util/line_reader.hpp"
#include "util/process.hpp"
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

constexpr auto k_heartbeat_interval = std::chrono::seconds(5);
// After the experiment exits, how long output from processes it left behind (which still hold
// the pipes) is collected before the run is closed.
constexpr auto k_drain_grace = std::chrono::seconds(2);
// How long after its start an attached run's start files are synced: a script that ends
// sooner does not wait for the fsyncs (they are made once it is released).
constexpr auto k_start_sync_delay = std::chrono::milliseconds(20);
constexpr int k_child_fd_control_out = 3;
constexpr int k_child_fd_control_in = 4;

using core::Pipe;

/// Forks the experiment process. The child does not exec: it is this program, already loaded,
/// and goes straight to `body` (starting Python), which saves a whole process start.
pid_t spawn_child(const std::function<int(int, int)>& body, const Pipe& out, const Pipe& err,
                  const Pipe& control_out, const Pipe& control_in,
                  const std::vector<int>& handled) {
  // The supervisor's handlers (of `handled`, and SIGPIPE, which it ignores) must not run in
  // the child: a signal would land in the supervisor's signal pipe.
  auto reset = handled;
  reset.push_back(SIGPIPE);
  const pid_t supervisor = ::getpid();
  return core::fork_child("the experiment process", reset, [&]() -> int {
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
      if (::dup2(high[i], targets[i]) < 0) {
        ::_exit(127);
      }
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
    return body(k_child_fd_control_in, k_child_fd_control_out);
  });
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

} // namespace

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
  if (m_request.attached) {
    return watch_attached();
  }
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
  return follow(out.read_end(), err.read_end());
}

int Supervision::watch_attached() {
  const auto& attached = *m_request.attached;
  m_child = attached.pid;
  m_watched.emplace(attached.pid);
  m_control_in = attached.control_in;
  m_control_out = attached.control_out;
  // A script without a file (python3 -c, a notebook): the git of the folder it runs in.
  const auto code = m_request.file.empty() ? std::filesystem::current_path() / "." : m_request.file;
  m_git = std::async(std::launch::async, read_git, code, m_git_diff);
  // The loop passes the traced script's signals on: a slow console must not hold it up.
  m_echoes[0] = std::make_unique<ConsoleEcho>(STDOUT_FILENO);
  m_echoes[1] = std::make_unique<ConsoleEcho>(STDERR_FILENO);
  const int status = follow(attached.out, attached.err);
  const int exit_code = finish(status);
  for (auto& echo : m_echoes) {
    echo->finish();
  }
  return exit_code;
}

std::optional<int> Supervision::attached_end() {
  if (m_phase == Phase::recorded) {
    // The script reported its end, and it is on record: nothing more to learn from its exit,
    // and another run it starts needs to be traced by its own watcher.
    m_watched->release();
    // The script waits for its release (finish() returns once its end is on record and the
    // next start() can be traced): closing the reply pipe tells it, without polling.
    if (m_control_in >= 0) {
      ::close(m_control_in);
      m_control_in = -1;
    }
    sync_pending();
    return 0;
  }
  return m_watched->poll();
}

std::optional<int> Supervision::reaped() {
  if (m_watched) {
    return attached_end();
  }
  int status = 0;
  if (::waitpid(m_child, &status, WNOHANG) == m_child) {
    return status;
  }
  return std::nullopt;
}

SteadyClock::time_point Supervision::keep_time(SteadyClock::time_point now,
                                               SteadyClock::time_point& next_heartbeat,
                                               SteadyClock::time_point& next_sample,
                                               SteadyClock::duration sample_interval) {
  if (m_phase != Phase::running) {
    next_heartbeat = now + k_heartbeat_interval; // nothing (more) to beat for
  } else if (now >= next_heartbeat) {
    heartbeat();
    next_heartbeat = now + k_heartbeat_interval;
  }
  if (m_phase != Phase::running || !m_metrics) {
    next_sample = now + sample_interval;
    return next_heartbeat;
  }
  if (now >= next_sample) {
    m_metrics->sample();
    next_sample = now + sample_interval;
  }
  return std::min(next_heartbeat, next_sample);
}

int Supervision::follow(int out_fd, int err_fd) {
  Stream streams[2] = {
      {.fd = out_fd, .echo_fd = STDOUT_FILENO, .lines = util::LineReader(m_request.redrawn_lines)},
      {.fd = err_fd,
       .echo_fd = STDERR_FILENO,
       .lines = util::LineReader(m_request.redrawn_lines),
       .paint = util::color_enabled(STDERR_FILENO)}};
  streams[0].echo = m_echoes[0].get();
  streams[1].echo = m_echoes[1].get();
  bool control_open = true;
  std::optional<int> wait_status;
  std::optional<SteadyClock::time_point> drain_deadline;
  auto next_heartbeat = SteadyClock::now() + k_heartbeat_interval;
  const auto sample_interval = std::chrono::duration_cast<SteadyClock::duration>(
      std::chrono::duration<double>(m_request.system_metrics));
  auto next_sample = SteadyClock::now() + sample_interval;

  // Until the child is gone and everything it wrote (output and messages) is read; processes
  // it left behind holding the pipes get k_drain_grace.
  while (!wait_status || streams[0].fd >= 0 || streams[1].fd >= 0 || control_open) {
    const auto now = SteadyClock::now();
    if (drain_deadline && now >= *drain_deadline) {
      break;
    }
    if (m_sync_due && now >= *m_sync_due) {
      make_start_durable();
    }
    auto until = keep_time(now, next_heartbeat, next_sample, sample_interval);
    if (m_sync_due && *m_sync_due < until) {
      until = *m_sync_due;
    }
    if (drain_deadline && *drain_deadline < until) {
      until = *drain_deadline;
    }
    if (m_watched) {
      // A process not our child: its end is asked for, at least every 100 ms.
      until = std::min(until, now + std::chrono::milliseconds(100));
    }
    const int timeout = static_cast<int>(std::max<long long>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count() + 1));

    std::array<pollfd, 6> fds{{{m_signals->fd(), POLLIN, 0},
                               {streams[0].fd, POLLIN, 0},
                               {streams[1].fd, POLLIN, 0},
                               {control_open ? m_control_out : -1, POLLIN, 0},
                               {streams[0].echo ? streams[0].echo->waiting_fd() : -1, POLLOUT, 0},
                               {streams[1].echo ? streams[1].echo->waiting_fd() : -1, POLLOUT, 0}}};
    if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) {
      throw SystemError(fmt::format("poll failed: {}", std::strerror(errno)));
    }
    if (fds[0].revents & POLLIN) {
      while (const auto caught = m_signals->next()) {
        handle_signal(caught->number, caught->sent_by_process);
      }
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i + 4].revents & (POLLOUT | POLLHUP | POLLERR)) {
        streams[i].echo->flush();
      }
      if (fds[i + 1].revents & (POLLIN | POLLHUP | POLLERR)) {
        handle_output(streams[i]);
      }
    }
    if (fds[3].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buffer[4096];
      const ssize_t got = ::read(m_control_out, buffer, sizeof buffer);
      if (got > 0) {
        m_control_lines.feed(std::string_view(buffer, static_cast<size_t>(got)),
                             [this](std::string_view line) { handle_message(line); });
      } else if (got == 0 || errno != EINTR) {
        control_open = false;
      }
    }
    if (!wait_status && (wait_status = reaped())) {
      drain_deadline = SteadyClock::now() + k_drain_grace;
    }
  }
  sync_pending();
  for (auto& stream : streams) {
    stream.lines.finish([this](std::string_view line) { log_line(line); });
  }
  if (!wait_status) {
    int status = 0;
    if (m_watched) {
      // Its output pipes closed and its messages ended: it is going, wait for its end.
      while (!(wait_status = attached_end())) {
        ::usleep(20000);
      }
      return *wait_status;
    }
    ::waitpid(m_child, &status, 0);
    wait_status = status;
  }
  return *wait_status;
}

/// Whether a plugin with an after_end hook was loaded for this run and the experiment process
/// ended without calling it (killed, or died in C code).
bool Supervision::plugins_owe_end() const {
  // After the experiment's report, its process ran them (or was stopped while it did).
  if (m_phase == Phase::starting || !m_record_error.empty() || m_outcome || m_plugins_ended) {
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
  m_interruption = Interruption::none;
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
  if (m_watched) {
    // The attached script is not ours to signal: a signal meant for it (pkill, a batch
    // system's signal to the whole job) reaches it directly, and its pid may be another
    // process's once it has ended untraced. The watcher goes on recording its run.
    return;
  }
  if (m_interrupted_by.is_null()) {
    const auto given = m_request.interrupt_reasons.find(number);
    m_interrupted_by = {{"signal", signal_name(number)},
                        {"reason", given != m_request.interrupt_reasons.end()
                                       ? given->second
                                       : default_interrupt_reason(number)}};
  }
  const bool first = m_interruption == Interruption::none;
  if (number != SIGINT && number != SIGTERM && number != SIGHUP) {
    // A warning (a batch system's time limit is near): the experiment is interrupted as by a
    // first Ctrl-C, so that it saves what it has; the limit itself brings SIGTERM.
    if (first) {
      m_interruption = Interruption::asked;
      ::kill(m_child, SIGINT);
      std::cerr << fmt::format("\nxrun: interrupting the experiment: {}\n",
                               m_interrupted_by.value("reason", ""));
    }
    return;
  }
  if (first) {
    m_interruption = Interruption::asked;
    if (number == SIGINT) {
      // Ctrl-C at the terminal reaches the experiment directly (same process group);
      // a SIGINT sent to xrun alone is passed on.
      if (sent_by_process) {
        ::kill(m_child, SIGINT);
      }
      std::cerr << "\nxrun: interrupting the experiment (press Ctrl-C again to kill it)\n";
    } else {
      ::kill(m_child, SIGTERM);
    }
    return;
  }
  m_interruption = Interruption::killed;
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
  if (stream.echo) {
    stream.echo->write(stream.paint ? core::paint_message_prefixes(chunk, stream.at_line_start)
                                    : std::string(chunk));
    stream.lines.feed(chunk, [this](std::string_view line) { log_line(line); });
    return;
  }
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

void Supervision::handle_message(std::string_view line) {
  std::optional<protocol::Message> message;
  try {
    message = protocol::parse_message(line);
  } catch (const protocol::ProtocolError& error) {
    if (Json::parse(line, nullptr, false).value("type", "") == "prepare" && !m_folder &&
        m_start_error.empty()) {
      // The start cannot be recorded: the experiment stops instead of waiting for its
      // folder, and the end reports why, once (exit 74).
      m_start_error = error.what();
      send_reply(protocol::PrepareReply::unrecordable(m_start_error));
    } else {
      core::print_error(error.what());
    }
    return;
  }
  if (!message) {
    return;
  }
  if (const auto* prepare = std::get_if<protocol::PrepareRequest>(&*message)) {
    if (m_watched) {
      start_watching_run();
    }
    // The experiment starts only once its run folder holds its whole start (meta, code, log).
    send_reply(start_run(*prepare));
    if (!m_folder) {
      return;
    }
    if (m_request.system_metrics > 0) {
      m_metrics = std::make_unique<SystemMetrics>(m_folder->path, m_child,
                                                  !m_request.attached.has_value());
    }
    // The experiment goes on while its start is made durable: the fsyncs are off its path
    // (an attached script's shortly after, so that a run that ends at once pays none).
    if (m_watched) {
      m_sync_due = SteadyClock::now() + k_start_sync_delay;
    } else {
      make_start_durable();
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

void Supervision::make_start_durable() {
  m_sync_due.reset();
  try {
    sync_start();
    if (m_request.on_folder) {
      m_request.on_folder(m_folder->path);
    }
  } catch (const std::exception& error) {
    if (m_watched) {
      // A process not ours (a notebook kernel, say) is not stopped: the problem is said.
      const auto message = fmt::format("the run's start may not survive a crash of the system: {}",
                                       error.what());
      log_line(fmt::format("xrun: warning: {}", message));
      core::print_warning(message);
      return;
    }
    // A run that cannot be recorded must not go on unrecorded.
    m_record_error = error.what();
    ::kill(m_child, SIGKILL);
  }
}

void Supervision::sync_pending() {
  if (m_sync_due) {
    make_start_durable();
  }
  if (m_end_unsynced) {
    m_end_unsynced = false;
    try {
      util::fsync_directory(m_folder->path);
    } catch (const std::system_error& error) {
      core::print_warning(fmt::format("{}: {}", m_folder->path.string(), error.what()));
    }
  }
}

/// Traces the attached script from its request for a run folder on (it has allowed it by then),
/// and records in the meta how its end will be known.
void Supervision::start_watching_run() {
  if (!m_request.attached->trace) {
    m_untraced = fmt::format("{} is set", k_no_trace_variable);
  } else if (auto refused = m_watched->trace()) {
    m_untraced = std::move(*refused);
  }
  auto& watched = m_meta.extra["watched"] = nlohmann::ordered_json::object();
  watched["pid"] = m_child;
  watched["traced"] = m_untraced.empty();
  if (!m_untraced.empty()) {
    watched["untraced_reason"] = m_untraced;
  }
}

void Supervision::send_reply(const protocol::PrepareReply& answer) {
  try {
    util::write_all(m_control_in, answer.to_json().dump() + "\n", "the experiment's control pipe");
  } catch (const std::system_error&) {
    // The child is gone; its exit status tells the rest.
  }
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

int supervise(const RunRequest& request) {
  Supervision supervision(request);
  return supervision.run();
}

} // namespace xrun::run
