// The change detection behind the viewer's event stream, without a server: runs in a temp
// archive changed on disk, the watcher polled, its events checked.
#include "test_support.hpp"
#include "ui/events.hpp"
#include "util/time.hpp"
#include "xrun/meta.hpp"

#include <doctest/doctest.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

using xrun::test::TempDir;
using Json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

double now() {
  return xrun::util::to_epoch_seconds(xrun::util::Clock::now());
}

/// A run recorded as running on another host, its heartbeat fresh.
void write_run(const fs::path& folder, xrun::RunStatus status) {
  fs::create_directories(folder);
  xrun::RunMeta meta;
  meta.id = folder.filename().string();
  meta.name = "train";
  meta.status = status;
  meta.start_time = now() - 5;
  meta.heartbeat = now();
  meta.host = "elsewhere";
  meta.pid = 4242;
  xrun::write_meta(folder, meta);
}

void append(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::app) << text;
}

std::vector<std::pair<std::string, Json>> events_of(xrun::ui::ChangeWatcher& watcher) {
  std::vector<std::pair<std::string, Json>> events;
  for (const auto& event : watcher.poll()) {
    events.emplace_back(event.type, Json::parse(event.data_json));
  }
  return events;
}

using Events = std::vector<std::pair<std::string, Json>>;

} // namespace

TEST_CASE("ui events: a watched run's log, series and status, each told once") {
  TempDir dir;
  const auto root = dir.path() / "results";
  const auto run = root / "exp" / "r1";
  write_run(run, xrun::RunStatus::running);
  append(run / "experiment_out.log", "started\n");
  append(run / ".track" / "loss.csv", "step,value,time,stage\n0,1.0,5.0,\n");
  xrun::ui::ChangeWatcher watcher(root, {"exp/r1", "exp/absent", "../outside"});
  CHECK(events_of(watcher).empty());

  append(run / "experiment_out.log", "more\n");
  append(run / ".track" / "loss.csv", "1,0.5,6.0,\n");
  append(run / ".track" / "sys" / "cpu.csv", "step,value,time,stage\n");
  const auto loss_bytes = static_cast<std::int64_t>(fs::file_size(run / ".track" / "loss.csv"));
  const auto cpu_bytes =
      static_cast<std::int64_t>(fs::file_size(run / ".track" / "sys" / "cpu.csv"));
  CHECK(events_of(watcher) ==
        Events{{"series", {{"run", "exp/r1"}, {"name", "loss"}, {"bytes", loss_bytes}}},
               {"series", {{"run", "exp/r1"}, {"name", "sys/cpu"}, {"bytes", cpu_bytes}}},
               {"log", {{"run", "exp/r1"}, {"bytes", 13}}}});
  CHECK(events_of(watcher).empty());

  auto meta = xrun::read_meta(run);
  meta.status = xrun::RunStatus::done;
  meta.end_time = now();
  meta.heartbeat = 1234.5;
  xrun::write_meta(run, meta);
  CHECK(events_of(watcher) ==
        Events{{"run", {{"run", "exp/r1"}, {"status", "done"}, {"heartbeat", 1234.5}}}});
  CHECK(events_of(watcher).empty());
}

TEST_CASE("ui events: the archive's running runs are watched, and runs added are counted") {
  TempDir dir;
  const auto root = dir.path() / "results";
  write_run(root / "exp" / "done", xrun::RunStatus::done);
  write_run(root / "exp" / "busy", xrun::RunStatus::running);
  xrun::ui::ChangeWatcher watcher(root, {});
  CHECK(events_of(watcher).empty()); // the archive as it is: nothing changed yet

  append(root / "exp" / "busy" / "experiment_out.log", "working\n");
  CHECK(events_of(watcher) == Events{{"log", {{"run", "exp/busy"}, {"bytes", 8}}}});

  write_run(root / "other" / "new", xrun::RunStatus::done);
  // The folders above the runs are looked at every 2 s.
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  CHECK(events_of(watcher) == Events{{"runs", {{"archive_total", 3}}}});
}
