#include "run/outcome.hpp"

#include "core/protocol.hpp"
#include "xrun/error.hpp"

#include <csignal>
#include <cstring>
#include <fmt/format.h>
#include <sys/wait.h>

namespace xrun::run {

std::string signal_name(int number) {
  const char* name = ::sigabbrev_np(number);
  return name ? fmt::format("SIG{}", name) : fmt::format("signal {}", number);
}

NoRunEnd end_before_start(int wait_status, Interruption interruption, const std::string& file,
                          QuietExit quiet_exit) {
  const bool interrupted = interruption != Interruption::none ||
                           (WIFSIGNALED(wait_status) && (WTERMSIG(wait_status) == SIGINT ||
                                                         WTERMSIG(wait_status) == SIGTERM)) ||
                           (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 130);
  if (interrupted) {
    return {exit_code_for(RunStatus::interrupted),
            "interrupted before the run started; no run was created", NoRunEnd::Say::line};
  }
  if (WIFSIGNALED(wait_status)) {
    return {128 + WTERMSIG(wait_status),
            fmt::format("the experiment process died of {} before the run started; no run was "
                        "created",
                        signal_name(WTERMSIG(wait_status))),
            NoRunEnd::Say::error};
  }
  const int code = WEXITSTATUS(wait_status);
  if (code == k_exit_unrecorded) {
    return {code}; // what the run needs could not be written, as the experiment process said
  }
  if (code == 0 && quiet_exit == QuietExit::reused_run) {
    return {0}; // the process named the done run it reused
  }
  if (code != k_exit_usage) {
    // The module ended the process while it was loading (os._exit, exit() in C): neither a
    // success without a run nor a run that failed. (sys.exit is reported by the child.)
    return {k_exit_usage,
            fmt::format("the experiment process exited with code {} while loading {}; no run "
                        "was created",
                        code, file),
            NoRunEnd::Say::error};
  }
  return {k_exit_usage};
}

RunEnd end_from_report(const Report& report) {
  RunEnd end;
  end.error_type = report.error_type;
  end.error_message = report.error_message;
  // The rule the experiment process also uses for its after_end hooks (_xrun.reported_status).
  core::protocol::FinishReport finish;
  finish.interrupted = report.interrupted;
  finish.error_type = report.error_type;
  end.status = finish.status();
  end.exit_code = exit_code_for(end.status, 0);
  return end;
}

RunEnd end_from_exit(int wait_status, Interruption interruption, const Report& report) {
  RunEnd end;
  end.error_type = report.error_type;
  end.error_message = report.error_message;
  if (WIFSIGNALED(wait_status)) {
    end.signal = WTERMSIG(wait_status);
    // Ended by the interrupt the user asked for: a forwarded SIGINT/SIGTERM, or the SIGKILL
    // xrun sent on a second Ctrl-C. Any other signal is the experiment's death.
    const bool killed_by_xrun = interruption == Interruption::killed;
    const bool by_interrupt = interruption != Interruption::none &&
                              (end.signal == SIGINT || end.signal == SIGTERM || killed_by_xrun);
    end.status = by_interrupt ? RunStatus::interrupted : RunStatus::killed;
    if (killed_by_xrun) {
      end.error_message = "killed by xrun after a second interrupt";
    } else if (end.status == RunStatus::killed) {
      end.error_type = signal_name(end.signal);
    }
    end.note =
        fmt::format("xrun: the experiment process was killed by {}", signal_name(end.signal));
  } else {
    const int code = WEXITSTATUS(wait_status);
    if (code == 0) {
      // A run ends with the experiment's report. A process that exited cleanly without one
      // (os._exit, exit() from native code) cut its experiment short: the run did not finish.
      end.status = RunStatus::failed;
      end.error_type = "EarlyExit";
      end.error_message = "the experiment process exited with code 0 before the experiment "
                          "ended (os._exit, or exit() from native code)";
      end.note = "xrun: " + end.error_message;
      end.note_on_stderr = true;
    } else if (code == 130 || report.interrupted) {
      end.status = RunStatus::interrupted;
      if (end.error_type.empty()) {
        // Exit code 130: a KeyboardInterrupt outside the experiment's function (while the run
        // was being set up or closed), so it made no report of its own.
        end.error_type = "KeyboardInterrupt";
      }
    } else {
      end.status = RunStatus::failed;
      if (end.error_type.empty()) {
        end.error_type = fmt::format("exit code {}", code);
      }
    }
  }
  end.exit_code = exit_code_for(end.status, end.signal);
  return end;
}

RunEnd end_unknown(const std::string& why) {
  RunEnd end;
  end.status = RunStatus::killed;
  end.error_type = "unknown signal";
  end.error_message = fmt::format("the script ended without reporting its end, and how it "
                                  "ended is unknown: it was not traced ({})",
                                  why);
  end.note = "xrun: " + end.error_message;
  end.exit_code = exit_code_for(end.status, 0);
  return end;
}

} // namespace xrun::run
