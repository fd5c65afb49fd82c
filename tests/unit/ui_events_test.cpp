#include "test_support.hpp"
#include "ui/events.hpp"
#include "util/time.hpp"
#include "xrun/meta.hpp"

#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

using nlohmann::json;
using xrun::test::TempDir;
namespace fs = std::filesystem;

namespace {

/// A run folder `id` in `root` with `status`; a running one is supervised on another host
/// with a fresh heartbeat, so it stays `running` (not `lost`).
fs::path make_run(const fs::path& root, const std::string& id, xrun::RunStatus status) {
  const auto folder = root / id;
  fs::create_directories(folder / ".track");
  xrun::RunMeta meta;
  meta.id = folder.filename().string();
  meta.name = "exp";
  meta.namespace_name = "exp";
  meta.status = status;
  meta.start_time = xrun::util::to_epoch_seconds(xrun::util::Clock::now()) - 10;
  meta.heartbeat = meta.start_time + 9;
  meta.host = "a-host-elsewhere";
  meta.pid = 4242;
  if (status != xrun::RunStatus::running) {
    meta.end_time = meta.heartbeat;
  }
  xrun::write_meta(folder, meta);
  std::ofstream(folder / "experiment_out.log") << "started\n";
  return folder;
}

void append(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::app) << text;
}

std::vector<std::pair<std::string, json>> events_of(xrun::ui::ChangeWatcher& watcher) {
  std::vector<std::pair<std::string, json>> events;
  for (const auto& event : watcher.poll()) {
    events.emplace_back(event.type, json::parse(event.data_json));
  }
  return events;
}

} // namespace

TEST_CASE("ui events: the change watcher reports what changed since its last poll") {
  TempDir dir;
  const auto root = dir.path();
  const auto done = make_run(root, "exp/done", xrun::RunStatus::done);
  const auto running = make_run(root, "exp/running", xrun::RunStatus::running);
  append(done / ".track" / "loss.csv", "step,value,time,stage\n0,1,10,\n");
  append(running / ".track" / "train" / "loss.csv", "step,value,time,stage\n0,1,10,\n");
  xrun::ui::ChangeWatcher watcher(root, {"exp/done"}, std::chrono::milliseconds(0));

  CHECK(watcher.poll().empty()); // nothing changed since the baseline
  CHECK(watcher.poll().empty());

  // A point appended to a series of the running run (watched without being named).
  append(running / ".track" / "train" / "loss.csv", "1,0.5,11,\n");
  auto events = events_of(watcher);
  REQUIRE(events.size() == 1);
  CHECK(events[0].first == "series");
  CHECK(events[0].second == json{{"run", "exp/running"},
                                 {"name", "train/loss"},
                                 {"bytes", fs::file_size(running / ".track/train/loss.csv")}});
  CHECK(watcher.poll().empty());

  // A new series in a new folder, and the log growing.
  append(running / ".track" / "sys" / "cpu_percent.csv", "step,value,time,stage\n");
  append(running / "experiment_out.log", "epoch 1\n");
  events = events_of(watcher);
  REQUIRE(events.size() == 2);
  CHECK(events[0].first == "log");
  CHECK(events[0].second == json{{"run", "exp/running"}, {"bytes", 16}});
  CHECK(events[1].first == "series");
  CHECK(events[1].second["name"] == "sys/cpu_percent");

  // The run ends: its meta is rewritten.
  auto meta = xrun::read_meta(running);
  meta.status = xrun::RunStatus::failed;
  meta.end_time = meta.heartbeat;
  xrun::write_meta(running, meta);
  events = events_of(watcher);
  REQUIRE(events.size() == 1);
  CHECK(events[0].first == "run");
  CHECK(events[0].second["run"] == "exp/running");
  CHECK(events[0].second["status"] == "failed");
  CHECK(events[0].second["heartbeat"] == meta.heartbeat);
  // No longer running nor named: not watched any more.
  append(running / ".track" / "train" / "loss.csv", "2,0.25,12,\n");
  CHECK(watcher.poll().empty());

  // The named run is watched though it is done.
  append(done / ".track" / "loss.csv", "1,0.5,11,\n");
  events = events_of(watcher);
  REQUIRE(events.size() == 1);
  CHECK(events[0].second["run"] == "exp/done");

  // A new run in the archive.
  make_run(root, "exp/new", xrun::RunStatus::done);
  events = events_of(watcher);
  REQUIRE(events.size() == 1);
  CHECK(events[0].first == "runs");
  CHECK(events[0].second == json{{"archive_total", 3}});
  CHECK(watcher.poll().empty());
}

TEST_CASE("ui events: a run that starts while watched is reported and then followed") {
  TempDir dir;
  make_run(dir.path(), "exp/one", xrun::RunStatus::done);
  xrun::ui::ChangeWatcher watcher(dir.path(), {}, std::chrono::milliseconds(0));
  CHECK(watcher.poll().empty());
  append(dir.path() / "exp/one/experiment_out.log", "not watched: neither running nor named\n");
  CHECK(watcher.poll().empty());
  const auto started = make_run(dir.path(), "exp/two", xrun::RunStatus::running);
  auto events = watcher.poll();
  REQUIRE(events.size() == 1);
  CHECK(events[0].type == "runs");
  append(started / ".track" / "loss.csv", "step,value,time,stage\n0,1,10,\n");
  events = watcher.poll();
  REQUIRE(events.size() == 1);
  CHECK(events[0].type == "series");
  CHECK(json::parse(events[0].data_json)["name"] == "loss");
}

namespace {

/// Sets the time of the folders above the runs an hour back, as an archive nobody wrote to
/// lately has them (a folder changed within the last two seconds is not trusted).
void age_folders(const fs::path& root, const std::vector<std::string>& folders) {
  for (const auto& folder : folders) {
    if (fs::exists(root / folder)) {
      fs::last_write_time(root / folder, fs::file_time_type::clock::now() - std::chrono::hours(1));
    }
  }
}

} // namespace

TEST_CASE("ui events: the archive is scanned again only when a run was added or removed") {
  TempDir dir;
  const auto root = dir.path();
  make_run(root, "exp/one", xrun::RunStatus::done);
  make_run(root, "deep/ns/two", xrun::RunStatus::done);
  fs::create_directories(root / "empty"); // a namespace whose runs were all deleted
  age_folders(root, {"exp", "deep", "deep/ns", "empty"});
  xrun::ui::ChangeWatcher watcher(root, {"exp/one"}, std::chrono::milliseconds(0));
  const auto baseline = xrun::ui::ChangeWatcher::scans(root);

  // Nothing changed: the polls look at the folders above the runs and scan nothing.
  CHECK(watcher.poll().empty());
  CHECK(watcher.poll().empty());
  CHECK(xrun::ui::ChangeWatcher::scans(root) == baseline);
  // Neither does a change inside a run, nor a second watcher of the same archive.
  append(root / "exp/one/experiment_out.log", "more\n");
  REQUIRE(watcher.poll().size() == 1);
  xrun::ui::ChangeWatcher second(root, {}, std::chrono::milliseconds(0));
  CHECK(second.poll().empty());
  CHECK(xrun::ui::ChangeWatcher::scans(root) == baseline);

  SUBCASE("a run added in a folder that holds runs already") {
    make_run(root, "exp/three", xrun::RunStatus::done);
  }
  SUBCASE("a run added in a new namespace folder") {
    make_run(root, "other/three", xrun::RunStatus::done);
  }
  SUBCASE("a run added in a new folder inside a namespace folder") {
    make_run(root, "deep/new/three", xrun::RunStatus::done);
  }
  SUBCASE("a run added in a namespace folder that held none") {
    make_run(root, "empty/three", xrun::RunStatus::done);
  }
  auto events = events_of(watcher);
  REQUIRE(events.size() == 1);
  CHECK(events[0].first == "runs");
  CHECK(events[0].second == json{{"archive_total", 3}});
  CHECK(xrun::ui::ChangeWatcher::scans(root) == baseline + 1);
  // The other watcher takes the same scan and tells the same.
  events = events_of(second);
  REQUIRE(events.size() == 1);
  CHECK(events[0].second == json{{"archive_total", 3}});
  CHECK(xrun::ui::ChangeWatcher::scans(root) == baseline + 1);

  // Once the folders' times can be trusted again, a poll scans nothing.
  age_folders(root, {"exp", "deep", "deep/ns", "deep/new", "other", "empty"});
  CHECK(watcher.poll().empty()); // the times were set back: looked at once more
  const auto settled = xrun::ui::ChangeWatcher::scans(root);
  CHECK(watcher.poll().empty());
  CHECK(second.poll().empty());
  CHECK(xrun::ui::ChangeWatcher::scans(root) == settled);

  // A run removed.
  fs::remove_all(root / "exp/one");
  events = events_of(watcher);
  REQUIRE(!events.empty());
  CHECK(events.back().first == "runs");
  CHECK(events.back().second == json{{"archive_total", 2}});
}
