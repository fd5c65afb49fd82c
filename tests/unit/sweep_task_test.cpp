#include "sweep/manifest.hpp"
#include "sweep/request.hpp"
#include "sweep/task.hpp"
#include "test_support.hpp"
#include "xrun/error.hpp"

#include <csignal>
#include <cstdlib>
#include <doctest/doctest.h>

using xrun::test::TempDir;
namespace sweep = xrun::sweep;

namespace {

sweep::Request full_request() {
  sweep::Request request;
  request.file = "/work/exp.py";
  request.config = {{"experiment", "/work/exp.py"}, {"parameters", nlohmann::json::array()}};
  request.config_path = "/work/exp.yml";
  request.args = {"--LR", "0.1"};
  request.plugins = nlohmann::json::array({{{"name", "notify"}, {"enabled", true}}});
  request.labels = {{"tags", {"baseline"}}, {"note", "first"}};
  return request;
}

/// A sweep of two rows (indices 0 and 3) in `dir`, started in `dir`.
sweep::Manifest saved_sweep(const TempDir& dir) {
  sweep::Manifest manifest;
  manifest.id = "S1";
  manifest.folder = dir.path() / "results" / ".sweeps" / "S1";
  std::filesystem::create_directories(manifest.folder);
  manifest.working_directory = dir.path().string();
  manifest.command_line = {"xrun", "run", "exp.py", "--sweep", "LR=1,2"};
  manifest.request = full_request().to_json();
  for (const int index : {0, 3}) {
    sweep::Row row;
    row.index = index;
    row.settings = nlohmann::json::array({{{"name", "LR"}, {"value", index}}});
    manifest.rows.push_back(row);
  }
  manifest.save();
  return manifest;
}

/// Puts back what run_task changes in the process: the folder and SIGUSR1's disposition.
struct ProcessState {
  std::filesystem::path folder = std::filesystem::current_path();
  ~ProcessState() {
    std::filesystem::current_path(folder);
    std::signal(SIGUSR1, SIG_DFL);
    ::unsetenv("SLURM_JOB_ID");
    ::unsetenv("SLURMD_NODENAME");
  }
};

} // namespace

TEST_CASE("a sweep request is kept in the manifest as the record it always was") {
  const auto request = full_request();
  const auto json = request.to_json();
  std::vector<std::string> keys;
  for (const auto& [key, value] : json.items()) {
    keys.push_back(key);
  }
  CHECK(keys ==
        std::vector<std::string>{"args", "config", "config_path", "file", "labels", "plugins"});
  const auto back = sweep::Request::from_json(json);
  CHECK(back.to_json() == json);

  const sweep::Request module;
  CHECK(module.to_json().at("config").is_null());
  CHECK(module.to_json().at("labels") == nlohmann::json::object());

  const auto empty = sweep::Request::from_json(nlohmann::json::object());
  CHECK(empty.file.empty());
  CHECK(empty.config.is_null());
  CHECK(empty.plugins == nlohmann::json::array());
  CHECK(empty.labels == nlohmann::json::object());
  CHECK(sweep::Request::from_json({{"config", "text"}, {"labels", 1}}).config.is_null());
}

TEST_CASE("a Slurm task runs its row in the sweep's folder with the task's record") {
  TempDir dir;
  const auto saved = saved_sweep(dir);
  const ProcessState restore;
  ::setenv("SLURM_JOB_ID", "77", 1);
  ::setenv("SLURMD_NODENAME", "node1", 1);
  int ran_index = -1;
  nlohmann::json record;
  std::vector<int> signals;
  std::filesystem::path folder;
  const int code = sweep::run_task(saved.folder, 3, false, [&](const sweep::TaskRun& task) {
    ran_index = task.row.index;
    record = task.sweep_record;
    for (const auto& [number, reason] : task.interrupt_reasons) {
      signals.push_back(number);
    }
    folder = std::filesystem::current_path();
    CHECK(task.manifest.command_line == saved.command_line);
    CHECK(task.manifest.request == saved.request);
    return 7;
  });
  CHECK(code == 7);
  CHECK(ran_index == 3);
  CHECK(record == nlohmann::json{{"id", "S1"},
                                 {"index", 3},
                                 {"slurm", {{"job_id", "77"}, {"node", "node1"}}}});
  CHECK(signals == std::vector<int>{SIGUSR1, SIGTERM});
  CHECK(std::filesystem::equivalent(folder, dir.path()));
}

TEST_CASE("a Slurm task of a row the sweep does not have runs nothing") {
  TempDir dir;
  const auto saved = saved_sweep(dir);
  const ProcessState restore;
  bool ran = false;
  const auto run = [&](const sweep::TaskRun&) {
    ran = true;
    return 0;
  };
  CHECK_THROWS_WITH_AS(sweep::run_task(saved.folder, 1, true, run),
                       "sweep S1 has no variation with index 1", xrun::UsageError);
  CHECK_FALSE(ran);
}
