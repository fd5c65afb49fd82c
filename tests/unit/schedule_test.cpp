#include "sweep/runner.hpp"
#include "sweep/schedule.hpp"
#include "test_support.hpp"

#include <algorithm>
#include <csignal>
#include <doctest/doctest.h>
#include <map>
#include <set>
#include <string>
#include <vector>

using namespace xrun::sweep;
using xrun::test::TempDir;

namespace {

/// Workers without processes: each row's worker prints a line and ends with its exit code at
/// the next wait(), unless it is slow, when it runs until a signal ends it (as interrupted).
class FakeWorkers final : public Workers {
public:
  std::map<int, int> exit_codes;         // row index -> exit code (0 when not given)
  std::set<int> slow;                    // rows whose workers run until signalled
  std::map<int, int> signal_at_wait;     // wait() number -> signal the sweep process receives
  std::vector<int> started;              // row indices, in the order started
  std::vector<std::pair<int, int>> sent; // (row index, signal) sent to workers
  std::size_t most_at_once = 0;

  int start(const Manifest&, const Row& row) override {
    started.push_back(row.index);
    m_running.push_back(row.index);
    most_at_once = std::max(most_at_once, m_running.size());
    return row.index + 100;
  }

  void signal(int id, int number) override {
    sent.emplace_back(id - 100, number);
    m_signalled.insert(id - 100);
  }

  std::vector<int> signals() override { return std::exchange(m_pending, {}); }

  std::vector<WorkerEvent> wait(std::chrono::milliseconds) override {
    std::vector<WorkerEvent> events;
    if (const auto found = signal_at_wait.find(m_waits++); found != signal_at_wait.end()) {
      events.emplace_back(worker_event::Signal{found->second});
      return events; // the workers hear of it from the sweep
    }
    for (const int row : std::vector<int>(m_running)) {
      const bool signalled = m_signalled.count(row) > 0;
      if (slow.count(row) && !signalled) {
        continue;
      }
      events.emplace_back(worker_event::Output{row + 100, "working on " + std::to_string(row)});
      const int code = signalled ? 130 : exit_codes.count(row) ? exit_codes.at(row) : 0;
      events.emplace_back(worker_event::Ended{row + 100, code});
      m_running.erase(std::find(m_running.begin(), m_running.end(), row));
      break; // one at a time, as processes end
    }
    return events;
  }

private:
  std::vector<int> m_running;
  std::set<int> m_signalled;
  std::vector<int> m_pending;
  int m_waits = 0;
};

Manifest manifest_of(const TempDir& dir, int rows) {
  Manifest manifest;
  manifest.id = "sweep-1";
  manifest.folder = dir.path();
  manifest.namespace_dir = dir.path();
  for (int i = 0; i < rows; ++i) {
    Row row;
    row.index = i;
    row.run_hash = "hash" + std::to_string(i);
    manifest.rows.push_back(row);
  }
  return manifest;
}

std::vector<std::string> statuses(const Manifest& manifest) {
  std::vector<std::string> result;
  for (const auto& row : manifest.rows) {
    result.push_back(row.status);
  }
  return result;
}

std::vector<std::size_t> all_rows(const Manifest& manifest) {
  std::vector<std::size_t> rows(manifest.rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    rows[i] = i;
  }
  return rows;
}

} // namespace

TEST_CASE("a sweep runs every row with at most `jobs` workers at a time") {
  TempDir dir;
  auto manifest = manifest_of(dir, 5);
  FakeWorkers workers;
  Options options;
  options.jobs = 2;
  CHECK(run_rows(manifest, all_rows(manifest), options, workers) == 0);
  CHECK(workers.started == std::vector<int>{0, 1, 2, 3, 4});
  CHECK(workers.most_at_once == 2);
  CHECK(statuses(manifest) == std::vector<std::string>(5, "done"));
  CHECK(manifest.state == "finished");
  CHECK(Manifest::load(dir.path()).rows[4].status == "done"); // saved as it went
}

TEST_CASE("a failed row fails the sweep, which goes on unless --fail-fast") {
  TempDir dir;
  auto manifest = manifest_of(dir, 4);
  FakeWorkers workers;
  workers.exit_codes[0] = 1;
  workers.exit_codes[2] = 128 + SIGKILL;
  Options options;
  CHECK(run_rows(manifest, all_rows(manifest), options, workers) == 1);
  CHECK(statuses(manifest) == std::vector<std::string>{"failed", "done", "killed", "done"});
  CHECK(manifest.rows[0].exit_code == 1);
}

TEST_CASE("--fail-fast stops the other workers and starts no more rows") {
  TempDir dir;
  auto manifest = manifest_of(dir, 4);
  FakeWorkers workers;
  workers.exit_codes[0] = 1;
  workers.slow = {1};
  Options options;
  options.jobs = 2;
  options.fail_fast = true;
  CHECK(run_rows(manifest, all_rows(manifest), options, workers) == 1);
  CHECK(workers.started == std::vector<int>{0, 1});
  CHECK(workers.sent == std::vector<std::pair<int, int>>{{1, SIGTERM}});
  CHECK(statuses(manifest) ==
        std::vector<std::string>{"failed", "interrupted", "pending", "pending"});
  CHECK(manifest.state == "finished");
}

TEST_CASE("an interrupt reaches the running workers and leaves the rest for resume") {
  TempDir dir;
  auto manifest = manifest_of(dir, 3);
  FakeWorkers workers;
  workers.slow = {0};
  workers.signal_at_wait[0] = SIGHUP;
  Options options;
  CHECK(run_rows(manifest, all_rows(manifest), options, workers) == 130);
  CHECK(workers.started == std::vector<int>{0});
  CHECK(workers.sent == std::vector<std::pair<int, int>>{{0, SIGTERM}}); // SIGHUP as SIGTERM
  CHECK(statuses(manifest) == std::vector<std::string>{"interrupted", "pending", "pending"});
  CHECK(manifest.state == "interrupted");
}

TEST_CASE("--skip-done leaves the rows whose run hash has a done run") {
  TempDir dir;
  auto manifest = manifest_of(dir, 3);
  const auto rows = rows_not_done(manifest, {{"hash1", "run-of-1"}, {"other", "run-x"}});
  CHECK(rows == std::vector<std::size_t>{0, 2});
  CHECK(manifest.rows[1].status == "skipped");
  CHECK(manifest.rows[1].run == "run-of-1");
  FakeWorkers workers;
  Options options;
  CHECK(run_rows(manifest, rows, options, workers) == 0); // skipped counts as complete
  CHECK(workers.started == std::vector<int>{0, 2});
  CHECK(statuses(manifest) == std::vector<std::string>{"done", "skipped", "done"});
}
