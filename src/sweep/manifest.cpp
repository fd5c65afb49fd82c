#include "sweep/manifest.hpp"

#include "archive/runs.hpp"
#include "core/atomic_file.hpp"
#include "core/run_files.hpp"
#include "util/fs.hpp"
#include "util/host.hpp"
#include "util/time.hpp"
#include "xrun/error.hpp"
#include "xrun/meta.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <fmt/format.h>
#include <map>

namespace xrun::sweep {

namespace {

using Json = nlohmann::ordered_json;

} // namespace

void Manifest::save() const {
  Json rows_json = Json::array();
  for (const auto& row : rows) {
    Json item = {{"index", row.index},
                 {"parameters", row.parameters},
                 {"run_hash", row.run_hash},
                 {"run", row.run.empty() ? Json() : Json(row.run)},
                 {"status", row.status}};
    if (row.exit_code) {
      item["exit_code"] = *row.exit_code;
    }
    if (!row.job.empty()) {
      item["job"] = row.job;
    }
    item["settings"] = Json::parse(row.settings.dump());
    rows_json.push_back(std::move(item));
  }
  const Json root = {{"format", 1},
                     {"id", id},
                     {"created", created},
                     {"state", state},
                     {"host", host},
                     {"pid", pid},
                     {"pid_namespace", pid_namespace},
                     {"pid_time", pid_time},
                     {"working_directory", working_directory},
                     {"command_line", command_line},
                     {"swept", swept},
                     {"request", Json::parse(request.dump())},
                     {"launcher", Json::parse(launcher.dump())},
                     {"variations", std::move(rows_json)}};
  core::write_file_atomic(folder / k_manifest_file, root.dump(2) + "\n");
}

Manifest Manifest::load(const std::filesystem::path& folder) {
  const auto file = folder / k_manifest_file;
  const auto text = core::read_run_file(folder, k_manifest_file, core::k_max_text_bytes);
  if (!text) {
    throw ArchiveError(fmt::format("cannot read {}", file.string()));
  }
  // Ordered: parameters as swept.
  const auto root = core::parse_bounded_json<Json>(*text);
  if (!root.is_object() || !root.contains("variations")) {
    throw ArchiveError(fmt::format("{} is not a sweep manifest", file.string()));
  }
  Manifest manifest;
  // `results/x/.sweeps/ID/` (as a shell completes it) is the folder ID.
  auto normal = std::filesystem::absolute(folder).lexically_normal();
  if (normal.filename().empty()) {
    normal = normal.parent_path();
  }
  manifest.folder = normal;
  manifest.namespace_dir = normal.parent_path().parent_path();
  try {
    manifest.id = root.value("id", folder.filename().string());
    manifest.created = root.value("created", 0.0);
    manifest.state = root.value("state", "running");
    manifest.host = root.value("host", "");
    manifest.pid = root.value("pid", 0L);
    manifest.pid_namespace = root.value("pid_namespace", "");
    manifest.pid_time = root.value("pid_time", 0.0);
    manifest.working_directory = root.value("working_directory", "");
    manifest.command_line = root.value("command_line", std::vector<std::string>{});
    manifest.swept = root.value("swept", std::vector<std::string>{});
    manifest.request = nlohmann::json::parse(root.value("request", Json::object()).dump());
    if (root.contains("launcher") && root["launcher"].is_object()) {
      manifest.launcher = nlohmann::json::parse(root["launcher"].dump());
    }
    for (const auto& item : root.at("variations")) {
      Row row;
      row.index = item.value("index", 0);
      row.parameters = item.value("parameters", Json::object());
      row.settings = nlohmann::json::parse(item.value("settings", Json::array()).dump());
      row.run_hash = item.value("run_hash", "");
      row.run =
          item.value("run", nlohmann::json()).is_string() ? item["run"].get<std::string>() : "";
      row.status = item.value("status", "pending");
      if (item.contains("exit_code") && item["exit_code"].is_number_integer()) {
        row.exit_code = item["exit_code"].get<int>();
      }
      row.job = item.value("job", "");
      manifest.rows.push_back(std::move(row));
    }
  } catch (const Json::exception& error) {
    throw ArchiveError(fmt::format("{} is damaged: {}", file.string(), error.what()));
  }
  return manifest;
}

bool sweep_process_alive(const Manifest& manifest) {
  return manifest.pid > 0 &&
         archive::liveness_here({manifest.host, manifest.pid, manifest.pid_namespace,
                                 manifest.pid_time}) != archive::Liveness::gone;
}

std::string shown_state(const Manifest& manifest) {
  return manifest.state == "running" && manifest.pid > 0 && !sweep_process_alive(manifest)
             ? "lost"
             : manifest.state;
}

namespace {

/// A run in the namespace that names a sweep's row.
struct RunOfRow {
  double start = 0;
  std::string folder;
  std::string job; // the Slurm array job that ran it, if one did
  int attempt = 0; // Slurm's restart count of the task that ran it
};

/// The runs in the namespace that name this sweep, by row index.
std::map<int, std::vector<RunOfRow>> runs_of(const Manifest& manifest) {
  std::map<int, std::vector<RunOfRow>> found;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(manifest.namespace_dir, error)) {
    const auto name = entry.path().filename().string();
    if (name.starts_with(".") || !entry.is_directory(error)) {
      continue;
    }
    try {
      const auto meta = read_meta(entry.path());
      const auto sweep = meta.extra.find("sweep");
      if (sweep == meta.extra.end() || !sweep->is_object() ||
          sweep->value("id", "") != manifest.id) {
        continue;
      }
      auto slurm = sweep->value("slurm", Json::object());
      if (!slurm.is_object()) {
        slurm = Json::object();
      }
      int attempt = 0;
      try {
        attempt = std::stoi(slurm.value("restarts", "0"));
      } catch (const std::exception&) {
      }
      found[sweep->value("index", -1)].push_back(
          {meta.start_time, name, slurm.value("array_job_id", ""), attempt});
    } catch (const Error&) {
    }
  }
  return found;
}

/// The latest of `runs` that `job` ran (any, for an empty `job`).
const RunOfRow* latest_run(const std::vector<RunOfRow>& runs, const std::string& job) {
  const RunOfRow* latest = nullptr;
  for (const auto& run : runs) {
    if ((job.empty() || run.job == job) && (!latest || run.start >= latest->start)) {
      latest = &run;
    }
  }
  return latest;
}

} // namespace

void reconcile(Manifest& manifest) {
  const double now = util::to_epoch_seconds(util::Clock::now());
  const bool alive = sweep_process_alive(manifest);
  std::optional<std::map<int, std::vector<RunOfRow>>> found;
  const auto runs_for = [&](const Row& row) -> const std::vector<RunOfRow>& {
    static const std::vector<RunOfRow> none;
    if (!found) {
      found = runs_of(manifest);
    }
    const auto it = found->find(row.index);
    return it == found->end() ? none : it->second;
  };
  for (auto& row : manifest.rows) {
    row.note.clear();
    if (row.status == "skipped") {
      continue;
    }
    if (!row.job.empty()) {
      // Submitted to Slurm: its tasks write run folders, never the manifest.
      const auto* run = latest_run(runs_for(row), row.job);
      row.run = run ? run->folder : "";
      row.attempt = run ? run->attempt : 0;
    } else if (row.run.empty() && row.status == "running") {
      if (const auto* run = latest_run(runs_for(row), "")) {
        row.run = run->folder;
      } else if (!alive) {
        row.status = "lost";
        row.note = "its worker died before the run had a folder";
      }
    }
    if (row.run.empty()) {
      continue;
    }
    try {
      const auto meta = read_meta(manifest.namespace_dir / row.run);
      row.status = std::string(to_string(meta.status));
      if (const auto summary = archive::RunSummary::of(meta); archive::is_lost(summary, now)) {
        row.status = "lost";
        row.note = archive::liveness_here(summary.supervisor()) == archive::Liveness::gone
                       ? "its supervisor is gone"
                       : fmt::format("its supervisor stopped {:.0f} s ago", now - meta.heartbeat);
      }
      if (meta.exit_code) {
        row.exit_code = meta.exit_code;
      }
      if (const auto by = meta.extra.find("interrupted_by");
          meta.status == RunStatus::interrupted && by != meta.extra.end() && by->is_object()) {
        row.note = by->value("reason", "");
      } else if (meta.status == RunStatus::failed || meta.status == RunStatus::killed) {
        row.note = meta.error_type;
      }
    } catch (const Error&) {
      row.status = "lost"; // the folder is gone or unreadable
      row.note = "its run folder is gone or unreadable";
    }
  }
}

std::vector<std::filesystem::path> find_manifests(const std::filesystem::path& root) {
  std::vector<std::filesystem::path> found;
  std::error_code error;
  for (std::filesystem::recursive_directory_iterator it(root, error), end; !error && it != end;
       it.increment(error)) {
    if (!it->is_directory(error)) {
      continue;
    }
    const auto& path = it->path();
    if (std::filesystem::exists(path / k_meta_file, error)) {
      it.disable_recursion_pending(); // a run folder: no sweeps inside
    } else if (path.filename() == k_sweeps_folder) {
      for (const auto& sweep : std::filesystem::directory_iterator(path, error)) {
        if (std::filesystem::exists(sweep.path() / k_manifest_file, error)) {
          found.push_back(sweep.path());
        }
      }
      it.disable_recursion_pending();
    }
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return a.filename() < b.filename(); // ids sort by time
  });
  return found;
}

std::filesystem::path resolve_sweep(const std::filesystem::path& root, const std::string& id) {
  std::error_code error;
  if (std::filesystem::exists(std::filesystem::path(id) / k_manifest_file, error)) {
    return id;
  }
  std::vector<std::filesystem::path> matches;
  for (const auto& folder : find_manifests(root)) {
    if (folder.filename().string().find(id) != std::string::npos) {
      matches.push_back(folder);
    }
  }
  if (matches.size() == 1) {
    return matches.front();
  }
  if (matches.empty()) {
    throw UsageError(fmt::format("no sweep {} under {}", id, root.string()),
                     "`xrun sweep list --path DIR` shows the sweeps of an archive");
  }
  std::string names;
  for (const auto& match : matches) {
    names += "\n  " + match.filename().string();
  }
  throw UsageError(fmt::format("{} sweeps match {}:{}", matches.size(), id, names),
                   "give more of the id");
}

} // namespace xrun::sweep
