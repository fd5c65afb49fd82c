#include "core/run_files.hpp"
#include "test_support.hpp"
#include "util/fs.hpp"
#include "util/json_depth.hpp"
#include "xrun/error.hpp"
#include "xrun/meta.hpp"

#include <doctest/doctest.h>
#include <fstream>
#include <string>
#include <sys/stat.h>

using xrun::test::TempDir;
namespace util = xrun::util;
namespace core = xrun::core;

namespace {

void write(const std::filesystem::path& file, const std::string& text) {
  std::filesystem::create_directories(file.parent_path());
  std::ofstream(file) << text;
}

} // namespace

TEST_CASE("how deep JSON nests is told without parsing it") {
  CHECK_FALSE(util::json_nesting_beyond(R"({"a": [1, {"b": []}]})", 4));
  CHECK(util::json_nesting_beyond(R"({"a": [1, {"b": []}]})", 3) == 16u);
  CHECK(util::json_nesting_beyond(R"({"a": [1, {"b": []}]})", 2) == 10u);
  CHECK_FALSE(util::json_nesting_beyond(R"(["[[[[", "\"[[[["])", 1)); // brackets in strings
  CHECK_FALSE(util::json_nesting_beyond("[][][][]", 1));
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  CHECK(util::json_nesting_beyond(deep, core::k_max_json_depth) == core::k_max_json_depth);
  CHECK(core::parse_bounded_json<nlohmann::json>(deep).is_discarded());
  CHECK(core::json_problem(deep) == "is nested deeper than 1000 levels");
  CHECK(core::json_problem("{\"a\": tru}") == "is not valid JSON");
  CHECK(core::json_problem("{\"a\": [[1]]}").empty());
}

TEST_CASE("run files are read only as regular files inside their folder") {
  TempDir dir;
  const auto run = dir.path() / "run";
  write(run / "data.json", "{\"a\": 1}");
  write(run / ".track" / "train" / "loss.csv", "step,value,time\n");
  write(dir.path() / "secret", "not yours");
  std::filesystem::create_symlink(dir.path() / "secret", run / "link");
  std::filesystem::create_symlink("data.json", run / "inside");
  std::filesystem::create_symlink(run / ".track" / "train", run / ".track" / "linked");
  REQUIRE(::mkfifo((run / "fifo").c_str(), 0600) == 0);

  const auto read = [&](const char* name) { return util::read_regular_file(run, name, 100); };
  CHECK(read("data.json").text == "{\"a\": 1}");
  CHECK(read(".track/train/loss.csv").ok());
  CHECK(read("missing").problem == util::FileProblem::missing);
  CHECK(read("link").problem == util::FileProblem::link);
  CHECK(read("link").text.empty());
  CHECK(read("inside").problem == util::FileProblem::link);
  CHECK(read(".track/linked/loss.csv").problem == util::FileProblem::link);
  CHECK(read(".track/linked/loss.csv").why == "goes through the symbolic link linked");
  CHECK(read("fifo").problem == util::FileProblem::not_regular); // and returns at once
  CHECK(read("fifo").why == "is a FIFO, not a regular file");
  CHECK(read(".track").why == "is a folder, not a regular file");
  CHECK(read("../secret").problem == util::FileProblem::outside);
  CHECK(read("/etc/passwd").problem == util::FileProblem::outside);
  CHECK(util::read_regular_file(run, "data.json", 3).problem == util::FileProblem::too_large);

  CHECK(core::read_run_file(run, "missing", 100) == std::nullopt);
  try {
    core::read_run_file(run, "link", 100);
    FAIL("a link was read");
  } catch (const xrun::ArchiveError& error) {
    CHECK(std::string(error.what()).ends_with(
        "run/link is a symbolic link, which archive commands never follow"));
  }
}

TEST_CASE("a meta nested beyond any need is corrupt, with its line and column") {
  const std::string text = "{\"status\": \"done\",\n \"x\": " + std::string(2000, '[') +
                           std::string(2000, ']') + "}";
  try {
    xrun::parse_meta(text, "run/experiment_meta.json");
    FAIL("no error");
  } catch (const xrun::ArchiveError& error) {
    CHECK(std::string(error.what()) ==
          "run/experiment_meta.json:2:1006: corrupt run metadata (nested deeper than 1000 "
          "levels)");
  }
}
