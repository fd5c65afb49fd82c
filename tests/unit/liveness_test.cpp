// The lost rule (core/liveness): what `xrun archive list`, a sweep's status, the web viewer
// and the Python package's RunView.status show for a run recorded as running.
#include "core/liveness.hpp"
#include "util/host.hpp"
#include "util/process.hpp"

#include <csignal>
#include <ctime>
#include <doctest/doctest.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

using namespace xrun;
using core::Liveness;

namespace {

/// A child process that waits to be killed, killed and reaped when the object goes away.
/// Forked without exec, it runs this test program, whose name starts with "xrun" as xrun's
/// programs do; with `program` it runs that instead.
class Child {
public:
  explicit Child(const char* program = nullptr) : m_pid(::fork()) {
    REQUIRE(m_pid >= 0);
    if (m_pid == 0) {
      if (program != nullptr) {
        ::execl(program, program, "30", static_cast<char*>(nullptr));
      }
      ::pause();
      ::_exit(0);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (m_pid > 0) {
      end();
    }
  }

  /// Kills and reaps it: its pid then names no process.
  void end() {
    ::kill(m_pid, SIGKILL);
    ::waitpid(m_pid, nullptr, 0);
  }

  long pid() const { return m_pid; }

private:
  pid_t m_pid;
};

double now() {
  return static_cast<double>(std::time(nullptr));
}

} // namespace

TEST_CASE("on another host the heartbeat tells: over a minute old is lost") {
  const core::RecordedProcess elsewhere{"another-host.example", 1, "", now() - 3600};
  CHECK(core::liveness_here(elsewhere) == Liveness::unknown);
  const double t = now();
  CHECK_FALSE(core::is_lost({RunStatus::running, elsewhere, t - 5}, t));
  CHECK_FALSE(core::is_lost({RunStatus::running, elsewhere, t - core::k_lost_after_seconds}, t));
  CHECK(core::is_lost({RunStatus::running, elsewhere, t - core::k_lost_after_seconds - 1}, t));
  CHECK(core::is_lost({RunStatus::running, elsewhere, 0}, t)); // no heartbeat recorded
}

TEST_CASE("only a run recorded as running can be lost") {
  const core::RecordedProcess elsewhere{"another-host.example", 1, "", 0};
  for (const auto status : {RunStatus::done, RunStatus::failed, RunStatus::interrupted,
                            RunStatus::killed, RunStatus::lost}) {
    CHECK_FALSE(core::is_lost({status, elsewhere, 0}, now()));
  }
}

TEST_CASE("another pid namespace of this host is judged by the heartbeat") {
  const auto host = util::host_name();
  const core::RecordedProcess other{host, ::getpid(), "pid:[1]-not-this-one", 0};
  CHECK(core::liveness_here(other) == Liveness::unknown);
  CHECK_FALSE(core::is_lost({RunStatus::running, other, now()}, now()));
}

TEST_CASE("here a gone supervisor is lost whatever its heartbeat") {
  const auto host = util::host_name();
  const auto pids = util::pid_namespace();
  Child ended;
  ended.end();
  const core::RecordedProcess dead{host, ended.pid(), pids, now() - 10};
  CHECK(core::liveness_here(dead) == Liveness::gone);
  CHECK(core::is_lost({RunStatus::running, dead, now()}, now()));
  // This process cannot be a supervisor of a run it reads.
  CHECK(core::liveness_here({host, ::getpid(), pids, 0}) == Liveness::gone);
  // A pid beyond pid_t (a damaged meta) names no process; cast, it would be -1, "every process".
  CHECK(core::liveness_here({host, 4294967295L, pids, 0}) == Liveness::gone);
  // A live process of another program holds the pid.
  Child sleeper("/bin/sleep");
  const auto runs_sleep = [&] {
    const auto program = util::process_executable(sleeper.pid());
    return program && program->filename() == "sleep";
  };
  for (int waited = 0; !runs_sleep() && waited < 10000; ++waited) {
    ::usleep(1000); // until the exec is done: /proc then names sleep
  }
  REQUIRE(runs_sleep());
  CHECK(core::is_lost({RunStatus::running, {host, sleeper.pid(), pids, now()}, now()}, now()));
}

TEST_CASE("here a live xrun supervisor keeps its run running however old the heartbeat") {
  const auto host = util::host_name();
  const auto pids = util::pid_namespace();
  Child supervisor;
  // It started before the run (suspended since, with no heartbeat for an hour).
  const core::RecordedProcess live{host, supervisor.pid(), pids, now() + 10};
  CHECK(core::liveness_here(live) == Liveness::alive);
  CHECK_FALSE(core::is_lost({RunStatus::running, live, now() - 3600}, now()));
  // Started an hour after the run did: the pid went to another xrun process since.
  const core::RecordedProcess reused{host, supervisor.pid(), pids, now() - 3600};
  CHECK(core::liveness_here(reused) == Liveness::gone);
  CHECK(core::is_lost({RunStatus::running, reused, now()}, now()));
}

TEST_CASE("lost_given: alive is never lost, gone always, unknown by the heartbeat") {
  CHECK_FALSE(core::lost_given(Liveness::alive, 0, 1e9));
  CHECK(core::lost_given(Liveness::gone, 1e9, 1e9));
  CHECK_FALSE(core::lost_given(Liveness::unknown, 1e9 - 30, 1e9));
  CHECK(core::lost_given(Liveness::unknown, 1e9 - 90, 1e9));
}
