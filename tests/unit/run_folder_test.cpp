#include "test_support.hpp"
#include "util/random.hpp"
#include "util/time.hpp"
#include "xrun/error.hpp"
#include "xrun/meta.hpp"
#include "xrun/run_folder.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <fstream>
#include <doctest/doctest.h>
#include <set>
#include <sys/wait.h>
#include <unistd.h>

using namespace xrun;
using xrun::test::list_dir;
using xrun::test::TempDir;
using namespace std::chrono;

namespace {

system_clock::time_point at_millis(long long millis) {
  return system_clock::time_point(milliseconds(millis));
}

/// A frozen clock and a scripted list of suffixes, to force id collisions.
RunIdSource scripted(system_clock::time_point now, std::deque<std::string> suffixes) {
  auto queue = std::make_shared<std::deque<std::string>>(std::move(suffixes));
  return {[now] { return now; },
          [queue] {
            auto next = queue->front();
            if (queue->size() > 1) {
              queue->pop_front();
            }
            return next;
          }};
}

} // namespace

TEST_CASE("run ids are UTC timestamps with milliseconds and a suffix") {
  // 2026-11-23 13:21:17.482 UTC
  const auto time = at_millis(1795440077482LL);
  CHECK(format_run_id(time, "k3x9") == "2026-11-23_13-21-17-482_k3x9");
  CHECK(format_run_id(time, "k3x9", "lr_sweep") == "lr_sweep__2026-11-23_13-21-17-482_k3x9");
}

TEST_CASE("run ids sort chronologically as plain strings") {
  std::vector<std::string> ids;
  std::vector<long long> times{1795440077482LL, 1795440077483LL, 1795440078001LL,
                               1795443677000LL, 1798000000000LL, 946684800000LL};
  for (auto millis : times) {
    ids.push_back(format_run_id(at_millis(millis), "zzzz"));
  }
  auto by_string = ids;
  std::sort(by_string.begin(), by_string.end());
  std::sort(times.begin(), times.end());
  std::vector<std::string> by_time;
  for (auto millis : times) {
    by_time.push_back(format_run_id(at_millis(millis), "zzzz"));
  }
  CHECK(by_string == by_time);
}

TEST_CASE("creating a run folder makes a new empty folder named by its id") {
  TempDir dir;
  const auto run = create_run_folder(dir.path(), {});
  CHECK(std::filesystem::is_directory(run.path));
  CHECK(run.path.parent_path() == dir.path());
  CHECK(run.path.filename() == run.id);
  CHECK(run.id.size() == std::string("2026-11-23_13-21-17-482_k3x9").size());
  CHECK(std::filesystem::is_empty(run.path));
}

TEST_CASE("a taken id is never reused: the next suffix is drawn") {
  TempDir dir;
  const auto now = at_millis(1795440077482LL);
  const auto first = create_run_folder(dir.path(), {}, scripted(now, {"aaaa"}));
  const auto second = create_run_folder(dir.path(), {}, scripted(now, {"aaaa", "aaaa", "bbbb"}));
  CHECK(first.id == "2026-11-23_13-21-17-482_aaaa");
  CHECK(second.id == "2026-11-23_13-21-17-482_bbbb");
  CHECK(list_dir(dir.path()).size() == 2);
}

TEST_CASE("creating a run folder gives up with a clear error when every id is taken") {
  TempDir dir;
  const auto now = at_millis(1795440077482LL);
  create_run_folder(dir.path(), {}, scripted(now, {"aaaa"}));
  CHECK_THROWS_AS(create_run_folder(dir.path(), {}, scripted(now, {"aaaa"})), ArchiveError);
}

TEST_CASE("a prefix is put before the id and checked") {
  TempDir dir;
  const auto run = create_run_folder(dir.path(), {.prefix = "baseline"});
  CHECK(run.id.starts_with("baseline__"));
  CHECK_THROWS_AS(create_run_folder(dir.path(), {.prefix = "a/b"}), UsageError);
  CHECK_THROWS_AS(create_run_folder(dir.path(), {.prefix = ".hidden"}), UsageError);
}

TEST_CASE("a debug run replaces the previous debug folder") {
  TempDir dir;
  const auto first = create_run_folder(dir.path(), {.debug = true});
  CHECK(first.id == "debug");
  std::ofstream(first.path / "old.txt") << "from the previous run";
  const auto second = create_run_folder(dir.path(), {.debug = true});
  CHECK(second.path == first.path);
  CHECK(std::filesystem::is_empty(second.path));
  CHECK(list_dir(dir.path()) == std::vector<std::string>{"debug"});
}

TEST_CASE("namespaces are relative paths inside the base") {
  TempDir dir;
  CHECK(namespace_path(dir.path(), "results/exp") == dir.path() / "results" / "exp");
  CHECK_THROWS_AS(namespace_path(dir.path(), "/abs/results"), ConfigError);
  CHECK_THROWS_AS(namespace_path(dir.path(), "results/../../etc"), ConfigError);
  CHECK_THROWS_AS(namespace_path(dir.path(), ""), ConfigError);
}

TEST_CASE("ensure_namespace creates nested folders and needs an existing base") {
  TempDir dir;
  const auto ns = ensure_namespace(dir.path(), "results/a/b");
  CHECK(std::filesystem::is_directory(ns));
  CHECK(ensure_namespace(dir.path(), "results/a/b") == ns); // again: no error
  CHECK_THROWS_AS(ensure_namespace(dir.path() / "missing", "results"), ConfigError);
  std::ofstream(dir.path() / "file") << "x";
  CHECK_THROWS_AS(ensure_namespace(dir.path(), "file/results"), ArchiveError);
}

TEST_CASE("ensure_namespace says which folders it created, and leaves none when it fails") {
  TempDir dir;
  std::vector<std::filesystem::path> created;
  ensure_namespace(dir.path(), "results/a", &created);
  CHECK(created == std::vector{dir.path() / "results", dir.path() / "results" / "a"});
  created.clear();
  ensure_namespace(dir.path(), "results/a", &created);
  CHECK(created.empty());
  std::ofstream(dir.path() / "results" / "a" / "file") << "x";
  // Fails after making results/b/c: a name too long for the file system.
  CHECK_THROWS_AS(ensure_namespace(dir.path(), "results/b/c/" + std::string(300, 'n'), &created),
                  ArchiveError);
  CHECK_THROWS_AS(ensure_namespace(dir.path(), "results/a/file/d", &created), ArchiveError);
  CHECK(created.empty());
  CHECK(list_dir(dir.path() / "results") == std::vector<std::string>{"a"});
}

TEST_CASE("a staged run folder is hidden until it is published whole") {
  TempDir dir;
  const auto now = at_millis(1795440077482LL);
  const auto staged = stage_run_folder(dir.path(), {}, scripted(now, {"aaaa"}));
  CHECK(staged.staging == dir.path() / ".2026-11-23_13-21-17-482_aaaa.starting");
  CHECK(staged.run.id == "2026-11-23_13-21-17-482_aaaa");
  std::ofstream(staged.staging / "experiment_meta.json") << "{}";
  int renamed = 0;
  const auto run = publish_run_folder(staged, {}, [&](const RunFolder&) { ++renamed; });
  CHECK(renamed == 0);
  CHECK(run.path == dir.path() / staged.run.id);
  CHECK(list_dir(dir.path()) == std::vector<std::string>{staged.run.id});
  CHECK(list_dir(run.path) == std::vector<std::string>{"experiment_meta.json"});
}

TEST_CASE("a staged run whose id was taken meanwhile gets a new one") {
  TempDir dir;
  const auto now = at_millis(1795440077482LL);
  const auto first = create_run_folder(dir.path(), {}, scripted(now, {"aaaa"}));
  std::ofstream(first.path / "experiment_meta.json") << "{}";
  const auto source = scripted(now, {"aaaa", "bbbb"});
  const auto staged = stage_run_folder(dir.path(), {}, source);
  CHECK(staged.run.id == first.id); // its hidden name was free
  std::vector<std::string> ids;
  const auto run = publish_run_folder(
      staged, {}, [&](const RunFolder& folder) { ids.push_back(folder.id); }, source);
  CHECK(ids == std::vector<std::string>{"2026-11-23_13-21-17-482_bbbb"});
  CHECK(run.id == ids[0]);
  CHECK(list_dir(dir.path()) == std::vector<std::string>{first.id, run.id});
  CHECK(list_dir(first.path) == std::vector<std::string>{"experiment_meta.json"});
}

TEST_CASE("a published debug run replaces the previous one, unless it is alive") {
  TempDir dir;
  const auto first = create_run_folder(dir.path(), {.debug = true});
  std::ofstream(first.path / "old.txt") << "from the previous run";
  const auto staged = stage_run_folder(dir.path(), {.debug = true});
  std::ofstream(staged.staging / "new.txt") << "this run";
  const auto run = publish_run_folder(staged, {.debug = true}, {});
  CHECK(run.path == first.path);
  CHECK(list_dir(run.path) == std::vector<std::string>{"new.txt"});
  CHECK(list_dir(dir.path()) == std::vector<std::string>{"debug"});
  RunMeta meta;
  meta.status = RunStatus::running;
  meta.heartbeat = util::to_epoch_seconds(util::Clock::now());
  write_meta(run.path, meta);
  CHECK_THROWS_AS(stage_run_folder(dir.path(), {.debug = true}), UsageError);
}

namespace {

constexpr int k_processes = 64;

/// Forks `count` children that block on a pipe until all exist, then run `body` at once.
/// Returns how many children exited with status 0.
template <class Body> int run_at_once(int count, Body body) {
  int gate[2];
  REQUIRE(::pipe(gate) == 0);
  std::vector<pid_t> children;
  for (int i = 0; i < count; ++i) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(gate[1]);
      char byte;
      while (::read(gate[0], &byte, 1) < 0) {
      }
      int code = 1;
      try {
        code = body(i);
      } catch (...) {
        code = 3;
      }
      ::_exit(code); // no doctest teardown in the child
    }
    children.push_back(pid);
  }
  ::close(gate[0]);
  ::close(gate[1]); // opens the gate: every read returns 0 together
  int succeeded = 0;
  for (const pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    succeeded += WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  return succeeded;
}

void check_runs(const std::filesystem::path& ns, const std::string& host_prefix) {
  const auto names = list_dir(ns);
  CHECK(names.size() == static_cast<size_t>(k_processes));
  std::set<long> pids;
  for (const auto& name : names) {
    const auto meta = read_meta(ns / name); // throws if any meta is torn
    CHECK(meta.id == name);
    CHECK(meta.host.starts_with(host_prefix));
    pids.insert(meta.pid);
  }
  CHECK(pids.size() == static_cast<size_t>(k_processes));
}

int create_and_record(const std::filesystem::path& base, int index, const RunIdSource& source) {
  const auto ns = ensure_namespace(base, "results/stress");
  const auto run = create_run_folder(ns, {}, source);
  RunMeta meta;
  meta.id = run.id;
  meta.host = "host-" + std::to_string(index % 4); // as if from four machines
  meta.pid = ::getpid();
  write_meta(run.path, meta);
  return 0;
}

} // namespace

TEST_CASE("64 processes creating runs in one namespace at once get 64 distinct folders") {
  TempDir dir;
  const int ok = run_at_once(k_processes, [&](int index) {
    return create_and_record(dir.path(), index, RunIdSource::system());
  });
  CHECK(ok == k_processes);
  check_runs(dir.path() / "results" / "stress", "host-");
}

TEST_CASE("64 processes in the same millisecond with a tiny id space still never collide") {
  TempDir dir;
  // A frozen clock and two-character suffixes (1024 ids) make collisions certain to be tried.
  const auto frozen = at_millis(1795440077482LL);
  const RunIdSource crowded{[frozen] { return frozen; }, [] { return util::random_token(2); }};
  const int ok = run_at_once(k_processes, [&](int index) {
    return create_and_record(dir.path(), index, crowded);
  });
  CHECK(ok == k_processes);
  check_runs(dir.path() / "results" / "stress", "host-");
}
