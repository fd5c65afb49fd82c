#include "run/supervision.hpp"

#include "core/atomic_file.hpp"
#include "core/run_hash.hpp"
#include "run/python_packages.hpp"
#include "util/fs.hpp"
#include "util/host.hpp"
#include "util/time.hpp"
#include "xrun/error.hpp"
#include "xrun/run_analysis_template.hpp"
#include "xrun/version.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <system_error>
#include <unistd.h>

namespace xrun::run {

namespace {

/// The recorded command line keeps no secret: the value of a plugin setting that the plugins'
/// records hold as secret (`--plugin NAME:SETTING=VALUE`, or `--plugin=NAME:...`) is replaced
/// by what the record holds instead.
void redact_plugin_settings(std::vector<std::string>& words, const Json& plugins) {
  std::vector<std::pair<std::string, std::string>> secret; // "NAME:SETTING=", shown value
  for (const auto& plugin : plugins) {
    const auto settings = plugin.value("settings", Json::object());
    for (const auto& name : plugin.value("secret_settings", Json::array())) {
      if (!name.is_string() || !settings.contains(name.get<std::string>())) {
        continue;
      }
      const auto& shown = settings[name.get<std::string>()];
      secret.emplace_back(fmt::format("{}:{}=", plugin.value("name", ""), name.get<std::string>()),
                          shown.is_string() ? shown.get<std::string>() : shown.dump());
    }
  }
  for (std::size_t i = 0; i < words.size() && !secret.empty(); ++i) {
    std::size_t start = 0;
    if (words[i] == "--plugin" && i + 1 < words.size()) {
      ++i;
    } else if (words[i].starts_with("--plugin=")) {
      start = std::string_view("--plugin=").size();
    } else {
      continue;
    }
    for (const auto& [prefix, shown] : secret) {
      if (std::string_view(words[i]).substr(start).starts_with(prefix)) {
        words[i] = words[i].substr(0, start + prefix.size()) + shown;
      }
    }
  }
}

} // namespace

/// Creates the run folder out of sight, writes the run's start into it (meta, code copies,
/// analysis.py, config, git diff, log) and gives it its name: the reply to the experiment's
/// "prepare". Bad input (a prefix, a namespace, a live debug run) is replied as an error for
/// the experiment to report; a folder that cannot be created or written is the supervisor's
/// to report (m_start_error), and the reply tells the experiment not to start. Either way,
/// everything this attempt created is removed.
protocol::PrepareReply Supervision::start_run(const protocol::PrepareRequest& message) {
  if (m_folder || !m_start_error.empty()) {
    return protocol::PrepareReply::refused("the run folder was already created");
  }
  const RunNaming naming{.prefix = message.prefix, .debug = message.debug};
  std::optional<StagedRunFolder> staged;
  try {
    const std::filesystem::path base = message.base_path;
    check_prefix(naming.prefix); // before any folder is made
    const auto ns_dir = ensure_namespace(base, message.namespace_name, &m_created_dirs);
    staged = stage_run_folder(ns_dir, naming);
    record_start(message, *staged);
    m_folder = publish_run_folder(
        *staged, naming, [&](const RunFolder& run) { rewrite_start_meta(staged->staging, run); });
    m_phase = Phase::running;
    m_log.renamed(m_folder->path / "experiment_out.log");
  } catch (const Error& error) {
    undo_start(staged);
    if (error.kind() == ErrorKind::usage || error.kind() == ErrorKind::config) {
      return protocol::PrepareReply::refused(error.what());
    }
    m_start_error = error.what();
    return protocol::PrepareReply::unrecordable(m_start_error);
  } catch (const std::exception& error) {
    undo_start(staged);
    m_start_error = error.what();
    return protocol::PrepareReply::unrecordable(m_start_error);
  }
  return protocol::PrepareReply::created(m_folder->path.string(), m_folder->id,
                                         util::to_epoch_seconds(m_folder->created));
}

/// Removes what a start that failed created: the staged folder and the namespace folders.
void Supervision::undo_start(const std::optional<StagedRunFolder>& staged) {
  m_log.close();
  m_start_files.clear();
  std::error_code ignored;
  if (staged) {
    std::filesystem::remove_all(staged->staging, ignored);
  }
  // Deepest first; one that another run put something into meanwhile stays.
  for (auto it = m_created_dirs.rbegin(); it != m_created_dirs.rend(); ++it) {
    std::filesystem::remove(*it, ignored);
  }
  m_created_dirs.clear();
}

/// The staged meta again, for the id drawn after another run took the first one.
void Supervision::rewrite_start_meta(const std::filesystem::path& staging, const RunFolder& run) {
  m_meta.id = run.id;
  m_meta.start_time = util::to_epoch_seconds(run.created);
  const auto file = staging / k_meta_file;
  std::filesystem::remove(file);
  util::write_new_file(file, serialize_meta(m_meta));
}

/// Makes the start of the run durable: its files, its folder and the folder's name.
void Supervision::sync_start() {
  try {
    for (const auto& name : m_start_files) {
      util::fsync_file(m_folder->path / name);
    }
    util::fsync_directory(m_folder->path);
    util::fsync_directory(m_folder->path.parent_path());
  } catch (const std::system_error& error) {
    throw ArchiveError(error.what());
  }
}

/// The name a base or mixin file gets in the run folder: its own, so that the archived code
/// finds it as the original did; numbered when two files share a name.
std::string Supervision::copy_name(const std::string& source) {
  const auto name = std::filesystem::path(source).filename().string();
  std::string candidate = name;
  for (int n = 2; std::any_of(m_meta.dependencies.begin(), m_meta.dependencies.end(),
                              [&](const FileCopy& copy) { return copy.copy == candidate; }) ||
                  candidate == "experiment_code.py" || candidate == "analysis.py" ||
                  candidate == "experiment_config.yml";
       ++n) {
    candidate = fmt::format("{}_{}", n, name);
  }
  return candidate;
}

/// Writes the run's start into its staged folder: the meta, the code and the log.
void Supervision::record_start(const protocol::PrepareRequest& message,
                               const StagedRunFolder& staged) {
  describe_start(message, staged);
  archive_start(message, staged.staging);
}

/// The meta of the run's start, from the experiment's "prepare" message.
void Supervision::describe_start(const protocol::PrepareRequest& message,
                                 const StagedRunFolder& staged) {
  const std::filesystem::path base = message.base_path;
  m_meta.id = staged.run.id;
  m_meta.name = message.name;
  m_meta.namespace_name = message.namespace_name;
  m_meta.base_path = std::filesystem::absolute(base).lexically_normal().string();
  // Empty for a script without a file (python3 -c, a notebook) that started its run.
  m_meta.experiment_path =
      m_request.file.empty()
          ? ""
          : std::filesystem::absolute(m_request.file).lexically_normal().string();
  if (!m_request.config.empty()) {
    m_meta.config_path = std::filesystem::absolute(m_request.config).lexically_normal().string();
  }
  m_meta.description = message.description;
  m_meta.short_description = message.short_description;
  m_meta.status = RunStatus::running;
  m_meta.start_time = util::to_epoch_seconds(staged.run.created);
  m_meta.heartbeat = util::to_epoch_seconds(util::Clock::now());
  m_meta.host = util::host_name();
  m_meta.pid = ::getpid();
  // With host and pid, what tells whether the supervisor lives: a container with this host
  // name but its own pid namespace has other processes under the same pids.
  if (const auto pids = util::pid_namespace(); !pids.empty()) {
    m_meta.extra["pid_namespace"] = pids;
  }
  m_meta.xrun_version = k_version;
  m_meta.python_version = message.python_version;
  m_meta.python_executable = message.python_executable;
  m_meta.command_line = m_request.command_line;
  redact_plugin_settings(m_meta.command_line, message.plugins);
  if (m_request.meta_extra.is_object()) {
    for (const auto& [key, value] : m_request.meta_extra.items()) {
      m_meta.extra[key] = value;
    }
  }
  // A function run's record, and the sweep or batch an in-process run belongs to: fields the
  // experiment process knows (protocol::k_meta_extra_keys limits which).
  const auto ordered = [](const nlohmann::json& value) {
    return nlohmann::ordered_json::parse(value.dump());
  };
  if (message.function.is_object()) {
    m_meta.extra["function"] = ordered(message.function);
  }
  if (message.meta_extra.is_object()) {
    for (const auto& [key, value] : message.meta_extra.items()) {
      m_meta.extra[key] = ordered(value);
    }
  }
  m_meta.working_directory = std::filesystem::current_path().string();
  m_meta.parameters = message.parameters;
  m_meta.hooks = message.hooks;
  if (message.plugins.is_array() && !message.plugins.empty()) {
    m_meta.extra["plugins"] = message.plugins;
  }
  if (message.sys_path) {
    // Listed here, while the experiment already runs: the run does not wait for it.
    const std::vector<std::filesystem::path> folders(message.sys_path->begin(),
                                                     message.sys_path->end());
    auto& packages = m_meta.extra["packages"] = nlohmann::ordered_json::object();
    for (auto& [name, version] : installed_packages(folders)) {
      packages[name] = std::move(version);
    }
  }
}

/// The code of the run (the module and the files of its chain), its run hash, git diff and
/// the files of its start, written into the run folder `folder` while it is still hidden.
void Supervision::archive_start(const protocol::PrepareRequest& message,
                                const std::filesystem::path& folder) {
  std::vector<std::filesystem::path> code_files;
  if (!m_request.file.empty()) {
    code_files.push_back(m_request.file);
  }
  for (const auto& source : message.dependencies) {
    m_meta.dependencies.push_back({source, copy_name(source)});
    code_files.emplace_back(source);
  }
  std::string diff;
  if (auto git = m_git.valid() ? m_git.get() : std::nullopt) {
    diff = m_git_diff == GitDiff::code ? diff_of_files(*git, code_files) : git->diff;
    if (!diff.empty()) {
      git->record.diff_file = "git_diff.patch";
    }
    m_meta.git = git->record;
  }
  // The code as archived: the module and the files of its chain, read once.
  std::vector<std::string> contents;
  std::vector<core::CodeFile> code{{"experiment_code.py", m_code}};
  for (const auto& copy : m_meta.dependencies) {
    auto content = util::read_file(copy.source);
    if (!content) {
      throw ArchiveError(fmt::format("{} disappeared before it could be archived", copy.source));
    }
    const std::filesystem::path source = copy.source;
    if (source.extension() == ".py") {
      code.push_back({source.filename().string(), *content});
    }
    contents.push_back(std::move(*content));
  }
  auto hash = core::run_hash(m_meta.parameters, code);
  m_meta.run_hash = std::move(hash.hash);
  m_meta.extra["run_hash_inputs"] = std::move(hash.inputs);
  // The folder is not visible yet: its files need no temp files, only checked writes (synced
  // once the experiment is on its way: sync_start).
  const auto write = [&](const std::string& name, std::string_view content) {
    util::write_new_file(folder / name, content);
    m_start_files.push_back(name);
  };
  try {
    write(k_meta_file, serialize_meta(m_meta));
    write("experiment_code.py", m_code);
    for (std::size_t i = 0; i < contents.size(); ++i) {
      write(m_meta.dependencies[i].copy, contents[i]);
    }
    write("analysis.py", k_run_analysis_template);
    if (m_request.resolved_config) {
      write("experiment_config.yml", m_request.resolved_config(message));
    }
    if (!diff.empty()) {
      write(m_meta.git->diff_file, diff);
    }
  } catch (const std::system_error& error) {
    throw ArchiveError(error.what());
  }
  m_log.open(folder / "experiment_out.log");
  m_start_files.push_back("experiment_out.log");
}

} // namespace xrun::run
