#include "run/outcome.hpp"

#include <csignal>
#include <doctest/doctest.h>
#include <string>
#include <sys/wait.h>
#include <vector>

using xrun::RunStatus;
using xrun::run::end_from_exit;
using xrun::run::end_from_report;
using xrun::run::Interruption;
using xrun::run::Report;

namespace {

int exited(int code) {
  return W_EXITCODE(code, 0);
}

int killed_by(int signal) {
  return W_EXITCODE(0, signal);
}

struct ExitCase {
  const char* what;
  int wait_status;
  Interruption interruption;
  Report report;
  RunStatus status;
  int exit_code;
  int signal;
  std::string error_type;
  std::string error_message;
};

} // namespace

TEST_CASE("a run ends as its report says while its process lives") {
  const struct {
    Report report;
    RunStatus status;
    int exit_code;
  } cases[] = {
      {{}, RunStatus::done, 0},
      {{.error_type = "ValueError", .error_message = "bad"}, RunStatus::failed, 1},
      {{.interrupted = true, .error_type = "KeyboardInterrupt"}, RunStatus::interrupted, 130},
      {{.interrupted = true}, RunStatus::interrupted, 130},
  };
  for (const auto& row : cases) {
    CAPTURE(row.report.error_type);
    const auto end = end_from_report(row.report);
    CHECK(end.status == row.status);
    CHECK(end.exit_code == row.exit_code);
    CHECK(end.signal == 0);
    CHECK(end.error_type == row.report.error_type);
    CHECK(end.error_message == row.report.error_message);
    CHECK(end.note.empty());
  }
}

TEST_CASE("a run whose process ended first ends by its exit status and the interrupts") {
  const Report none;
  const Report failure{.error_type = "ValueError", .error_message = "bad"};
  const Report interrupted{.interrupted = true, .error_type = "KeyboardInterrupt"};
  const std::vector<ExitCase> cases{
      {"a signal nobody asked for kills it", killed_by(SIGKILL), Interruption::none, none,
       RunStatus::killed, 128 + SIGKILL, SIGKILL, "SIGKILL", ""},
      {"a segfault after a Ctrl-C is still a death", killed_by(SIGSEGV), Interruption::asked, none,
       RunStatus::killed, 128 + SIGSEGV, SIGSEGV, "SIGSEGV", ""},
      {"the forwarded SIGINT ends it", killed_by(SIGINT), Interruption::asked, none,
       RunStatus::interrupted, 130, SIGINT, "", ""},
      {"the forwarded SIGTERM ends it", killed_by(SIGTERM), Interruption::asked, none,
       RunStatus::interrupted, 130, SIGTERM, "", ""},
      {"SIGTERM from elsewhere kills it", killed_by(SIGTERM), Interruption::none, none,
       RunStatus::killed, 128 + SIGTERM, SIGTERM, "SIGTERM", ""},
      {"xrun's SIGKILL after a second Ctrl-C", killed_by(SIGKILL), Interruption::killed, failure,
       RunStatus::interrupted, 130, SIGKILL, "ValueError",
       "killed by xrun after a second interrupt"},
      {"exit 0 without a report is an early exit", exited(0), Interruption::none, none,
       RunStatus::failed, 1, 0, "EarlyExit",
       "the experiment process exited with code 0 before the experiment ended (os._exit, or "
       "exit() from native code)"},
      {"exit 130 is a KeyboardInterrupt outside the experiment", exited(130), Interruption::none,
       none, RunStatus::interrupted, 130, 0, "KeyboardInterrupt", ""},
      {"a reported interrupt with another exit code", exited(1), Interruption::asked, interrupted,
       RunStatus::interrupted, 130, 0, "KeyboardInterrupt", ""},
      {"a reported error keeps its type", exited(1), Interruption::none, failure, RunStatus::failed,
       1, 0, "ValueError", "bad"},
      {"an exit code without a report names it", exited(3), Interruption::none, none,
       RunStatus::failed, 1, 0, "exit code 3", ""},
  };
  for (const auto& row : cases) {
    CAPTURE(row.what);
    const auto end = end_from_exit(row.wait_status, row.interruption, row.report);
    CHECK(end.status == row.status);
    CHECK(end.exit_code == row.exit_code);
    CHECK(end.signal == row.signal);
    CHECK(end.error_type == row.error_type);
    CHECK(end.error_message == row.error_message);
  }
}

TEST_CASE("how the process ended is noted in the log") {
  const auto killed = end_from_exit(killed_by(SIGKILL), Interruption::none, {});
  CHECK(killed.note == "xrun: the experiment process was killed by SIGKILL");
  CHECK_FALSE(killed.note_on_stderr);
  const auto early = end_from_exit(W_EXITCODE(0, 0), Interruption::none, {});
  CHECK(early.note == "xrun: " + early.error_message);
  CHECK(early.note_on_stderr);
  CHECK(end_from_exit(W_EXITCODE(1, 0), Interruption::none, {}).note.empty());
}

TEST_CASE("an experiment process that ends before its run started leaves no run") {
  using xrun::run::end_before_start;
  using xrun::run::NoRunEnd;
  const struct {
    const char* what;
    int wait_status;
    Interruption interruption;
    int exit_code;
    NoRunEnd::Say say;
    std::string message;
  } cases[] = {
      {"Ctrl-C while loading", exited(1), Interruption::asked, 130, NoRunEnd::Say::line,
       "interrupted before the run started; no run was created"},
      {"a KeyboardInterrupt while loading", exited(130), Interruption::none, 130,
       NoRunEnd::Say::line, "interrupted before the run started; no run was created"},
      {"SIGTERM from elsewhere", killed_by(SIGTERM), Interruption::none, 130, NoRunEnd::Say::line,
       "interrupted before the run started; no run was created"},
      {"a crash", killed_by(SIGSEGV), Interruption::none, 128 + SIGSEGV, NoRunEnd::Say::error,
       "the experiment process died of SIGSEGV before the run started; no run was created"},
      {"bad input, reported by the process", exited(2), Interruption::none, 2,
       NoRunEnd::Say::nothing, ""},
      {"a start that could not be recorded", exited(74), Interruption::none, 74,
       NoRunEnd::Say::nothing, ""},
      {"os._exit while loading", exited(0), Interruption::none, 2, NoRunEnd::Say::error,
       "the experiment process exited with code 0 while loading exp.py; no run was created"},
  };
  for (const auto& row : cases) {
    CAPTURE(row.what);
    const auto end = end_before_start(row.wait_status, row.interruption, "exp.py");
    CHECK(end.exit_code == row.exit_code);
    CHECK(end.say == row.say);
    CHECK(end.message == row.message);
  }
  // A function run that reused a done run exits with 0 and says so itself.
  using xrun::run::QuietExit;
  const auto reused =
      end_before_start(exited(0), Interruption::none, "mod.py", QuietExit::reused_run);
  CHECK(reused.exit_code == 0);
  CHECK(reused.say == NoRunEnd::Say::nothing);
  CHECK(
      end_before_start(exited(2), Interruption::none, "mod.py", QuietExit::reused_run).exit_code ==
      2);
  CHECK(end_before_start(killed_by(SIGSEGV), Interruption::none, "mod.py", QuietExit::reused_run)
            .exit_code == 128 + SIGSEGV);
}

TEST_CASE("a watched script that ended untraced and unreported is killed by a signal unknown") {
  const auto end = xrun::run::end_unknown("ptrace refused: Operation not permitted");
  CHECK(end.status == RunStatus::killed);
  CHECK(end.signal == 0);
  CHECK(end.error_message.find("it was not traced (ptrace refused: Operation not permitted)") !=
        std::string::npos);
  CHECK(end.note == "xrun: " + end.error_message);
}
