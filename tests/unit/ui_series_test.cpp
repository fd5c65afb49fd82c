#include "test_support.hpp"
#include "ui/http.hpp"
#include "ui/series.hpp"
#include "ui/series_file.hpp"
#include "ui/series_summary.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <doctest/doctest.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <sys/stat.h>
#include <tuple>
#include <unistd.h>
#include <vector>

using nlohmann::json;
using xrun::test::TempDir;
namespace ui = xrun::ui;
namespace fs = std::filesystem;

namespace {

/// A run folder `id` in `root` (a meta is all that makes a folder a run).
fs::path make_run(const fs::path& root, const std::string& id) {
  const auto folder = root / id;
  fs::create_directories(folder / ".track");
  std::ofstream(folder / "experiment_meta.json") << "{}";
  return folder;
}

struct Line {
  double step;
  std::string value; // as the file has it: "0.5", "nan", "inf"
  double time;
  std::string stage;
};

std::string csv_line(const Line& line) {
  return fmt::format("{},{},{:.3f},{}\n", line.step, line.value, line.time, line.stage);
}

void write_series(const fs::path& file, const std::vector<Line>& lines, bool append = false) {
  fs::create_directories(file.parent_path());
  std::ofstream out(file, append ? std::ios::app : std::ios::trunc);
  if (!append) {
    out << "step,value,time,stage\n";
  }
  for (const auto& line : lines) {
    out << csv_line(line);
  }
}

/// `count` points from step `first`: a smooth curve, time 1000.5 + step.
std::vector<Line> curve(int first, int count, const std::string& stage = "") {
  std::vector<Line> lines;
  lines.reserve(static_cast<std::size_t>(count));
  for (int i = first; i < first + count; ++i) {
    lines.push_back({double(i), fmt::format("{}", std::sin(i * 0.001) + 2), 1000.5 + i, stage});
  }
  return lines;
}

json get(const fs::path& root, const std::vector<std::string>& runs,
         std::map<std::string, std::string, std::less<>> query, int* status = nullptr) {
  ui::Request request{"/api/v1/series/data", std::move(query)};
  const auto response = ui::series_data(root, runs, request);
  if (status != nullptr) {
    *status = response.status;
  } else {
    REQUIRE_MESSAGE(response.status == 200, response.body);
  }
  return json::parse(response.body);
}

/// M4 as the API describes it, over every point of a file read plainly: the reference the
/// summary-backed result must equal.
struct Reference {
  json x = json::array(), y = json::array();
  json band_x = json::array(), lo = json::array(), hi = json::array(), mean = json::array();
  std::uint64_t count = 0;
};

struct RefPoint {
  double x, value;
  std::uint64_t ordinal;
  std::string stage;
};

std::vector<RefPoint> read_plainly(const fs::path& file, const std::string& axis) {
  std::ifstream in(file);
  std::string line;
  std::vector<RefPoint> points;
  std::optional<double> origin;
  std::string text((std::istreambuf_iterator<char>(in)), {});
  std::size_t at = 0;
  std::uint64_t ordinal = 0;
  while (true) {
    const auto end = text.find('\n', at);
    if (end == std::string::npos) {
      break;
    }
    line = text.substr(at, end - at);
    at = end + 1;
    std::vector<std::string> fields;
    std::size_t from = 0;
    for (std::size_t comma;
         (comma = line.find(',', from)) != std::string::npos && fields.size() < 3;
         from = comma + 1) {
      fields.push_back(line.substr(from, comma - from));
    }
    fields.push_back(line.substr(from));
    if (fields.size() < 3 || fields[0] == "step") {
      continue;
    }
    const double step = std::strtod(fields[0].c_str(), nullptr);
    const double value = std::strtod(fields[1].c_str(), nullptr);
    const double time = std::strtod(fields[2].c_str(), nullptr);
    if (!origin) {
      origin = time;
    }
    const double x = axis == "step" ? step : axis == "time" ? time : time - *origin;
    points.push_back({x, value, ordinal++, fields.size() > 3 ? fields[3] : ""});
  }
  return points;
}

json number_or_null(double value) {
  return std::isfinite(value) ? json(value) : json(nullptr);
}

Reference reference_m4(const fs::path& file, const std::string& axis, double from, double to,
                       std::size_t width, const std::string* stage = nullptr) {
  struct Bucket {
    std::uint64_t count = 0, finite = 0;
    double sum = 0;
    RefPoint first{}, last{}, min{}, max{};
  };
  std::vector<Bucket> buckets(width);
  // Sums by (bucket, group, block): a bucket adds its groups' sums of their blocks' sums.
  std::map<std::tuple<std::size_t, std::uint64_t, std::uint64_t>, double> block_sums;
  for (const auto& point : read_plainly(file, axis)) {
    if ((stage != nullptr && point.stage != *stage) || point.x < from || point.x > to) {
      continue;
    }
    std::size_t b = 0;
    if (to > from) {
      const double place = std::floor((point.x - from) / (to - from) * double(width));
      b = place > 0 ? std::min(width - 1, std::size_t(place)) : 0;
    }
    auto& bucket = buckets[b];
    if (bucket.count++ == 0) {
      bucket.first = point;
    }
    bucket.last = point;
    if (std::isfinite(point.value)) {
      if (bucket.finite == 0 || point.value < bucket.min.value) {
        bucket.min = point;
      }
      if (bucket.finite == 0 || point.value > bucket.max.value) {
        bucket.max = point;
      }
      ++bucket.finite;
      block_sums[{b, point.ordinal / ui::k_group_points, point.ordinal / ui::k_block_points}] +=
          point.value;
    }
  }
  for (auto it = block_sums.begin(); it != block_sums.end();) {
    const auto [b, group, block] = it->first;
    double group_sum = 0;
    for (; it != block_sums.end() && std::get<0>(it->first) == b && std::get<1>(it->first) == group;
         ++it) {
      group_sum += it->second;
    }
    buckets[b].sum += group_sum;
  }
  Reference result;
  for (std::size_t b = 0; b < width; ++b) {
    const auto& bucket = buckets[b];
    if (bucket.count == 0) {
      continue;
    }
    result.count += bucket.count;
    std::vector<RefPoint> kept = {bucket.first, bucket.last};
    if (bucket.finite > 0) {
      kept.push_back(bucket.min);
      kept.push_back(bucket.max);
    }
    std::sort(kept.begin(), kept.end(), [](const RefPoint& a, const RefPoint& c) {
      return a.x < c.x || (a.x == c.x && a.ordinal < c.ordinal);
    });
    for (std::size_t i = 0; i < kept.size(); ++i) {
      if (i == 0 || kept[i].ordinal != kept[i - 1].ordinal) {
        result.x.push_back(kept[i].x);
        result.y.push_back(number_or_null(kept[i].value));
      }
    }
    result.band_x.push_back(from + (to - from) * double(b) / double(width));
    const bool finite = bucket.finite > 0;
    result.lo.push_back(finite ? json(bucket.min.value) : json(nullptr));
    result.hi.push_back(finite ? json(bucket.max.value) : json(nullptr));
    result.mean.push_back(finite ? json(bucket.sum / double(bucket.finite)) : json(nullptr));
  }
  return result;
}

void check_equals_reference(const json& entry, const Reference& expected) {
  CHECK(entry["exact"] == false);
  CHECK(entry["count"] == expected.count);
  CHECK(entry["x"] == expected.x);
  CHECK(entry["y"] == expected.y);
  CHECK(entry["band"]["x"] == expected.band_x);
  CHECK(entry["band"]["lo"] == expected.lo);
  CHECK(entry["band"]["hi"] == expected.hi);
  CHECK(entry["band"]["mean"] == expected.mean);
}

fs::path summary_of(const fs::path& csv) {
  return csv.string() + ".m4";
}

} // namespace

TEST_CASE("ui series: a spike among a million points is kept, at its step") {
  TempDir dir;
  const auto run = make_run(dir.path(), "ns/run1");
  auto lines = curve(0, 1000000);
  lines[654321].value = "1000";
  const auto csv = run / ".track" / "train" / "loss.csv";
  write_series(csv, lines);

  const auto body = get(dir.path(), {"ns/run1"}, {{"name", "train/loss"}, {"width", "1000"}});
  const auto& entry = body["series"][0];
  CHECK(body["from"] == 0.0);
  CHECK(body["to"] == 999999.0);
  CHECK(entry["total"] == 1000000);
  CHECK(entry["count"] == 1000000);
  CHECK(entry["offset"] == fs::file_size(csv));
  CHECK(entry["x"].size() <= 4000);
  const auto& y = entry["y"];
  const auto spike = std::find(y.begin(), y.end(), json(1000.0));
  REQUIRE(spike != y.end());
  CHECK(entry["x"][std::size_t(spike - y.begin())] == 654321.0);
  check_equals_reference(entry, reference_m4(csv, "step", 0, 999999, 1000));
  // The x values come in order, each point once.
  CHECK(std::is_sorted(entry["x"].begin(), entry["x"].end()));
  CHECK(fs::is_regular_file(summary_of(csv))); // a series this long keeps a summary

  // With the summary in place the answer is the same.
  CHECK(get(dir.path(), {"ns/run1"}, {{"name", "train/loss"}, {"width", "1000"}}) == body);
}

TEST_CASE("ui series: the buckets are the same for every run of a request") {
  TempDir dir;
  write_series(make_run(dir.path(), "a") / ".track" / "loss.csv", curve(0, 1000));
  write_series(make_run(dir.path(), "b") / ".track" / "loss.csv", curve(500, 2500));
  const auto body = get(dir.path(), {"a", "b"}, {{"name", "loss"}, {"width", "10"}});
  CHECK(body["from"] == 0.0);
  CHECK(body["to"] == 2999.0);
  const auto& a = body["series"][0]["band"]["x"];
  const auto& b = body["series"][1]["band"]["x"];
  // a's points fill buckets 0-3, b's 1-9: the bucket starts they share are equal.
  REQUIRE(a.size() == 4);
  REQUIRE(b.size() == 9);
  for (std::size_t i = 1; i < 4; ++i) {
    CHECK(a[i] == b[i - 1]);
  }
  CHECK(b[8] == 2999.0 * 9 / 10);
  CHECK(body["series"][0]["exact"] == false);
}

TEST_CASE("ui series: a series of at most twice the width's points is returned whole") {
  TempDir dir;
  const auto run = make_run(dir.path(), "r");
  write_series(run / ".track" / "acc.csv", curve(0, 100));
  auto body = get(dir.path(), {"r"}, {{"name", "acc"}, {"width", "50"}});
  auto entry = body["series"][0];
  CHECK(entry["exact"] == true);
  CHECK(entry["count"] == 100);
  REQUIRE(entry["x"].size() == 100);
  for (std::size_t i = 0; i < 100; ++i) {
    CHECK(entry["x"][i] == double(i));
  }
  CHECK(entry["band"]["x"].size() == 50);

  entry = get(dir.path(), {"r"}, {{"name", "acc"}, {"width", "49"}})["series"][0];
  CHECK(entry["exact"] == false);
  check_equals_reference(entry, reference_m4(run / ".track" / "acc.csv", "step", 0, 99, 49));

  // A range: only its points.
  entry = get(dir.path(), {"r"}, {{"name", "acc"}, {"from", "10"}, {"to", "19.5"}})["series"][0];
  CHECK(entry["count"] == 10);
  CHECK(entry["x"].front() == 10.0);
  CHECK(entry["x"].back() == 19.0);
  CHECK(entry["total"] == 100);
}

TEST_CASE("ui series: a last line cut short is not a point") {
  TempDir dir;
  const auto csv = make_run(dir.path(), "r") / ".track" / "loss.csv";
  write_series(csv, curve(0, 5));
  const auto whole = fs::file_size(csv);
  std::ofstream(csv, std::ios::app) << "5,0.25,10";
  const auto entry = get(dir.path(), {"r"}, {{"name", "loss"}})["series"][0];
  CHECK(entry["count"] == 5);
  CHECK(entry["total"] == 5);
  CHECK(entry["offset"] == whole);
  CHECK(entry["x"].back() == 4.0);
}

TEST_CASE("ui series: NaN and infinite values are null in y and left out of the band") {
  TempDir dir;
  const auto csv = make_run(dir.path(), "r") / ".track" / "loss.csv";
  write_series(csv, {{0, "1.5", 10, ""},
                     {1, "nan", 11, ""},
                     {2, "inf", 12, ""},
                     {3, "-inf", 13, ""},
                     {4, "0.5", 14, ""},
                     {5, "nan", 15, ""}});
  auto entry = get(dir.path(), {"r"}, {{"name", "loss"}, {"width", "3"}})["series"][0];
  CHECK(entry["exact"] == true);
  CHECK(entry["y"] == json::parse("[1.5, null, null, null, 0.5, null]"));
  // Buckets of steps 0-1, 2-3 (inf and -inf: no finite value) and 4-5.
  CHECK(entry["band"]["lo"] == json::parse("[1.5, null, 0.5]"));
  CHECK(entry["band"]["hi"] == json::parse("[1.5, null, 0.5]"));
  CHECK(entry["band"]["mean"] == json::parse("[1.5, null, 0.5]"));

  // A bucket of non-finite values only keeps its first and last point; its band is null.
  entry = get(dir.path(), {"r"},
              {{"name", "loss"}, {"width", "2"}, {"from", "1"}, {"to", "3"}})["series"][0];
  CHECK(entry["count"] == 3);
  CHECK(entry["band"]["lo"] == json::parse("[null, null]"));
}

TEST_CASE("ui series: x is the step, the time or the time since the first point") {
  TempDir dir;
  const auto csv = make_run(dir.path(), "r") / ".track" / "loss.csv";
  write_series(
      csv, {{7, "1", 1700000000.25, ""}, {8, "2", 1700000001.5, ""}, {9, "3", 1700000004.75, ""}});
  auto body = get(dir.path(), {"r"}, {{"name", "loss"}, {"x", "time"}});
  CHECK(body["x"] == "time");
  CHECK(body["series"][0]["x"] == json::parse("[1700000000.25, 1700000001.5, 1700000004.75]"));
  body = get(dir.path(), {"r"}, {{"name", "loss"}, {"x", "relative"}});
  CHECK(body["series"][0]["x"] == json::parse("[0.0, 1.25, 4.5]"));
  CHECK(body["from"] == 0.0);
  CHECK(body["to"] == 4.5);
  // Each run counts from its own first point.
  write_series(make_run(dir.path(), "later") / ".track" / "loss.csv",
               {{0, "1", 1800000000.5, ""}, {1, "2", 1800000002.5, ""}});
  body = get(dir.path(), {"r", "later"}, {{"name", "loss"}, {"x", "relative"}});
  CHECK(body["series"][1]["x"] == json::parse("[0.0, 2.0]"));
  CHECK(body["to"] == 4.5);
}

TEST_CASE("ui series: after= gives only the points appended since that offset") {
  TempDir dir;
  const auto csv = make_run(dir.path(), "r") / ".track" / "loss.csv";
  write_series(csv, curve(0, 10));
  const auto offset = get(dir.path(), {"r"}, {{"name", "loss"}})["series"][0]["offset"];
  write_series(csv, curve(10, 3), true);
  std::ofstream(csv, std::ios::app) << "13,0.5"; // being written
  auto entry = get(dir.path(), {"r"}, {{"name", "loss"}, {"after", offset.dump()}})["series"][0];
  CHECK(entry["x"] == json::parse("[10.0, 11.0, 12.0]"));
  CHECK(entry["exact"] == true);
  CHECK(entry["more"] == false);
  CHECK(entry["offset"] == fs::file_size(csv) - 6);
  // The next poll, with nothing new complete, gets nothing.
  entry =
      get(dir.path(), {"r"}, {{"name", "loss"}, {"after", entry["offset"].dump()}})["series"][0];
  CHECK(entry["x"].empty());
  // From the start: every point.
  entry = get(dir.path(), {"r"}, {{"name", "loss"}, {"after", "0"}})["series"][0];
  CHECK(entry["count"] == 13);

  int status = 0;
  auto error = get(dir.path(), {"r"}, {{"name", "loss"}, {"after", "5"}}, &status);
  CHECK(status == 400);
  CHECK(error["error"] == "after=5 is not the start of a line");
  error = get(dir.path(), {"r", "r"}, {{"name", "loss"}, {"after", "0"}}, &status);
  CHECK(status == 400);
}

TEST_CASE("ui series: after= returns at most 100000 points at a time") {
  TempDir dir;
  const auto csv = make_run(dir.path(), "r") / ".track" / "loss.csv";
  write_series(csv, curve(0, 100005));
  auto entry = get(dir.path(), {"r"}, {{"name", "loss"}, {"after", "0"}})["series"][0];
  CHECK(entry["count"] == 100000);
  CHECK(entry["more"] == true);
  CHECK(entry["x"].back() == 99999.0);
  entry =
      get(dir.path(), {"r"}, {{"name", "loss"}, {"after", entry["offset"].dump()}})["series"][0];
  CHECK(entry["x"] == json::parse("[100000.0, 100001.0, 100002.0, 100003.0, 100004.0]"));
  CHECK(entry["more"] == false);
  CHECK(entry["offset"] == fs::file_size(csv));
}

TEST_CASE("ui series: stage= keeps the points of one stage") {
  TempDir dir;
  const auto csv = make_run(dir.path(), "r") / ".track" / "loss.csv";
  write_series(csv, {{0, "1", 10, "train"},
                     {0, "5", 10, "val"},
                     {1, "2", 11, "train"},
                     {1, "6", 11, "val"},
                     {2, "3", 12, "train"}});
  auto entry = get(dir.path(), {"r"}, {{"name", "loss"}, {"stage", "val"}})["series"][0];
  CHECK(entry["y"] == json::parse("[5.0, 6.0]"));
  CHECK(entry["count"] == 2);
  entry = get(dir.path(), {"r"}, {{"name", "loss"}, {"stage", "train"}})["series"][0];
  CHECK(entry["y"] == json::parse("[1.0, 2.0, 3.0]"));
  entry = get(dir.path(), {"r"}, {{"name", "loss"}, {"stage", ""}})["series"][0];
  CHECK(entry["count"] == 0);
}

TEST_CASE("ui series: stage= over a long series equals M4 over its points of that stage") {
  TempDir dir;
  const auto csv = make_run(dir.path(), "r") / ".track" / "loss.csv";
  // Blocks of one stage (taken whole or skipped), then stages alternating (read point by point).
  auto lines = curve(0, 60000, "train");
  auto more = curve(60000, 40000, "train");
  for (std::size_t i = 0; i < more.size(); i += 3) {
    more[i].stage = "val";
  }
  lines.insert(lines.end(), more.begin(), more.end());
  write_series(csv, lines);
  for (const std::string stage : {"train", "val"}) {
    const auto entry =
        get(dir.path(), {"r"}, {{"name", "loss"}, {"stage", stage}, {"width", "300"}})["series"][0];
    // The range is that of the stage's points: val from 60000 to 99999, train to 99998.
    const double from = stage == "val" ? 60000 : 0;
    const double to = stage == "val" ? 99999 : 99998;
    check_equals_reference(entry, reference_m4(csv, "step", from, to, 300, &stage));
  }
  CHECK(fs::exists(summary_of(csv)));
}

TEST_CASE("ui series: numbers are read as from_chars reads them") {
  std::vector<std::string> texts = {"0",
                                    "-0",
                                    "7",
                                    "1e-05",
                                    "-2.5",
                                    "0.1",
                                    "0.30000000000000004",
                                    "123456789012345",
                                    "1234567890123456",
                                    "1700000000.123",
                                    "999999999999.999",
                                    ".5",
                                    "1.",
                                    "nan",
                                    "inf",
                                    "-inf"};
  std::uint64_t state = 12345;
  for (int i = 0; i < 20000; ++i) {
    state = state * 6364136223846793005u + 1442695040888963407u;
    const int digits = int(state >> 60) + 1;
    const int point = int((state >> 40) % std::uint64_t(digits + 1));
    std::string text = std::to_string(state % 1000000000000000u).substr(0, std::size_t(digits));
    if (point > 0 && point < int(text.size())) {
      text.insert(std::size_t(point), ".");
    }
    texts.push_back((state & 1) ? "-" + text : text);
  }
  for (const auto& text : texts) {
    xrun::ui::SeriesPoint point;
    const std::string line = "1," + text + ",2,";
    REQUIRE_MESSAGE(xrun::ui::parse_series_line(line, point), text);
    const double expected = std::strtod(text.c_str(), nullptr);
    if (std::isnan(expected)) {
      CHECK(std::isnan(point.value));
    } else {
      CHECK_MESSAGE(std::memcmp(&point.value, &expected, sizeof expected) == 0, text);
    }
  }
  xrun::ui::SeriesPoint point;
  CHECK_FALSE(xrun::ui::parse_series_line("1,+2,3,", point));
  CHECK_FALSE(xrun::ui::parse_series_line("1,2,", point));
  CHECK_FALSE(xrun::ui::parse_series_line("inf,2,3,", point)); // no place on the x axis
  CHECK_FALSE(xrun::ui::parse_series_line("step,value,time,stage", point));
}

TEST_CASE("ui series: a file of three columns (earlier versions) is read") {
  TempDir dir;
  const auto csv = make_run(dir.path(), "r") / ".track" / "loss.csv";
  std::ofstream(csv) << "step,value,time\n0,0.5,100.0\n1,0.25,101.0\n";
  const auto entry = get(dir.path(), {"r"}, {{"name", "loss"}})["series"][0];
  CHECK(entry["x"] == json::parse("[0.0, 1.0]"));
  CHECK(entry["y"] == json::parse("[0.5, 0.25]"));
}

TEST_CASE(
    "ui series: the summary file is built, extended after appends and rebuilt for a new file") {
  TempDir dir;
  const auto run = make_run(dir.path(), "r");
  const auto csv = run / ".track" / "loss.csv";
  const auto check_once = [&](double to, std::size_t width) {
    const auto body = get(dir.path(), {"r"}, {{"name", "loss"}, {"width", std::to_string(width)}});
    REQUIRE(body["to"] == to);
    check_equals_reference(body["series"][0], reference_m4(csv, "step", 0, to, width));
    // A range inside, and the time axis: blocks cut by the range's edges.
    const auto part = get(dir.path(), {"r"},
                          {{"name", "loss"},
                           {"x", "time"},
                           {"from", "1234.5"},
                           {"to", std::to_string(999.5 + to)},
                           {"width", "333"}});
    check_equals_reference(part["series"][0], reference_m4(csv, "time", 1234.5, 999.5 + to, 333));
    return body;
  };
  // Steps that go back now and then (a resumed run): blocks are not ordered by x.
  auto lines = curve(0, 100000);
  for (std::size_t i = 30000; i < 30100; ++i) {
    lines[i].step = double(i) - 5000;
    lines[i].value = i % 7 == 0 ? "nan" : lines[i].value;
  }
  write_series(csv, lines);
  check_once(99999, 1000);
  REQUIRE(fs::exists(summary_of(csv)));
  const auto built = fs::file_size(summary_of(csv));
  CHECK(ui::summarized_points(run, ".track/loss.csv") == 100000u);

  // Appended points: read past the summary until enough came to extend it.
  write_series(csv, curve(100000, 100), true);
  check_once(100099, 700);
  CHECK(fs::file_size(summary_of(csv)) == built);
  CHECK(ui::summarized_points(run, ".track/loss.csv") == 100100u);
  write_series(csv, curve(100100, 20000), true);
  check_once(120099, 1000);
  CHECK(fs::file_size(summary_of(csv)) > built);

  // Replaced by a shorter series (a new file): the summary describes another file.
  const auto replacement = run / ".track" / "new.csv";
  write_series(replacement, curve(0, 80000));
  fs::rename(replacement, csv);
  check_once(79999, 500);
  // Shortened in place, then written again past its old length: the same inode.
  {
    auto again = curve(0, 130000);
    for (auto& line : again) {
      line.value = "1" + line.value;
    }
    write_series(csv, again);
  }
  check_once(129999, 1000);
  // A damaged summary is replaced.
  std::ofstream(summary_of(csv), std::ios::trunc) << "xrun.m4\nnot a summary";
  CHECK_FALSE(ui::summarized_points(run, ".track/loss.csv"));
  check_once(129999, 1000);
  CHECK(ui::summarized_points(run, ".track/loss.csv") == 130000u);
}

TEST_CASE("ui series: a summary that cannot be written is built for the request and dropped") {
  TempDir dir;
  const auto run = make_run(dir.path(), "r");
  const auto csv = run / ".track" / "loss.csv";
  write_series(csv, curve(0, 70000));
  if (::geteuid() != 0) {
    fs::permissions(run / ".track", fs::perms::owner_write, fs::perm_options::remove);
    const auto body = get(dir.path(), {"r"}, {{"name", "loss"}, {"width", "100"}});
    check_equals_reference(body["series"][0], reference_m4(csv, "step", 0, 69999, 100));
    CHECK(xrun::test::list_dir(run / ".track") == std::vector<std::string>{"loss.csv"});
    fs::permissions(run / ".track", fs::perms::owner_write, fs::perm_options::add);
  } else {
    MESSAGE("as root every folder is writable: a folder in the summary's place stands in");
  }
  fs::create_directory(summary_of(csv));
  const auto body = get(dir.path(), {"r"}, {{"name", "loss"}, {"width", "100"}});
  check_equals_reference(body["series"][0], reference_m4(csv, "step", 0, 69999, 100));
  CHECK(fs::is_directory(summary_of(csv)));
}

TEST_CASE("ui series: a series file that is a symbolic link is refused") {
  TempDir dir;
  const auto run = make_run(dir.path(), "r");
  write_series(dir.path() / "outside.csv", curve(0, 10));
  fs::create_symlink(dir.path() / "outside.csv", run / ".track" / "loss.csv");
  int status = 0;
  const auto body = get(dir.path(), {"r"}, {{"name", "loss"}}, &status);
  CHECK(status == 403);
  CHECK(body["error"].get<std::string>().find("symbolic link") != std::string::npos);
  get(dir.path(), {"r"}, {{"name", "../experiment_meta"}}, &status);
  CHECK(status == 403);
}

TEST_CASE("ui series: a run without the series is missing; bad parameters are refused") {
  TempDir dir;
  write_series(make_run(dir.path(), "a") / ".track" / "loss.csv", curve(0, 10));
  make_run(dir.path(), "b");
  const auto body = get(dir.path(), {"a", "b"}, {{"name", "loss"}});
  CHECK(body["series"][1]["missing"] == true);
  CHECK(body["series"][1]["x"].empty());
  CHECK(body["series"][0]["count"] == 10);

  int status = 0;
  for (const auto& [name, value] :
       std::vector<std::pair<std::string, std::string>>{{"width", "0"},
                                                        {"width", "8193"},
                                                        {"width", "ten"},
                                                        {"x", "epoch"},
                                                        {"from", "inf"},
                                                        {"after", "-1"}}) {
    const auto error = get(dir.path(), {"a"}, {{"name", "loss"}, {name, value}}, &status);
    CHECK_MESSAGE(status == 400, name, "=", value);
    CHECK(error["error"].get<std::string>().starts_with(name + "="));
  }
  get(dir.path(), {"a"}, {{"name", "loss"}, {"from", "5"}, {"to", "1"}}, &status);
  CHECK(status == 400);
  get(dir.path(), {"a"}, {}, &status);
  CHECK(status == 400);
  get(dir.path(), {"nope"}, {{"name", "loss"}}, &status);
  CHECK(status == 404);
}

TEST_CASE("ui series: the series of a run are listed with their sizes") {
  TempDir dir;
  const auto run = make_run(dir.path(), "r");
  write_series(run / ".track" / "train" / "loss.csv", curve(0, 70000));
  write_series(run / ".track" / "sys" / "cpu_percent.csv", curve(0, 3));
  std::ofstream(run / ".track" / "fit_000.png") << "png";
  auto list = json::parse(ui::series_list(run).body)["series"];
  REQUIRE(list.size() == 2);
  CHECK(list[0]["name"] == "sys/cpu_percent");
  CHECK(list[0]["file"] == ".track/sys/cpu_percent.csv");
  CHECK(list[0]["bytes"] == fs::file_size(run / ".track" / "sys" / "cpu_percent.csv"));
  CHECK(list[0]["points"] == nullptr);
  CHECK(list[1]["name"] == "train/loss");
  CHECK(list[1]["points"] == nullptr);
  get(dir.path(), {"r"}, {{"name", "train/loss"}});
  list = json::parse(ui::series_list(run).body)["series"];
  CHECK(list.size() == 2); // the summary file is not a series
  CHECK(list[1]["points"] == 70000);
}
