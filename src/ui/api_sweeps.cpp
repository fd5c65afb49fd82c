// `/api/v1/sweeps` and `/api/v1/sweep`: sweeps as `xrun sweep list` and `xrun sweep status`
// show them, each row's status taken from its run folder (sweep::reconcile, through
// slurm::observe for sweeps on Slurm).
#include "sweep/manifest.hpp"
#include "sweep/slurm.hpp"
#include "ui/api_handlers.hpp"
#include "ui/run_ref.hpp"
#include "xrun/error.hpp"

#include <fmt/format.h>
#include <map>

namespace xrun::ui {

namespace {

using Json = nlohmann::ordered_json;

/// The id of a sweep folder found under `root`: its path relative to the root.
std::string relative_id(const std::filesystem::path& root, const std::filesystem::path& folder) {
  return folder.lexically_relative(root).generic_string();
}

/// The run id of a row's run: the namespace's folder relative to the root, then the run's name.
Json run_id(const std::string& sweep_id, const sweep::Row& row) {
  if (row.run.empty()) {
    return nullptr;
  }
  const auto namespace_id = std::filesystem::path(sweep_id).parent_path().parent_path();
  return namespace_id.empty() ? row.run : (namespace_id / row.run).generic_string();
}

/// `text` as one word of a POSIX shell command line (single-quoted when it must be).
std::string shell_word(const std::string& text) {
  const bool plain =
      !text.empty() && text.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                              "0123456789_-./=+:,@") == std::string::npos;
  if (plain) {
    return text;
  }
  std::string quoted = "'";
  for (const char c : text) {
    quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return quoted + "'";
}

Json status_counts(const sweep::Manifest& manifest) {
  std::map<std::string, int> counts;
  for (const auto& row : manifest.rows) {
    ++counts[row.status];
  }
  Json json = Json::object();
  for (const auto& [status, count] : counts) {
    json[status] = count;
  }
  return json;
}

} // namespace

Response sweep_list(const std::filesystem::path& root) {
  Json sweeps = Json::array();
  for (const auto& folder : sweep::find_manifests(root)) {
    const auto id = relative_id(root, folder);
    Response refusal;
    if (!resolve_sweep_folder(root, id, refusal)) {
      continue; // reached through a link, or gone since it was found
    }
    const auto namespace_id = std::filesystem::path(id).parent_path().parent_path();
    Json item = {{"sweep", id},
                 {"id", folder.filename().string()},
                 {"namespace", namespace_id.generic_string()}};
    try {
      auto manifest = sweep::Manifest::load(folder);
      sweep::slurm::observe(manifest);
      item["state"] = sweep::shown_state(manifest);
      item["rows"] = manifest.rows.size();
      item["counts"] = status_counts(manifest);
      item["start_time"] = manifest.created;
    } catch (const Error& error) {
      item["state"] = "damaged";
      item["problem"] = error.what();
    }
    sweeps.push_back(std::move(item));
  }
  return json_response(Json{{"sweeps", std::move(sweeps)}});
}

Response sweep_details(const std::filesystem::path& root, const Request& request) {
  const auto id = request.get("sweep");
  if (!id) {
    return Response::error(400, "the sweep parameter is missing (sweep=<namespace>/.sweeps/<id>)");
  }
  Response refusal;
  const auto folder = resolve_sweep_folder(root, *id, refusal);
  if (!folder) {
    return refusal;
  }
  auto manifest = sweep::Manifest::load(*folder);
  const auto unreachable = sweep::slurm::observe(manifest);
  Json rows = Json::array();
  for (const auto& row : manifest.rows) {
    Json item = {{"index", row.index},
                 {"status", row.status},
                 {"run", run_id(std::string(*id), row)},
                 {"settings", row.parameters},
                 {"run_hash", row.run_hash},
                 {"exit_code", row.exit_code ? Json(*row.exit_code) : Json(nullptr)},
                 {"note", row.note}};
    if (!row.job.empty()) {
      item["job"] = row.job;
    }
    rows.push_back(std::move(item));
  }
  Json shown = {{"id", manifest.id},
                {"created", manifest.created},
                {"host", manifest.host},
                {"pid", manifest.pid},
                {"working_directory", manifest.working_directory},
                {"command_line", manifest.command_line},
                {"swept", manifest.swept},
                {"launcher", manifest.launcher.value("type", "local")}};
  if (manifest.on_slurm()) {
    Json jobs = Json::array();
    for (const auto& submission : manifest.launcher.value("submissions", nlohmann::json::array())) {
      jobs.push_back(submission.value("job_id", ""));
    }
    shown["jobs"] = std::move(jobs);
  }
  Json body = {{"sweep", std::string(*id)},
               {"state", sweep::shown_state(manifest)},
               {"manifest", std::move(shown)},
               {"counts", status_counts(manifest)},
               {"rows", std::move(rows)},
               {"resume", fmt::format("xrun sweep resume {} --path {}", shell_word(manifest.id),
                                      shell_word(root.string()))}};
  if (!unreachable.empty()) {
    body["note"] = unreachable;
  }
  return json_response(body);
}

} // namespace xrun::ui
