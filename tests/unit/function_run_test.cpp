// Function runs as the C++ side sees them: `FILE.py:NAME` split from the file, a config
// extending a function, the names of `--where` a function's parameters must not shadow, and
// the lineage `archive show` reads from function runs' metas.
#include "archive/lineage.hpp"
#include "archive/runs.hpp"
#include "config/config.hpp"
#include "core/function_target.hpp"
#include "sweep/request.hpp"
#include "test_support.hpp"
#include "xrun/error.hpp"

#include <doctest/doctest.h>
#include <fstream>
#include <nlohmann/json.hpp>

using xrun::core::split_function_target;
using xrun::test::TempDir;
using Json = nlohmann::json;

namespace {

void write(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

/// A done run folder `archive/relative` with a meta of `id`, `parameters` (name: value) and,
/// when given, a function record holding `inputs`; `data` as its data file when not null.
std::filesystem::path make_run(const std::filesystem::path& archive, const std::string& relative,
                               const std::string& id, const Json& parameters,
                               const Json& inputs = nullptr, const Json& data = nullptr) {
  Json meta = {{"format", 1},
               {"id", id},
               {"name", "train"},
               {"namespace", "results/mod/train"},
               {"status", "done"},
               {"start_time", 1795440000},
               {"end_time", 1795440030},
               {"duration", 30.0},
               {"host", "node1"},
               {"pid", 100},
               {"parameters", Json::object()}};
  for (const auto& [name, value] : parameters.items()) {
    meta["parameters"][name] = {
        {"name", name}, {"type", "str"}, {"value", value}, {"source", "cli"}};
  }
  if (!inputs.is_null()) {
    meta["function"] = {{"name", "train"}, {"module", "/p/mod.py"}, {"inputs", inputs}};
  }
  const auto folder = archive / relative;
  write(folder / "experiment_meta.json", meta.dump());
  if (!data.is_null()) {
    write(folder / "experiment_data.json", data.dump());
  }
  return folder;
}

} // namespace

TEST_CASE("a function is split from its module at the last colon") {
  const auto of = [](std::string_view word) {
    const auto target = split_function_target(word);
    return target.file + "|" + target.function;
  };
  CHECK(of("mod.py:train") == "mod.py|train");
  CHECK(of("dir/mod.py:_fit2") == "dir/mod.py|_fit2");
  CHECK(of("a:b/mod.py:train") == "a:b/mod.py|train"); // at the last colon
  CHECK(of("mod.py") == "mod.py|");
  CHECK(of("exp.yml") == "exp.yml|");
  CHECK(of("mod.py:") == "mod.py:|");             // no name
  CHECK(of("mod.py:1st") == "mod.py:1st|");       // not an identifier
  CHECK(of("mod.py:a.b") == "mod.py:a.b|");       // nor a dotted path
  CHECK(of("mod.yml:train") == "mod.yml:train|"); // only a module has functions
  CHECK(of("runs:v2.py") == "runs:v2.py|");       // a colon in a module's name
  CHECK(xrun::core::is_identifier("_"));
  CHECK_FALSE(xrun::core::is_identifier("a-b"));
}

TEST_CASE("a config extending a function of a module names both") {
  TempDir dir;
  write(dir.path() / "mod.py", "def train(lr=0.1):\n    pass\n");
  write(dir.path() / "base.yml", "extend: mod.py:train\nparameters:\n  lr: 0.5\n");
  write(dir.path() / "top.yml", "extend: base.yml\n");
  const auto config = xrun::config::load_config(dir.path() / "top.yml", false);
  CHECK(config.experiment == dir.path() / "mod.py");
  CHECK(config.function == "train");
  CHECK(config.name == "top");
  CHECK(config.namespace_name.empty()); // the function's own, where its runs and cache are
  CHECK(config.parameters.at(0).name == "lr");
  const auto back = xrun::config::Config::from_json(config.to_json());
  CHECK(back.function == "train");
  CHECK(config.resolved_yaml().find("extend: " + (dir.path() / "mod.py").string() + ":train\n") !=
        std::string::npos);

  write(dir.path() / "gone.yml", "extend: gone.py:train\n");
  CHECK_THROWS_WITH_AS(xrun::config::load_config(dir.path() / "gone.yml", false),
                       doctest::Contains("the extended file 'gone.py:train' does not exist"),
                       xrun::ConfigError);
}

TEST_CASE("results are the data's, and a parameter named like a root does not shadow it") {
  TempDir dir;
  const auto folder = make_run(dir.path(), "mod/train/r1", "r1",
                               {{"data", "/in/data.npy"}, {"results", "mine"}, {"lr", "0.1"}},
                               Json::array(), {{"results", {{"acc", 0.93}}}, {"data", 7}});
  auto run = xrun::archive::Run::load(folder);
  REQUIRE(run.readable());
  CHECK(run.value("results.acc", 0) == 0.93);
  CHECK(run.value("results", 0) == Json{{"acc", 0.93}});
  CHECK(run.value("data.results.acc", 0) == 0.93);
  CHECK(run.value("data.data", 0) == 7);
  CHECK(run.value("params.data", 0) == "/in/data.npy");
  CHECK(run.value("p.results", 0) == "mine");
  CHECK(run.value("lr", 0) == "0.1"); // other lower-case names are parameters still
  CHECK(run.value("meta.function.module", 0) == "/p/mod.py");
}

TEST_CASE("a run's inputs and consumers are found by the meta ids inputs name") {
  TempDir dir;
  const auto archive = dir.path() / "results";
  const Json dataset = {{"name", "data"},      {"ref", "run:p1/outputs/dataset"},
                        {"sha256", "c0ffee"},  {"run", "p1"},
                        {"output", "dataset"}, {"size", 3}};
  const auto producer = make_run(archive, "mod/prepare/p1", "p1", Json::object(), Json::array());
  make_run(archive, "mod/train/t1", "t1", {{"data", "run:p1/outputs/dataset"}},
           Json::array({dataset, {{"name", "extra"}, {"ref", "/x.csv"}, {"sha256", "aa"}}}));
  make_run(archive, "mod/train/t2", "t2", Json::object(),
           Json::array({{{"name", "data"}, {"ref", "run:p9/outputs/dataset"}, {"run", "p9"}}}));
  make_run(archive, "plain/m1", "m1", {{"NOTE", "p1"}}); // names p1, consumes nothing

  const auto consumer_meta = xrun::read_meta(archive / "mod/train/t1");
  const auto of_consumer = xrun::archive::lineage_of(consumer_meta, archive);
  REQUIRE(of_consumer.inputs.size() == 2);
  CHECK(of_consumer.inputs[0].name == "data");
  CHECK(of_consumer.inputs[0].listed == "mod/prepare/p1");
  CHECK(of_consumer.inputs[1].ref == "/x.csv");
  CHECK(of_consumer.inputs[1].listed.empty());
  CHECK(of_consumer.consumers.empty());
  const auto json = xrun::archive::inputs_json(of_consumer);
  CHECK(json[0]["listed"] == "mod/prepare/p1");
  CHECK(json[0]["size"] == 3);
  CHECK(json[1]["listed"].is_null());

  const auto of_producer = xrun::archive::lineage_of(xrun::read_meta(producer), archive);
  CHECK(of_producer.inputs.empty());
  REQUIRE(of_producer.consumers.size() == 1);
  CHECK(of_producer.consumers[0].listed == "mod/train/t1");
  CHECK(of_producer.consumers[0].input == "data");
  CHECK(of_producer.consumers[0].output == "dataset");
  CHECK(xrun::archive::consumers_json(of_producer)[0]["id"] == "t1");

  // A module run has no outputs: the archive is not searched for it.
  make_run(archive, "mod/train/t3", "t3", Json::object(),
           Json::array({{{"name", "data"}, {"ref", "run:m1/outputs/x"}, {"run", "m1"}}}));
  const auto module_run = xrun::read_meta(archive / "plain/m1");
  CHECK(xrun::archive::lineage_of(module_run, archive).consumers.empty());

  // Without the archive, the inputs are what the meta records, and no run consumes it.
  const auto alone = xrun::archive::lineage_of(consumer_meta, dir.path() / "nowhere");
  CHECK(alone.inputs.size() == 2);
  CHECK(alone.inputs[0].listed.empty());
}

TEST_CASE("a sweep's request keeps the function, --cache and --rerun for every run") {
  xrun::sweep::Request request;
  request.file = "/p/mod.py";
  request.function = "train";
  request.cache = true;
  request.rerun = true;
  CHECK(request.to_json().at("function") == "train");
  const auto back = xrun::sweep::Request::from_json(request.to_json());
  CHECK(back.function == "train");
  CHECK(back.cache == true);
  CHECK(back.rerun);
  // A manifest written before function runs: a module, cache as declared.
  const auto old =
      xrun::sweep::Request::from_json({{"file", "/p/exp.py"}, {"args", Json::array()}});
  CHECK(old.function.empty());
  CHECK(old.cache.is_null());
  CHECK_FALSE(old.rerun);
}
