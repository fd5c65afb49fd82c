#include "config/config.hpp"
#include "sweep/expand.hpp"
#include "sweep/slurm.hpp"
#include "test_support.hpp"
#include "xrun/error.hpp"

#include <doctest/doctest.h>
#include <fstream>
#include <functional>
#include <set>

using namespace xrun::config;
using xrun::test::TempDir;

namespace {

Config sweep_config(const TempDir& dir, const std::string& sweep) {
  std::ofstream(dir.path() / "exp.py") << "";
  std::ofstream(dir.path() / "s.yml") << "extend: exp.py\nsweep:\n" << sweep;
  return load_config(dir.path() / "s.yml", true,
                     [](const std::string&) { return std::optional<std::string>(); });
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const xrun::Error& error) {
    return error.what();
  }
  return "no error";
}

/// "NAME=value NAME=value" of each variation.
std::vector<std::string> shown(const std::vector<xrun::sweep::Variation>& variations) {
  std::vector<std::string> lines;
  for (const auto& variation : variations) {
    std::string line;
    for (const auto& setting : variation) {
      line += (line.empty() ? "" : " ") + setting.name + "=" +
              (setting.text ? *setting.text : setting.value.dump());
    }
    lines.push_back(line);
  }
  return lines;
}

} // namespace

TEST_CASE("grid, zip and lists written as range, linspace and logspace") {
  TempDir dir;
  const auto config = sweep_config(dir, "  grid:\n    LR: [0.1, 0.01]\n    B: {range: [1, 4, 2]}\n"
                                        "  zip:\n    W: [64, 128]\n    D: [two, four]\n");
  const auto variations = xrun::sweep::expand(config.sweep);
  CHECK(shown(variations) == std::vector<std::string>{
                                 "LR=0.1 B=1 W=64 D=two", "LR=0.1 B=1 W=128 D=four",
                                 "LR=0.1 B=3 W=64 D=two", "LR=0.1 B=3 W=128 D=four",
                                 "LR=0.01 B=1 W=64 D=two", "LR=0.01 B=1 W=128 D=four",
                                 "LR=0.01 B=3 W=64 D=two", "LR=0.01 B=3 W=128 D=four"});
  CHECK(variations[0][0].where.line == 4); // located at the sweep entry
  const auto spaced = sweep_config(dir, "  grid:\n    X: {linspace: [0, 1, 3]}\n"
                                        "    Y: {logspace: [-2, 0, 3]}\n");
  const auto values = xrun::sweep::expand(spaced.sweep);
  REQUIRE(values.size() == 9);
  CHECK(values[4][0].value.get<double>() == doctest::Approx(0.5));
  CHECK(values[4][1].value.get<double>() == doctest::Approx(0.1));
  CHECK(values[8][1].value.get<double>() == doctest::Approx(1.0));
}

TEST_CASE("a function's lower-case seed is drawn as a parameter, not taken as the seed") {
  TempDir dir;
  const auto config = sweep_config(dir, "  random:\n    samples: 4\n    seed: 3\n"
                                        "    lr: {uniform: [0.0, 1.0]}\n"
                                        "    samples_per_batch: {integer: [1, 2]}\n"
                                        "    seed_offset: {choice: [0]}\n");
  CHECK(config.sweep.samples == 4);
  CHECK(config.sweep.seed == 3);
  const auto drawn = sweep_config(dir, "  random:\n    samples: 4\n"
                                       "    seed: {integer: [0, 9]}\n");
  CHECK(drawn.sweep.seed == 0);
  const auto variations = xrun::sweep::expand(drawn.sweep);
  REQUIRE(variations.size() == 4);
  CHECK(variations[0][0].name == "seed");
  CHECK(variations[0][0].value.get<long long>() <= 9);
}

TEST_CASE("random draws are seeded, within their bounds, and crossed with the grid") {
  TempDir dir;
  const std::string random = "  grid:\n    A: [1, 2]\n  random:\n    samples: 50\n    seed: 7\n"
                             "    U: {uniform: [0.0, 0.5]}\n"
                             "    L: {loguniform: [1.0e-6, 1.0e-2]}\n"
                             "    I: {integer: [1, 3]}\n    C: {choice: [relu, tanh]}\n";
  const auto first = xrun::sweep::expand(sweep_config(dir, random).sweep);
  const auto again = xrun::sweep::expand(sweep_config(dir, random).sweep);
  REQUIRE(first.size() == 100);
  CHECK(shown(first) == shown(again));
  std::set<long long> integers;
  std::set<std::string> choices;
  for (std::size_t i = 0; i < first.size(); ++i) {
    const auto& v = first[i];
    CHECK(v[0].value == (i < 50 ? 1 : 2));
    CHECK(v[1].value.get<double>() >= 0.0);
    CHECK(v[1].value.get<double>() < 0.5);
    CHECK(v[2].value.get<double>() >= 1e-6);
    CHECK(v[2].value.get<double>() <= 1e-2);
    integers.insert(v[3].value.get<long long>());
    choices.insert(*v[4].text);
  }
  CHECK(integers == std::set<long long>{1, 2, 3});
  CHECK(choices == std::set<std::string>{"relu", "tanh"});
  CHECK(shown(first)[0] != shown(xrun::sweep::expand(
                               sweep_config(dir, "  grid:\n    A: [1, 2]\n  random:\n"
                                                 "    samples: 50\n    seed: 8\n"
                                                 "    U: {uniform: [0.0, 0.5]}\n"
                                                 "    L: {loguniform: [1.0e-6, 1.0e-2]}\n"
                                                 "    I: {integer: [1, 3]}\n"
                                                 "    C: {choice: [relu, tanh]}\n")
                                   .sweep))[0]);
}

TEST_CASE("sweep errors name the file, line and entry") {
  TempDir dir;
  const auto expanded = [&](const std::string& sweep) {
    return error_of([&] { xrun::sweep::expand(sweep_config(dir, sweep).sweep); });
  };
  CHECK(expanded("  grid:\n    LR: []\n").find("s.yml:4:9: LR has no values") !=
        std::string::npos);
  const auto twice = expanded("  grid:\n    LR: [1]\n  zip:\n    LR: [2]\n");
  CHECK(twice.find("s.yml:6:5: LR is swept twice (first at ") != std::string::npos);
  CHECK(twice.find("s.yml:4:5)") != std::string::npos);
  CHECK(expanded("  zip:\n    A: [1, 2]\n    B: [1]\n")
            .find("s.yml:5:5: zip: B has 1 values but A has 2") != std::string::npos);
  CHECK(expanded("  grdi:\n    A: [1]\n").find("unknown sweep section 'grdi'; did you mean "
                                               "'grid'?") != std::string::npos);
  CHECK(expanded("  random:\n    A: {uniform: [0, 1]}\n").find("random needs samples") !=
        std::string::npos);
  CHECK(expanded("  random:\n    samples: 2\n    A: {normal: [0, 1]}\n")
            .find("s.yml:5:5: random A: unknown distribution 'normal'") != std::string::npos);
  CHECK(expanded("  random:\n    samples: 2\n    A: {uniform: [1, 0]}\n").find("low <= high") !=
        std::string::npos);
  CHECK(expanded("  random:\n    samples: 2\n    A: {loguniform: [0, 1]}\n")
            .find("bounds above 0") != std::string::npos);
  CHECK(expanded("  grid:\n    A: {range: [0, 1.5]}\n").find("for floats use linspace") !=
        std::string::npos);
  CHECK(expanded("  grid:\n    A: {range: [0, 1000]}\n    B: {range: [0, 2000]}\n")
            .find("at most 1000000") != std::string::npos);
}

TEST_CASE("--sweep values: commas outside brackets and quotes") {
  const auto list = xrun::sweep::parse_command_line_sweep(
      R"(TAG=a,"b,c",[1, 2],{'x': 1},'')");
  CHECK(list.name == "TAG");
  std::vector<std::string> texts;
  for (const auto& value : list.values) {
    texts.push_back(*value.text);
  }
  CHECK(texts == std::vector<std::string>{"a", "b,c", "[1, 2]", "{'x': 1}", ""});
  CHECK(list.where.str() == R"(--sweep TAG=a,"b,c",[1, 2],{'x': 1},'')");
  CHECK(error_of([] { xrun::sweep::parse_command_line_sweep("LR"); }).find("NAME=VALUE") !=
        std::string::npos);
  CHECK(error_of([] { xrun::sweep::parse_command_line_sweep("LR=1,,2"); })
            .find("an empty value") != std::string::npos);
  CHECK(error_of([] { xrun::sweep::parse_command_line_sweep("LR='1"); })
            .find("not closed") != std::string::npos);
  // Quotes inside brackets are the literal's: their commas and brackets do not count.
  const auto lists = xrun::sweep::parse_command_line_sweep(R"(S=["a]", "b,c"],[4])");
  REQUIRE(lists.values.size() == 2);
  CHECK(*lists.values[0].text == R"(["a]", "b,c"])");
  CHECK(*lists.values[1].text == "[4]");
  CHECK(*xrun::sweep::parse_command_line_sweep("NAME=O'Brien,x").values[0].text == "O'Brien");
  CHECK(error_of([] { xrun::sweep::parse_command_line_sweep("TAG=a(b,c"); })
            .find("a bracket is not closed") != std::string::npos);
  CHECK(error_of([] { xrun::sweep::parse_command_line_sweep("TAG=a],b"); })
            .find("closes a bracket that is not open") != std::string::npos);
}

TEST_CASE("Slurm array expressions both ways") {
  using xrun::sweep::slurm::array_ranges;
  using xrun::sweep::slurm::parse_array_ranges;
  CHECK(array_ranges({0, 1, 2, 3}) == "0-3");
  CHECK(array_ranges({7, 1, 2, 3, 9, 10, 12, 2}) == "1-3,7,9-10,12");
  CHECK(array_ranges({5}) == "5");
  CHECK(*parse_array_ranges("4") == std::vector<int>{4});
  CHECK(*parse_array_ranges("5-8%2") == std::vector<int>{5, 6, 7, 8});
  CHECK(*parse_array_ranges("1,3,5-7") == std::vector<int>{1, 3, 5, 6, 7});
  CHECK(*parse_array_ranges("0-6:3") == std::vector<int>{0, 3, 6});
  CHECK_FALSE(parse_array_ranges("N/A"));
  CHECK_FALSE(parse_array_ranges("")); // a list scontrol shortened is not read as less:
  CHECK_FALSE(parse_array_ranges("1-3,6-7,10-11,13,17-22,55-5..."));
}

TEST_CASE("Slurm options are checked and become sbatch options") {
  using xrun::sweep::slurm::Options;
  const auto where = [](const std::string& key) { return "--" + key; };
  const auto options = Options::from_json(
      {{"type", "slurm"}, {"partition", "gpu"}, {"time", "1-12:00:00"}, {"mem", "8G"},
       {"gpus", 2}, {"cpus_per_task", "4"}, {"array_limit", 10}, {"requeue", true},
       {"sbatch_args", {"--qos=long"}}},
      where);
  CHECK(options.sbatch_options() ==
        std::vector<std::string>{"--open-mode=append", "--signal=B:USR1@120", "--requeue",
                                 "--partition=gpu", "--time=1-12:00:00", "--mem=8G", "--gpus=2",
                                 "--cpus-per-task=4", "--qos=long"});
  CHECK(options.array_limit == 10);
  CHECK(error_of([&] { Options::from_json({{"time", "2"}}, where); }) ==
        "--time: the time limit 2 (120 s) leaves no time before the warning, which comes 120 s "
        "before it");
  CHECK(Options::from_json({{"time", "2"}, {"signal_before", 30}}, where).time == "2");
  for (const auto& time : {"90", "30:00", "02:00:00", "1-12", "2-00:30", "UNLIMITED"}) {
    CHECK(Options::from_json({{"time", time}}, where).time == time);
  }
  CHECK(error_of([&] { Options::from_json({{"time", "2h"}}, where); }) ==
        "--time: \"2h\" is not a Slurm time limit (minutes, HH:MM:SS or D-HH:MM:SS)");
  CHECK(error_of([&] { Options::from_json({{"mem", "lots"}}, where); })
            .starts_with("--mem: \"lots\" is not an amount of memory"));
  CHECK(error_of([&] { Options::from_json({{"array_limit", 0}}, where); })
            .starts_with("--array_limit: 0 is not a whole number from 1"));
  CHECK(error_of([&] { Options::from_json({{"type", "pbs"}}, where); })
            .starts_with("--type: \"pbs\" is not a launcher"));
  CHECK(error_of([&] { Options::from_json({{"sbatch_args", {"qos=long"}}}, where); })
            .starts_with("--sbatch_args: \"qos=long\" is not an sbatch option"));
  CHECK(error_of([&] { Options::from_json({{"queue", "x"}}, where); })
            .starts_with("--queue: unknown launcher setting 'queue'"));
}

TEST_CASE("a config's launcher settings: later files win, errors are located") {
  TempDir dir;
  std::ofstream(dir.path() / "exp.py") << "";
  std::ofstream(dir.path() / "base.yml")
      << "extend: exp.py\nlauncher:\n  type: slurm\n  partition: cpu\n  time: 90\n";
  std::ofstream(dir.path() / "top.yml") << "extend: base.yml\nlauncher:\n  partition: gpu\n";
  const auto none = [](const std::string&) { return std::optional<std::string>(); };
  const auto config = load_config(dir.path() / "top.yml", true, none);
  CHECK(config.launcher.value("type", "") == "slurm");
  CHECK(config.launcher.value("partition", "") == "gpu");
  CHECK(config.launcher["time"] == 90);
  std::ofstream(dir.path() / "bad.yml") << "extend: exp.py\nlauncher:\n  mem: [1]\n";
  const auto message = error_of([&] { load_config(dir.path() / "bad.yml", true, none); });
  CHECK(message.find("bad.yml:3:3: launcher.mem: [1] is not an amount of memory") !=
        std::string::npos);
}
