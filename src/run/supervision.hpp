// The supervision of one run, shared by the files that implement it: supervisor.cpp (the
// experiment process, its output, signals and messages), run_start.cpp (the run folder and
// the record of its start) and run_end.cpp (the final status). Not for use elsewhere.
#pragma once

#include "core/child_process.hpp"
#include "core/protocol.hpp"
#include "run/git_info.hpp"
#include "run/outcome.hpp"
#include "run/output_log.hpp"
#include "run/supervisor.hpp"
#include "run/system_metrics.hpp"
#include "run/watch_echo.hpp"
#include "run/watch_process.hpp"
#include "util/line_reader.hpp"
#include "util/signal_pipe.hpp"
#include "xrun/meta.hpp"
#include "xrun/run_folder.hpp"

#include <chrono>
#include <csignal>
#include <filesystem>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace xrun::run {

using Json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;
namespace protocol = core::protocol;

/// One of the experiment process's output pipes: the terminal it is echoed to, and its lines
/// for the log.
struct Stream {
  int fd;      // the read end; -1 at its end
  int echo_fd; // STDOUT_FILENO or STDERR_FILENO
  // A `\r` that is not part of `\r\n` starts the line over (a progress bar redrawing
  // itself): the log keeps only its last state (RunRequest::redrawn_lines).
  util::LineReader lines{util::CarriageReturn::starts_over};
  bool paint = false;          // color xrun's message prefixes in the echo (a terminal)
  bool at_line_start = true;   // the next byte echoed starts a line
  ConsoleEcho* echo = nullptr; // attached: the echo that never blocks, else a plain write
};

/// How far a supervised run has come.
enum class Phase {
  starting, // no run folder yet: the experiment process loads and resolves its parameters
  running,  // the run folder holds the run's start; the experiment runs
  ended,    // the final status is decided (in the meta), not yet on record
  recorded, // the final status, as the experiment reported it, is written
};

/// The run being supervised: what the supervisor knows and writes.
class Supervision {
public:
  explicit Supervision(const RunRequest& request) : m_request(request) {}

  int run();

private:
  /// Copies the output of the process m_child to the terminal and the log and reads its
  /// messages until it is gone and its pipes are drained; returns its wait status.
  int watch(core::Pipe& out, core::Pipe& err, core::Pipe& control_out, core::Pipe& control_in);
  /// The same for the process of m_request.attached (`xrun watch`): returns the code its
  /// run ended with.
  int watch_attached();
  /// The loop of watch(): the output descriptors (-1: none) and the control pipes set.
  int follow(int out_fd, int err_fd);
  /// Whether the attached process has ended (its wait status), handling its stops.
  std::optional<int> attached_end();
  void start_watching_run();
  /// The wait status of the process watched once it has ended (not blocking).
  std::optional<int> reaped();
  /// Writes the heartbeat and samples the system metrics when their times have come; returns
  /// when to come back.
  SteadyClock::time_point keep_time(SteadyClock::time_point now,
                                    SteadyClock::time_point& next_heartbeat,
                                    SteadyClock::time_point& next_sample,
                                    SteadyClock::duration sample_interval);
  bool plugins_owe_end() const;
  void finish_plugins();
  void handle_signal(int number, bool sent_by_process);
  void handle_output(Stream& stream);
  void handle_message(std::string_view line);
  void send_reply(const protocol::PrepareReply& reply);
  protocol::PrepareReply start_run(const protocol::PrepareRequest& message);
  void record_start(const protocol::PrepareRequest& message, const StagedRunFolder& staged);
  void describe_start(const protocol::PrepareRequest& message, const StagedRunFolder& staged);
  void archive_start(const protocol::PrepareRequest& message, const std::filesystem::path& folder);
  void rewrite_start_meta(const std::filesystem::path& staging, const RunFolder& run);
  void sync_start();
  /// sync_start() and the on_folder callback, once the run folder exists; a failure stops the
  /// experiment (a run that cannot be recorded must not go on unrecorded), but is only said for
  /// an attached script, which is not ours to stop.
  void make_start_durable();
  /// What an attached run's start and end left to sync (see m_sync_due), done now.
  void sync_pending();
  void undo_start(const std::optional<StagedRunFolder>& staged);
  std::string copy_name(const std::string& source);
  void heartbeat();
  int finish(int wait_status);
  Report reported() const;
  void apply(const RunEnd& end);
  void record_end();
  void record_outcome();
  int end_run();
  void note_interruption();
  void log_line(std::string_view line) { m_log.append(line); }

  const RunRequest& m_request;
  pid_t m_child = -1;
  int m_control_in = -1; // supervisor -> child
  int m_control_out = -1;
  util::LineReader m_control_lines; // the child's messages, a JSON object a line
  OutputLog m_log;
  std::optional<RunFolder> m_folder;
  RunMeta m_meta;
  std::optional<protocol::FinishReport> m_outcome; // the experiment's report of its end
  GitDiff m_git_diff = GitDiff::code;
  std::future<std::optional<GitSnapshot>> m_git;
  Phase m_phase = Phase::starting;
  Interruption m_interruption = Interruption::none;
  bool m_heartbeat_failed = false; // a heartbeat could not be written (warned of once)
  bool m_plugins_ended = false;    // the experiment process ran the plugins' after_end hooks
  Json m_interrupted_by;           // {"signal", "reason"} of the first signal that came
  std::vector<int> m_handled{SIGINT, SIGTERM, SIGHUP, SIGCHLD}; // and interrupt_reasons' signals
  std::optional<util::SignalPipe> m_signals;
  std::string m_record_error; // why the run could not be recorded; it was stopped
  std::string m_start_error;  // why the run's start could not be recorded; it did not start
  std::vector<std::filesystem::path> m_created_dirs; // namespace folders this run created
  std::vector<std::string> m_start_files;            // the files of the run folder's start
  std::string m_code;                       // the experiment module's source when the run started
  std::optional<WatchedProcess> m_watched;  // the attached process (`xrun watch`)
  std::string m_untraced;                   // why the attached process is not traced
  std::unique_ptr<SystemMetrics> m_metrics; // from the run folder's creation
  std::unique_ptr<ConsoleEcho> m_echoes[2]; // attached: the echo of its stdout and stderr
  // An attached script waits for its start's reply and for its release at the end, but not
  // for the fsyncs: they are made shortly after the start (or after the release, for a run
  // ended sooner), and the end's folder sync after the release.
  std::optional<SteadyClock::time_point> m_sync_due; // the start's files are not synced yet
  bool m_end_unsynced = false;                       // the final meta's rename is not synced yet
};

} // namespace xrun::run
