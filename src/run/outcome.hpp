// How a run ended: its final status and exit code from what the supervisor saw of the
// experiment process and what the experiment reported. No processes, no files: a pure decision.
#pragma once

#include "xrun/status.hpp"

#include <string>

namespace xrun::run {

/// How far the supervisor went in stopping the experiment at the user's (or a batch system's)
/// request.
enum class Interruption {
  none,
  asked,  // interrupted (Ctrl-C, SIGTERM or SIGHUP forwarded, or a warning made an interrupt)
  killed, // a second request came: xrun sent SIGKILL
};

/// What the experiment's own report of its end ("finish") said, as far as the status goes;
/// all empty when it made none.
struct Report {
  bool interrupted = false;
  std::string error_type = {};
  std::string error_message = {};
};

/// The run's end as recorded in its meta and given as the exit code of `xrun run`.
struct RunEnd {
  RunStatus status = RunStatus::failed;
  int exit_code = 1;
  int signal = 0; // the signal that killed the experiment process, 0 for none
  std::string error_type = {};
  std::string error_message = {};
  /// A line for the log about how the process ended ("" for none), and whether it goes to
  /// stderr too.
  std::string note;
  bool note_on_stderr = false;
};

/// How `xrun run` ends when the experiment process ended before it had a run folder: nothing
/// was recorded.
struct NoRunEnd {
  int exit_code = 2;
  std::string message = {};                                   // what is said on stderr
  enum class Say { nothing, line, error } say = Say::nothing; // `xrun: ...` or `xrun: error: ...`
};

/// What an experiment process exiting with 0 before it asked for a run folder did.
enum class QuietExit {
  defect,     // a module ended the process while it loaded (os._exit): an error
  reused_run, // a function run found a done run with its cache key and said so: success
};

/// The end of `xrun run` whose experiment process (loading `file`) ended with `wait_status`
/// before its run started: interrupted (130), killed (128 + N), its own start error (74), bad
/// input (2; reported by the process itself, or here for an unexpected exit code), or, for a
/// function run (`quiet_exit` reused_run) that exited with 0, a done run reused (0).
NoRunEnd end_before_start(int wait_status, Interruption interruption, const std::string& file,
                          QuietExit quiet_exit = QuietExit::defect);

/// `SIGINT`, `SIGKILL`, ...: the name of signal `number` (`signal N` for one without).
std::string signal_name(int number);

/// The end of a run from the experiment's report, made while its process still runs.
RunEnd end_from_report(const Report& report);

/// The end of a run whose process ended (`wait_status`, as waitpid gives it) before its
/// report was on record: from the signal or exit code, what the supervisor did
/// (`interruption`) and what the experiment reported, if anything.
RunEnd end_from_exit(int wait_status, Interruption interruption, const Report& report);

/// The end of a watched script that ended without reporting it, when its exit status cannot
/// be known (it was not traced: `why`): killed, by a signal unknown.
RunEnd end_unknown(const std::string& why);

} // namespace xrun::run
