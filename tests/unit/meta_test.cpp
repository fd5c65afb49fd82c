#include "core/atomic_file.hpp"
#include "test_support.hpp"
#include "xrun/error.hpp"
#include "xrun/meta.hpp"

#include <doctest/doctest.h>
#include <string>

using namespace xrun;
using xrun::test::TempDir;

namespace {

RunMeta sample() {
  RunMeta meta;
  meta.id = "2026-11-23_13-21-17-482_k3x9";
  meta.name = "quickstart";
  meta.namespace_name = "results/quickstart";
  meta.base_path = "/home/me/exp";
  meta.status = RunStatus::failed;
  meta.start_time = 1795440077.482;
  meta.end_time = 1795440080.5;
  meta.duration = 3.018;
  meta.heartbeat = 1795440080.0;
  meta.exit_code = 1;
  meta.error_type = "ValueError";
  meta.error_message = "boom";
  meta.host = "node7";
  meta.pid = 4242;
  meta.python_version = "3.11.2";
  meta.command_line = {"xrun", "run", "exp.py", "--LR", "0.01"};
  ParameterRecord lr;
  lr.name = "LR";
  lr.type = "float";
  lr.description = "learning rate";
  lr.value = 0.01;
  lr.source = ValueSource::cli;
  meta.parameters.push_back(lr);
  ParameterRecord layers;
  layers.name = "LAYERS";
  layers.type = "list[int]";
  layers.value = nlohmann::ordered_json::array({64, 32});
  meta.parameters.push_back(layers);
  meta.hooks.push_back({"after_run", "plots", 2, {}});
  meta.tracked = {"train/loss"};
  meta.git = GitRecord{"abc123", "main", true, "git_diff.patch", {}};
  return meta;
}

std::string error_of(std::string_view text) {
  try {
    parse_meta(text, "/runs/r1/experiment_meta.json");
  } catch (const ArchiveError& error) {
    return error.what();
  }
  return "no error";
}

} // namespace

TEST_CASE("meta round-trips through JSON") {
  const auto meta = sample();
  const auto back = parse_meta(serialize_meta(meta), "meta.json");
  CHECK(back.id == meta.id);
  CHECK(back.status == RunStatus::failed);
  CHECK(back.start_time == meta.start_time);
  CHECK(back.end_time == meta.end_time);
  CHECK(back.exit_code == 1);
  CHECK_FALSE(back.signal.has_value());
  CHECK(back.command_line == meta.command_line);
  REQUIRE(back.parameters.size() == 2);
  CHECK(back.parameters[0].name == "LR"); // declaration order is kept
  CHECK(back.parameters[1].name == "LAYERS");
  CHECK(back.parameter("LR")->source == ValueSource::cli);
  CHECK(back.parameter("LR")->value == 0.01);
  CHECK(back.parameter("LAYERS")->value.dump() == "[64,32]");
  CHECK(back.parameter("MISSING") == nullptr);
  REQUIRE(back.hooks.size() == 1);
  CHECK(back.hooks[0].count == 2);
  REQUIRE(back.git.has_value());
  CHECK(back.git->dirty);
  CHECK(back.tracked == meta.tracked);
  CHECK(serialize_meta(back) == serialize_meta(meta));
}

TEST_CASE("meta written to a run folder reads back") {
  TempDir dir;
  write_meta(dir.path(), sample());
  CHECK(read_meta(dir.path()).name == "quickstart");
}

TEST_CASE("unknown fields from a newer version survive a rewrite") {
  const std::string newer = R"({
    "format": 7, "id": "r1", "status": "done", "gpu": {"name": "A100"},
    "parameters": {"LR": {"value": 0.1, "type": "float", "bounds": [0, 1]}},
    "git": {"commit": "abc", "remote": "origin"}
  })";
  const auto meta = parse_meta(newer, "meta.json");
  CHECK(meta.format == 7);
  CHECK(meta.status == RunStatus::done);
  CHECK(meta.extra["gpu"]["name"] == "A100");
  const auto again = parse_meta(serialize_meta(meta), "meta.json");
  CHECK(again.extra["gpu"]["name"] == "A100");
  CHECK(again.parameters[0].extra["bounds"].dump() == "[0,1]");
  CHECK(again.git->extra["remote"] == "origin");
}

TEST_CASE("meta from an older version with fields missing gets defaults") {
  const auto meta = parse_meta(R"({"status": "done", "start_time": 10, "end_time": null})", "m");
  CHECK(meta.status == RunStatus::done);
  CHECK(meta.start_time == 10.0);
  CHECK_FALSE(meta.end_time.has_value());
  CHECK(meta.parameters.empty());
  CHECK_FALSE(meta.git.has_value());
}

TEST_CASE("a corrupt meta file is reported with its path, line and column") {
  const auto message = error_of("{\n  \"status\": \"done\",\n  \"pid\": 12,,\n}");
  CHECK(message.find("/runs/r1/experiment_meta.json:3:") != std::string::npos);
  CHECK(message.find("not valid JSON") != std::string::npos);
  CHECK(error_of("").find("experiment_meta.json:1:") != std::string::npos);
  CHECK(error_of("{\"status\": \"do").find("experiment_meta.json:1:") != std::string::npos);
}

TEST_CASE("a number too large for a double is a corrupt meta, not a crash") {
  CHECK(error_of(R"({"status": "done", "pid": 1e400})") ==
        "/runs/r1/experiment_meta.json: corrupt run metadata (a number too large for a double)");
}

TEST_CASE("a wrongly typed field is reported by name") {
  CHECK(error_of(R"({"status": 3})") ==
        "/runs/r1/experiment_meta.json: field 'status' must be a string, found number");
  CHECK(error_of(R"({"pid": "12"})").find("field 'pid' must be an integer") != std::string::npos);
  CHECK(error_of(R"({"parameters": {"LR": {"type": 1}}})").find("'parameters.LR.type'") !=
        std::string::npos);
  CHECK(error_of(R"({"status": "finished"})").find("unknown value 'finished'") !=
        std::string::npos);
  CHECK(error_of("[1, 2]").find("must be an object") != std::string::npos);
}

TEST_CASE("reading a folder without meta says it is not a run folder") {
  TempDir dir;
  try {
    read_meta(dir.path());
    FAIL("expected an error");
  } catch (const ArchiveError& error) {
    CHECK(std::string(error.what()).find("is not a run folder") != std::string::npos);
  }
}
