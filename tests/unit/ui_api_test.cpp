// The viewer's API answered without a server: small archives in a temp folder, requests
// handed to ui::Api, answers checked as a client sees them (status, JSON, bytes).
#include "sweep/manifest.hpp"
#include "test_support.hpp"
#include "ui/api.hpp"
#include "ui/run_ref.hpp"
#include "util/host.hpp"
#include "util/time.hpp"
#include "xrun/meta.hpp"

#include <algorithm>
#include <doctest/doctest.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

using xrun::test::TempDir;
using Json = nlohmann::json;
namespace fs = std::filesystem;
namespace ui = xrun::ui;

namespace {

void write(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << text;
}

double now() {
  return xrun::util::to_epoch_seconds(xrun::util::Clock::now());
}

struct RunSpec {
  xrun::RunStatus status = xrun::RunStatus::done;
  double start = 1000;
  Json parameters = Json::object(); // name -> value
  std::string host = "node7";
  long pid = 4242;
  double heartbeat = 0; // 0: start + 10
  std::vector<std::string> tags = {};
};

/// A run folder `root/relative` with a meta as the supervisor writes it.
fs::path add_run(const fs::path& root, const std::string& relative, const RunSpec& spec) {
  const auto folder = root / relative;
  fs::create_directories(folder);
  xrun::RunMeta meta;
  meta.id = folder.filename().string();
  meta.name = "train";
  meta.namespace_name = (root / relative).parent_path().string();
  meta.status = spec.status;
  meta.start_time = spec.start;
  meta.heartbeat = spec.heartbeat > 0 ? spec.heartbeat : spec.start + 10;
  if (spec.status != xrun::RunStatus::running) {
    meta.end_time = spec.start + 10;
    meta.duration = 10;
    meta.exit_code = spec.status == xrun::RunStatus::done ? 0 : 1;
  }
  if (spec.status == xrun::RunStatus::failed) {
    meta.error_type = "ValueError";
  }
  meta.host = spec.host;
  meta.pid = spec.pid;
  for (const auto& [name, value] : spec.parameters.items()) {
    xrun::ParameterRecord record;
    record.name = name;
    record.type = value.is_number_float() ? "float" : value.is_string() ? "str" : "int";
    record.value = nlohmann::ordered_json::parse(value.dump());
    meta.parameters.push_back(record);
  }
  if (!spec.tags.empty()) {
    meta.extra["tags"] = spec.tags;
  }
  xrun::write_meta(folder, meta);
  return folder;
}

ui::Response get(ui::Api& api, const std::string& path,
                 std::map<std::string, std::string, std::less<>> query = {}) {
  return api.handle(ui::Request{path, std::move(query)});
}

Json body_of(const ui::Response& response) {
  INFO(response.body);
  REQUIRE(response.content_type == "application/json");
  return Json::parse(response.body);
}

std::vector<std::string> run_ids(const Json& page) {
  std::vector<std::string> ids;
  for (const auto& row : page["rows"]) {
    ids.push_back(row["run"].get<std::string>());
  }
  return ids;
}

/// An archive of six runs in two namespaces: done, failed, running elsewhere, lost here, and
/// one whose meta is damaged.
struct SmallArchive {
  TempDir dir;
  fs::path root = dir.path() / "results";

  SmallArchive() {
    add_run(root, "exp/r1",
            {.start = 1000, .parameters = {{"LR", 0.1}, {"MODEL", "cnn"}}, .tags = {"base"}});
    add_run(root, "exp/r2",
            {.status = xrun::RunStatus::failed,
             .start = 2000,
             .parameters = {{"LR", 0.01}, {"MODEL", "cnn"}}});
    const auto r3 =
        add_run(root, "exp/r3", {.start = 3000, .parameters = {{"LR", 0.001}, {"MODEL", "vit"}}});
    write(r3 / "experiment_data.json", R"({"acc": 0.9, "nested": {"x": 1}})");
    add_run(root, "exp/running",
            {.status = xrun::RunStatus::running,
             .start = now() - 5,
             .parameters = {{"LR", 0.1}},
             .host = "elsewhere",
             .heartbeat = now()});
    // Its supervisor "is" this process: recorded as running on this host, it is lost.
    add_run(root, "other/deep/lost",
            {.status = xrun::RunStatus::running,
             .start = 500,
             .host = xrun::util::host_name(),
             .pid = ::getpid()});
    write(root / "exp" / "broken" / "experiment_meta.json", "{not json");
  }
};

} // namespace

TEST_CASE("ui api: the runs page lists every run, newest first, with its shown status") {
  SmallArchive archive;
  ui::Api api(archive.root);
  const auto page = body_of(get(api, "/api/v1/runs"));
  CHECK(page["total"] == 6);
  CHECK(page["archive_total"] == 6);
  CHECK(page["offset"] == 0);
  CHECK(page["columns"] == Json::array());
  // -start_time; the corrupt run has no start time and comes last.
  CHECK(run_ids(page) == std::vector<std::string>{"exp/running", "exp/r3", "exp/r2", "exp/r1",
                                                  "other/deep/lost", "exp/broken"});
  const auto& running = page["rows"][0];
  CHECK(running["status"] == "running");
  CHECK(running["end_time"].is_null());
  CHECK(running["host"] == "elsewhere");
  const auto& r2 = page["rows"][2];
  CHECK(r2["status"] == "failed");
  CHECK(r2["name"] == "train");
  CHECK(r2["start_time"] == 2000);
  CHECK(r2["end_time"] == 2010);
  CHECK(r2["duration"] == 10);
  CHECK(r2["error_type"] == "ValueError");
  CHECK(r2["tags"] == Json::array());
  CHECK(page["rows"][3]["tags"] == Json::array({"base"}));
  CHECK(page["rows"][4]["status"] == "lost");
  const auto& broken = page["rows"][5];
  CHECK(broken["status"] == "corrupt");
  CHECK(broken["name"].is_null());
  CHECK(broken["problem"].get<std::string>().find("experiment_meta.json") != std::string::npos);
}

TEST_CASE("ui api: after a change an event stream saw, the runs page waits for a new scan") {
  SmallArchive archive;
  ui::Api api(archive.root);
  CHECK(body_of(get(api, "/api/v1/runs"))["total"] == 6);
  add_run(archive.root, "exp/new", {.start = 5000});
  std::filesystem::remove_all(archive.root / "exp" / "r1");
  api.runs_changed();
  const auto page = body_of(get(api, "/api/v1/runs"));
  CHECK(page["total"] == 6);
  const auto ids = run_ids(page);
  CHECK(std::find(ids.begin(), ids.end(), "exp/new") != ids.end());
  CHECK(std::find(ids.begin(), ids.end(), "exp/r1") == ids.end());
}

TEST_CASE("ui api: where, sort, limit, offset, columns and group as archive list has them") {
  SmallArchive archive;
  ui::Api api(archive.root);

  auto page = body_of(get(api, "/api/v1/runs", {{"where", "LR >= 0.01 and status == \"done\""}}));
  CHECK(page["total"] == 1);
  CHECK(page["archive_total"] == 6);
  CHECK(run_ids(page) == std::vector<std::string>{"exp/r1"});

  page = body_of(get(api, "/api/v1/runs", {{"sort", "LR"}, {"columns", "LR,data.acc,MODEL"}}));
  CHECK(run_ids(page) == std::vector<std::string>{"exp/r3", "exp/r2", "exp/r1", "exp/running",
                                                  "exp/broken", "other/deep/lost"});
  CHECK(page["columns"] == Json::array({"LR", "data.acc", "MODEL"}));
  CHECK(page["rows"][0]["values"] == Json({{"LR", 0.001}, {"data.acc", 0.9}, {"MODEL", "vit"}}));
  CHECK(page["rows"][1]["values"]["data.acc"].is_null());

  // Descending: the runs without a value still come last.
  page = body_of(get(api, "/api/v1/runs", {{"sort", "-LR"}, {"limit", "2"}, {"offset", "1"}}));
  CHECK(page["total"] == 6);
  CHECK(page["offset"] == 1);
  CHECK(run_ids(page) == std::vector<std::string>{"exp/running", "exp/r2"});
  page = body_of(get(api, "/api/v1/runs", {{"sort", "-LR"}, {"offset", "5"}}));
  CHECK(run_ids(page) == std::vector<std::string>{"other/deep/lost"});
  page = body_of(get(api, "/api/v1/runs", {{"offset", "99"}}));
  CHECK(page["rows"] == Json::array());
  CHECK(page["total"] == 6);

  page = body_of(get(api, "/api/v1/runs", {{"group", "MODEL"}, {"sort", "start_time"}}));
  CHECK(page["groups"] == Json::parse(R"([{"value": "cnn", "count": 2},
      {"value": "vit", "count": 1}, {"value": null, "count": 3}])"));
  CHECK(run_ids(page) == std::vector<std::string>{"exp/r1", "exp/r2", "exp/r3", "other/deep/lost",
                                                  "exp/running", "exp/broken"});
}

TEST_CASE("ui api: a bad where, sort or limit is a 400 that says what is wrong") {
  SmallArchive archive;
  ui::Api api(archive.root);
  auto response = get(api, "/api/v1/runs", {{"where", "LR >= 0.01 and (status = 1)"}});
  CHECK(response.status == 400);
  auto body = body_of(response);
  CHECK(body["column"] == 24);
  CHECK(body["where"] == "LR >= 0.01 and (status = 1)");
  CHECK(body["error"] == "--where: column 24: use '==' to compare");

  response = get(api, "/api/v1/runs", {{"where", "LR > \"unterminated"}});
  CHECK(response.status == 400);
  CHECK(body_of(response)["column"] == 6);

  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"limit", "5001"}, {"limit", "-1"}, {"limit", "ten"}, {"offset", "-3"}, {"sort", "-"}}) {
    CAPTURE(name);
    CAPTURE(value);
    response = get(api, "/api/v1/runs", {{name, value}});
    CHECK(response.status == 400);
    CHECK(body_of(response)["error"].is_string());
  }
  CHECK(get(api, "/api/v1/runs", {{"limit", "5000"}}).status == 200);
  CHECK(get(api, "/api/v1/runs", {{"limit", "0"}}).status == 200);
}

TEST_CASE("ui api: the column names found over the archive") {
  SmallArchive archive;
  write(archive.root / "exp" / "r1" / "experiment_summary.json",
        R"({"summary": {"test_acc": 0.5}, "primary_metric": {"name": "acc", "best": 0.9}})");
  ui::Api api(archive.root);
  const auto body = body_of(get(api, "/api/v1/columns"));
  CHECK(body["parameters"] == Json::array({"LR", "MODEL"}));
  CHECK(body["data"] == Json::array({"data.acc", "data.nested.x"}));
  CHECK(body["summary"] ==
        Json::array({"primary_metric.best", "primary_metric.name", "summary.test_acc"}));
  const auto& meta = body["meta"];
  for (const char* name :
       {"status", "name", "namespace", "start_time", "end_time", "duration", "host", "tags"}) {
    CHECK(std::find(meta.begin(), meta.end(), name) != meta.end());
  }
}

TEST_CASE("ui api: one run's record, data and files it keeps beside the meta") {
  SmallArchive archive;
  const auto r3 = archive.root / "exp" / "r3";
  write(r3 / "experiment_out.log", "hello\n");
  write(r3 / "artifacts.json", R"({"artifacts": [{"name": "model", "version": 1}]})");
  write(r3 / "params.json", "{broken");
  ui::Api api(archive.root);
  auto body = body_of(get(api, "/api/v1/run", {{"run", "exp/r3"}}));
  CHECK(body["run"] == "exp/r3");
  CHECK(body["status"] == "done");
  CHECK(body["problem"] == "");
  CHECK(body["meta"]["name"] == "train");
  CHECK(body["meta"]["parameters"]["LR"]["value"] == 0.001);
  CHECK(body["data"] == Json::parse(R"({"acc": 0.9, "nested": {"x": 1}})"));
  CHECK(body["summary"].is_null());
  CHECK(body["params"].is_null());
  CHECK(body["file_problems"]["params.json"] == "is not valid JSON");
  CHECK(body["artifacts"] == Json::parse(R"([{"name": "model", "version": 1}])"));
  CHECK(body["log_size"] == 6);
  CHECK(body["heartbeat_age"].get<double>() > 0);

  body = body_of(get(api, "/api/v1/run", {{"run", "exp/broken"}}));
  CHECK(body["status"] == "corrupt");
  CHECK(body["problem"].get<std::string>().find("experiment_meta.json") != std::string::npos);
  CHECK(body["meta"].is_null());
  CHECK(body["log_size"].is_null());
  CHECK(body_of(get(api, "/api/v1/run", {{"run", "other/deep/lost"}}))["status"] == "lost");

  CHECK(get(api, "/api/v1/run", {{"run", "exp/nothing"}}).status == 404);
  CHECK(get(api, "/api/v1/run", {{"run", "exp"}}).status == 404); // a namespace, no run
  CHECK(get(api, "/api/v1/run").status == 400);
}

TEST_CASE("ui api: run ids that could leave the archive are refused") {
  SmallArchive archive;
  TempDir outside;
  add_run(outside.path(), "elsewhere", {});
  fs::create_directory_symlink(outside.path() / "elsewhere", archive.root / "exp" / "linked");
  fs::create_directory_symlink(archive.root / "exp", archive.root / "alias");
  add_run(archive.root / "exp" / "r1", "inner", {});
  add_run(archive.root / "exp" / ".trash", "old", {});
  ui::Api api(archive.root);
  for (const std::string& id :
       std::vector<std::string>{"../results/exp/r1", "exp/../exp/r1", "/etc", "exp\\r1", "exp/r1;",
                                "exp/r1,exp/r2", "exp//r1", "./exp/r1", "exp/r1/", "",
                                std::string("exp/r1\0x", 8), "exp/linked", "alias/r1"}) {
    CAPTURE(id);
    const auto response = get(api, "/api/v1/run", {{"run", id}});
    CHECK(response.status == 403);
    CHECK(body_of(response)["run"] == id);
  }
  for (const std::string id : {"exp/r1/inner", "exp/.trash/old", "exp/r1/experiment_meta.json"}) {
    CAPTURE(id);
    CHECK(get(api, "/api/v1/run", {{"run", id}}).status == 404);
  }
  ui::Response refusal;
  CHECK(ui::resolve_run(archive.root, "exp/r1", refusal) == archive.root / "exp" / "r1");
}

TEST_CASE("ui api: log pages by offset, from the end, in whole characters") {
  SmallArchive archive;
  const auto r1 = archive.root / "exp" / "r1";
  write(r1 / "experiment_out.log", "line one\nline two\n");
  ui::Api api(archive.root);
  auto body = body_of(get(api, "/api/v1/log", {{"run", "exp/r1"}}));
  CHECK(body ==
        Json({{"offset", 0}, {"next", 18}, {"size", 18}, {"text", "line one\nline two\n"}}));
  body = body_of(get(api, "/api/v1/log", {{"run", "exp/r1"}, {"offset", "5"}, {"limit", "4"}}));
  CHECK(body == Json({{"offset", 5}, {"next", 9}, {"size", 18}, {"text", "one\n"}}));
  body = body_of(get(api, "/api/v1/log", {{"run", "exp/r1"}, {"offset", "-9"}}));
  CHECK(body == Json({{"offset", 9}, {"next", 18}, {"size", 18}, {"text", "line two\n"}}));
  body = body_of(get(api, "/api/v1/log", {{"run", "exp/r1"}, {"offset", "-100"}}));
  CHECK(body["offset"] == 0);
  body = body_of(get(api, "/api/v1/log", {{"run", "exp/r1"}, {"offset", "18"}}));
  CHECK(body == Json({{"offset", 18}, {"next", 18}, {"size", 18}, {"text", ""}}));
  body = body_of(get(api, "/api/v1/log", {{"run", "exp/r1"}, {"offset", "1000"}}));
  CHECK(body["offset"] == 18);

  // "é" is two bytes: a page never splits it, and invalid bytes become U+FFFD.
  write(r1 / "experiment_out.log", "ab\xC3\xA9z\xFF\n");
  body = body_of(get(api, "/api/v1/log", {{"run", "exp/r1"}, {"limit", "3"}}));
  CHECK(body == Json({{"offset", 0}, {"next", 2}, {"size", 7}, {"text", "ab"}}));
  body = body_of(get(api, "/api/v1/log", {{"run", "exp/r1"}, {"offset", "2"}}));
  CHECK(body["text"] == "\xC3\xA9z\xEF\xBF\xBD\n");
  body = body_of(get(api, "/api/v1/log", {{"run", "exp/r1"}, {"offset", "-4"}}));
  CHECK(body["offset"] == 4); // started inside "é": begins after it
  CHECK(body["text"] == "z\xEF\xBF\xBD\n");

  CHECK(get(api, "/api/v1/log", {{"run", "exp/r2"}}).status == 404); // no log
  CHECK(get(api, "/api/v1/log", {{"run", "exp/r1"}, {"limit", "x"}}).status == 400);
  TempDir outside;
  write(outside.path() / "secret.log", "secret");
  fs::create_symlink(outside.path() / "secret.log",
                     archive.root / "exp" / "r2" / "experiment_out.log");
  CHECK(get(api, "/api/v1/log", {{"run", "exp/r2"}}).status == 403);
}

TEST_CASE("ui api: the files of a run folder, links listed and never followed") {
  SmallArchive archive;
  const auto r1 = archive.root / "exp" / "r1";
  write(r1 / "notes.txt", "12345");
  write(r1 / "sub" / "deeper" / "x.csv", "a,b\n");
  TempDir outside;
  write(outside.path() / "inside-out" / "secret", "s");
  fs::create_directory_symlink(outside.path() / "inside-out", r1 / "out");
  ui::Api api(archive.root);
  const auto body = body_of(get(api, "/api/v1/files", {{"run", "exp/r1"}}));
  CHECK_FALSE(body.contains("truncated"));
  std::map<std::string, std::pair<std::string, std::uintmax_t>> files;
  for (const auto& file : body["files"]) {
    files[file["path"]] = {file["kind"], file["size"]};
  }
  CHECK(files["notes.txt"] == std::pair<std::string, std::uintmax_t>("file", 5));
  CHECK(files["sub"].first == "dir");
  CHECK(files["sub/deeper/x.csv"] == std::pair<std::string, std::uintmax_t>("file", 4));
  CHECK(files["out"].first == "link");
  CHECK(files.count("out/secret") == 0);
  CHECK(files.count("experiment_meta.json") == 1);
  CHECK(files.size() == 6); // meta, notes, sub, sub/deeper, sub/deeper/x.csv, out

  const auto many = archive.root / "exp" / "r2" / "many";
  fs::create_directories(many);
  for (int i = 0; i < 10001; ++i) {
    std::ofstream(many / std::to_string(i));
  }
  const auto listed = body_of(get(api, "/api/v1/files", {{"run", "exp/r2"}}));
  CHECK(listed["truncated"] == true);
  CHECK(listed["files"].size() == 10000);
}

TEST_CASE("ui api: a run file's bytes, typed from a safe list, confined to the run folder") {
  SmallArchive archive;
  const auto r1 = archive.root / "exp" / "r1";
  write(r1 / "images" / "plot.PNG", "\x89PNG");
  write(r1 / "notes.md", "# notes");
  write(r1 / "page.html", "<script>alert(1)</script>");
  write(r1 / "drawing.svg", "<svg/>");
  write(r1 / "weird\"name.bin", "x");
  ui::Api api(archive.root);
  auto response = get(api, "/api/v1/file", {{"run", "exp/r1"}, {"path", "images/plot.PNG"}});
  CHECK(response.status == 200);
  CHECK(response.content_type == "image/png");
  CHECK(response.body == "\x89PNG");
  CHECK_FALSE(response.attachment);
  response = get(api, "/api/v1/file", {{"run", "exp/r1"}, {"path", "notes.md"}});
  CHECK(response.content_type == "text/plain; charset=utf-8");
  CHECK(response.body == "# notes");
  for (const char* name : {"page.html", "drawing.svg"}) {
    response = get(api, "/api/v1/file", {{"run", "exp/r1"}, {"path", name}});
    CHECK(response.status == 200);
    CHECK(response.content_type == "application/octet-stream");
    CHECK(response.attachment == name);
  }
  response = get(api, "/api/v1/file", {{"run", "exp/r1"}, {"path", "weird\"name.bin"}});
  CHECK(response.attachment == "weird_name.bin");

  TempDir outside;
  write(outside.path() / "secret", "not yours");
  fs::create_symlink(outside.path() / "secret", r1 / "link");
  fs::create_directory_symlink(outside.path(), r1 / "dir-link");
  fs::create_symlink("notes.md", r1 / "inner-link");
  fs::create_directory_symlink(r1, archive.root / "exp" / "r1-alias");
  REQUIRE(::mkfifo((r1 / "fifo").c_str(), 0600) == 0);
  for (const std::string& path : std::vector<std::string>{
           "", "/etc/passwd", "../r2/experiment_meta.json", "sub/../../r2/experiment_meta.json",
           "notes.md;", "images\\plot.PNG", std::string("notes.md\0x", 10), "link",
           "dir-link/secret", "inner-link", "fifo"}) {
    CAPTURE(path);
    response = get(api, "/api/v1/file", {{"run", "exp/r1"}, {"path", path}});
    CHECK(response.status == 403);
    CHECK(body_of(response)["error"].is_string());
  }
  CHECK(get(api, "/api/v1/file", {{"run", "exp/r1-alias"}, {"path", "notes.md"}}).status == 403);
  CHECK(get(api, "/api/v1/file", {{"run", "exp/r1"}, {"path", "absent.txt"}}).status == 404);
  CHECK(get(api, "/api/v1/file", {{"run", "exp/r1"}}).status == 400);

  // Sparse: 64 MiB and one byte, taking no room on disk: streamed from the open file.
  const auto large = r1 / "large.bin";
  std::ofstream(large).close();
  fs::resize_file(large, (std::uintmax_t{64} << 20) + 1);
  response = get(api, "/api/v1/file", {{"run", "exp/r1"}, {"path", "large.bin"}});
  CHECK(response.status == 200);
  REQUIRE(response.file);
  CHECK(response.file->valid());
  CHECK(response.file_size == (std::uint64_t{64} << 20) + 1);
  CHECK(response.body.empty());
  CHECK(response.attachment == "large.bin");
}

TEST_CASE("ui api: images as their index lists them") {
  SmallArchive archive;
  ui::Api api(archive.root);
  CHECK(body_of(get(api, "/api/v1/images", {{"run", "exp/r1"}})) ==
        Json({{"images", Json::array()}, {"keys", Json::array()}}));
  write(
      archive.root / "exp" / "r1" / "images" / "index.jsonl",
      R"({"key": "samples", "step": 1, "caption": null, "file": "images/samples/00000.png", "time": 5.5})"
      "\n"
      R"({"key": "masks", "step": null, "caption": "m", "file": "images/masks/00000.png", "time": 6})"
      "\n"
      R"({"key": "samples", "step": 2, "caption": null, "file": "images/samples/00001.png", "time": 7})"
      "\n"
      R"({"key": "samp)");
  const auto body = body_of(get(api, "/api/v1/images", {{"run", "exp/r1"}}));
  CHECK(body["keys"] == Json::array({"samples", "masks"}));
  REQUIRE(body["images"].size() == 3);
  CHECK(body["images"][1]["caption"] == "m");
  CHECK(body["images"][2]["file"] == "images/samples/00001.png");
}

TEST_CASE("ui api: sweeps with each row's status from its run folder") {
  SmallArchive archive;
  const auto folder = archive.root / "exp" / ".sweeps" / "2026-12-02_10-00-00_abcd";
  fs::create_directories(folder);
  xrun::sweep::Manifest manifest;
  manifest.id = folder.filename().string();
  manifest.folder = folder;
  manifest.created = 1234;
  manifest.state = "finished";
  manifest.swept = {"LR"};
  for (int index = 0; index < 3; ++index) {
    xrun::sweep::Row row;
    row.index = index;
    row.parameters = {{"LR", index}};
    // The manifest says running; the run folders say how they ended.
    row.status = index < 2 ? "running" : "pending";
    row.run = index == 0 ? "r1" : index == 1 ? "r2" : "";
    manifest.rows.push_back(row);
  }
  manifest.save();
  ui::Api api(archive.root);

  const auto list = body_of(get(api, "/api/v1/sweeps"));
  REQUIRE(list["sweeps"].size() == 1);
  const auto& item = list["sweeps"][0];
  CHECK(item["sweep"] == "exp/.sweeps/2026-12-02_10-00-00_abcd");
  CHECK(item["id"] == "2026-12-02_10-00-00_abcd");
  CHECK(item["namespace"] == "exp");
  CHECK(item["state"] == "finished");
  CHECK(item["rows"] == 3);
  CHECK(item["counts"] == Json({{"done", 1}, {"failed", 1}, {"pending", 1}}));
  CHECK(item["start_time"] == 1234);

  const auto body =
      body_of(get(api, "/api/v1/sweep", {{"sweep", "exp/.sweeps/2026-12-02_10-00-00_abcd"}}));
  CHECK(body["state"] == "finished");
  CHECK(body["manifest"]["swept"] == Json::array({"LR"}));
  REQUIRE(body["rows"].size() == 3);
  CHECK(body["rows"][0]["status"] == "done");
  CHECK(body["rows"][0]["run"] == "exp/r1");
  CHECK(body["rows"][0]["settings"] == Json({{"LR", 0}}));
  CHECK(body["rows"][1]["status"] == "failed");
  CHECK(body["rows"][2]["run"].is_null());
  CHECK(body["resume"].get<std::string>().starts_with(
      "xrun sweep resume 2026-12-02_10-00-00_abcd --path "));

  CHECK(get(api, "/api/v1/sweep", {{"sweep", "exp/.sweeps/nothing"}}).status == 404);
  CHECK(get(api, "/api/v1/sweep", {{"sweep", "exp/r1"}}).status == 404);
  CHECK(get(api, "/api/v1/sweep", {{"sweep", "exp/.sweeps/../r1"}}).status == 403);
  CHECK(get(api, "/api/v1/sweep").status == 400);
}

TEST_CASE("ui api: unknown paths are 404 JSON, series go to their own functions") {
  SmallArchive archive;
  ui::Api api(archive.root);
  auto response = get(api, "/api/v1/nothing");
  CHECK(response.status == 404);
  CHECK(body_of(response)["error"].is_string());
  CHECK(get(api, "/api/v2/runs").status == 404);
  CHECK(get(api, "/api/v1/series", {{"run", "../x"}}).status == 403);
  CHECK(get(api, "/api/v1/series", {{"run", "exp/absent"}}).status == 404);
}
