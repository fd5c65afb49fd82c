#include "python/series_writer.hpp"
#include "test_support.hpp"

#include <chrono>
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace xrun::python;
using xrun::test::slurp;
using xrun::test::TempDir;

namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::vector<std::string> lines_of(const std::filesystem::path& file) {
  std::vector<std::string> lines;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  return lines;
}

} // namespace

TEST_CASE("series lines carry step, value, a wall-clock time in ms and the stage") {
  TempDir dir;
  SeriesWriter writer;
  const double before = now_seconds();
  REQUIRE(writer.add("loss", (dir.path() / "loss.csv").string()) == 0);
  const std::string train = "train";
  const SeriesPoint points[] = {{0, 3, 0.5, Clock::now(), &train},
                                {0, 1, 1e-3, Clock::now(), nullptr}};
  CHECK_FALSE(writer.push(points, 2));
  writer.close_all();
  const double after = now_seconds();
  const auto lines = lines_of(dir.path() / "loss.csv");
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == "step,value,time,stage");
  CHECK(lines[1].rfind("3,0.5,", 0) == 0);
  CHECK(lines[1].substr(lines[1].size() - 6) == ",train");
  CHECK(lines[2].rfind("1,0.001,", 0) == 0);
  CHECK(lines[2].back() == ',');
  const double time = std::stod(lines[1].substr(6));
  CHECK(time >= before - 0.002);
  CHECK(time <= after + 0.002);
  CHECK(lines[1].find('.', 6) == lines[1].size() - 10); // three decimals: milliseconds
}

TEST_CASE("a series file with the older three columns is continued without the stage") {
  TempDir dir;
  const auto file = dir.path() / "old.csv";
  std::ofstream(file) << "step,value,time\n0,1,1700000000.000\n";
  SeriesWriter writer;
  REQUIRE(writer.add("old", file.string()) == 0);
  const std::string stage = "val";
  const SeriesPoint point{0, 1, 2.0, Clock::now(), &stage};
  writer.push(&point, 1);
  writer.close_all();
  const auto lines = lines_of(file);
  REQUIRE(lines.size() == 3);
  CHECK(lines[2].rfind("1,2,", 0) == 0);
  CHECK(lines[2].find("val") == std::string::npos);
}

TEST_CASE("the summary file holds the merged summary and the primary metric's best") {
  TempDir dir;
  SeriesWriter writer;
  writer.set_folder(dir.path().string());
  writer.set_primary("acc", true); // before the series exists
  writer.merge_summary({{"a", 1}, {"b", {1, 2}}});
  writer.merge_summary({{"a", 2}});
  REQUIRE(writer.add("acc", (dir.path() / "acc.csv").string()) == 0);
  const SeriesPoint points[] = {{0, 0, 0.5, Clock::now(), nullptr},
                                {0, 1, 0.9, Clock::now(), nullptr},
                                {0, 2, 0.7, Clock::now(), nullptr}};
  writer.push(points, 3);
  writer.close_all();
  const auto saved = nlohmann::json::parse(slurp(dir.path() / "experiment_summary.json"));
  CHECK(saved["summary"] == nlohmann::json({{"a", 2}, {"b", {1, 2}}}));
  CHECK(saved["primary_metric"]["name"] == "acc");
  CHECK(saved["primary_metric"]["mode"] == "max");
  CHECK(saved["primary_metric"]["best"] == 0.9);
  CHECK(saved["primary_metric"]["step"] == 1);
}

TEST_CASE("no summary file when nothing was set") {
  TempDir dir;
  SeriesWriter writer;
  writer.set_folder(dir.path().string());
  REQUIRE(writer.add("x", (dir.path() / "x.csv").string()) == 0);
  writer.close_all();
  CHECK_FALSE(std::filesystem::exists(dir.path() / "experiment_summary.json"));
}

TEST_CASE("a full queue makes the producer wait, and no point is dropped") {
  TempDir dir;
  SeriesWriter writer;
  REQUIRE(writer.add("x", (dir.path() / "x.csv").string()) == 0);
  const std::size_t total = SeriesWriter::k_max_pending + 1000;
  for (std::size_t i = 0; i < total; ++i) {
    const SeriesPoint point{0, static_cast<std::int64_t>(i), 1.0, Clock::now(), nullptr};
    if (writer.push(&point, 1)) {
      writer.wait_for_room();
    }
  }
  writer.close_all();
  const auto lines = lines_of(dir.path() / "x.csv");
  REQUIRE(lines.size() == total + 1);
  CHECK(lines.back().rfind(std::to_string(total - 1) + ",1,", 0) == 0);
}

TEST_CASE("points given after close_all() are dropped, not written into the next series") {
  TempDir dir;
  SeriesWriter writer;
  REQUIRE(writer.add("a", (dir.path() / "a.csv").string()) == 0);
  REQUIRE(writer.add("b", (dir.path() / "b.csv").string()) == 1);
  writer.close_all();
  const SeriesPoint late[] = {{0, 7, 7.0, Clock::now(), nullptr},
                              {1, 8, 8.0, Clock::now(), nullptr}};
  CHECK_FALSE(writer.push(late, 2));
  REQUIRE(writer.add("next", (dir.path() / "next.csv").string()) == 0);
  const SeriesPoint point{0, 0, 1.0, Clock::now(), nullptr};
  writer.push(&point, 1);
  writer.close_all();
  const auto lines = lines_of(dir.path() / "next.csv");
  REQUIRE(lines.size() == 2);
  CHECK(lines[1].rfind("0,1,", 0) == 0);
  CHECK(lines_of(dir.path() / "a.csv").size() == 1);
}

TEST_CASE("a point of a series the writer does not have is skipped") {
  TempDir dir;
  SeriesWriter writer;
  REQUIRE(writer.add("a", (dir.path() / "a.csv").string()) == 0);
  const SeriesPoint points[] = {{5, 0, 1.0, Clock::now(), nullptr},
                                {0, 1, 2.0, Clock::now(), nullptr}};
  writer.push(points, 2);
  writer.close_all();
  const auto lines = lines_of(dir.path() / "a.csv");
  REQUIRE(lines.size() == 2);
  CHECK(lines[1].rfind("1,2,", 0) == 0);
}

TEST_CASE("a waiting producer is released when the writer closes") {
  TempDir dir;
  SeriesWriter writer;
  CHECK(writer.wait_for_room()); // room: at once
  REQUIRE(writer.add("a", (dir.path() / "a.csv").string()) == 0);
  writer.close_all();
  CHECK(writer.wait_for_room());
}

TEST_CASE("series added from one thread while another closes the writer") {
  TempDir dir;
  for (int round = 0; round < 20; ++round) {
    SeriesWriter writer;
    REQUIRE(writer.add("first", (dir.path() / "first.csv").string()) == 0);
    std::thread adder([&] {
      for (int i = 0; i < 20; ++i) {
        writer.add("s" + std::to_string(i), (dir.path() / ("s" + std::to_string(i))).string());
      }
    });
    writer.close_all();
    adder.join();
    writer.close_all();
  }
}

TEST_CASE("a primary metric set after values were given counts them") {
  TempDir dir;
  SeriesWriter writer;
  writer.set_folder(dir.path().string());
  REQUIRE(writer.add("acc", (dir.path() / "acc.csv").string()) == 0);
  const SeriesPoint early[] = {{0, 0, 0.5, Clock::now(), nullptr},
                               {0, 1, 0.95, Clock::now(), nullptr},
                               {0, 2, 0.1, Clock::now(), nullptr}};
  writer.push(early, 3);
  writer.set_primary("acc", true);
  const SeriesPoint later{0, 3, 0.7, Clock::now(), nullptr};
  writer.push(&later, 1);
  writer.close_all();
  auto saved = nlohmann::json::parse(slurp(dir.path() / "experiment_summary.json"));
  CHECK(saved["primary_metric"]["best"] == 0.95);
  CHECK(saved["primary_metric"]["step"] == 1);

  REQUIRE(writer.add("loss", (dir.path() / "loss.csv").string()) == 0);
  writer.set_folder(dir.path().string());
  const SeriesPoint losses[] = {{0, 0, 2.0, Clock::now(), nullptr},
                                {0, 1, 0.25, Clock::now(), nullptr}};
  writer.push(losses, 2);
  writer.set_primary("loss", false);
  writer.push(&later, 1);
  writer.close_all();
  saved = nlohmann::json::parse(slurp(dir.path() / "experiment_summary.json"));
  CHECK(saved["primary_metric"]["best"] == 0.25);
  CHECK(saved["primary_metric"]["step"] == 1);
}

TEST_CASE("around a fork the writer holds still, and the parent then writes what was queued") {
  TempDir dir;
  const auto file = dir.path() / "x.csv";
  SeriesWriter writer;
  REQUIRE(writer.add("x", file.string()) == 0);
  // Enough points to wake the writer at once and keep it busy for a while: the fork is asked
  // for while it writes them, and waits for it to finish and hold still.
  std::vector<SeriesPoint> points;
  for (std::int64_t step = 0; step < (1 << 19); ++step) {
    points.push_back({0, step, static_cast<double>(step), Clock::now(), nullptr});
  }
  CHECK_FALSE(writer.push(points.data(), points.size()));
  const auto header = std::filesystem::file_size(file);
  while (std::filesystem::file_size(file) == header) {
    std::this_thread::yield(); // until the writer is at it
  }
  writer.pause_for_fork();
  const auto held = std::filesystem::file_size(file);
  // Several of the writer's ticks: a thread that did not hold still would write meanwhile.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK(std::filesystem::file_size(file) == held);
  const pid_t child = ::fork();
  if (child == 0) {
    ::_exit(0); // the queue's points are the parent's to write
  }
  REQUIRE(child > 0);
  writer.resume_after_fork();
  int status = 0;
  ::waitpid(child, &status, 0);
  CHECK(WIFEXITED(status));
  if (writer.push(points.data(), points.size())) { // the first ones may be queued still
    writer.wait_for_room();
  }
  writer.close_all();
  CHECK(lines_of(file).size() == 2 * points.size() + 1);
}
