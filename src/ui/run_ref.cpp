#include "ui/run_ref.hpp"

#include "sweep/manifest.hpp"
#include "util/fs.hpp"
#include "xrun/meta.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include <vector>

namespace xrun::ui {

namespace {

std::vector<std::string_view> segments(std::string_view id) {
  std::vector<std::string_view> parts;
  for (;;) {
    const auto slash = id.find('/');
    parts.push_back(id.substr(0, slash));
    if (slash == std::string_view::npos) {
      return parts;
    }
    id.remove_prefix(slash + 1);
  }
}

Response refused(int status, std::string_view what, std::string_view id, std::string_view why) {
  const nlohmann::json details = {{std::string(what), std::string(id)}};
  return Response::error(status, fmt::format("{} '{}' {}", what, id, why),
                         details.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

/// Whether `name` inside the folder `at` exists as anything (not followed): what makes a
/// folder a run folder for the archive's scan (a meta that is a link is a corrupt run).
bool exists_at(int at, const char* name) {
  struct stat info {};
  return ::fstatat(at, name, &info, AT_SYMLINK_NOFOLLOW) == 0;
}

/// What a walk down an id may meet besides plain folders.
enum class Walk { run, sweep };

/// Walks down from the root one folder at a time, never following a link: an id names a place
/// inside the archive, and a link there could lead anywhere. Returns the last folder opened,
/// or nullopt with `refusal` set.
std::optional<util::FileDescriptor> open_below(const std::filesystem::path& root,
                                               std::string_view id, Walk walk, Response& refusal) {
  const char* what = walk == Walk::run ? "run" : "sweep";
  if (const auto problem = run_id_problem(id); !problem.empty()) {
    refusal = refused(403, what, id, problem);
    return std::nullopt;
  }
  util::FileDescriptor at(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!at.valid()) {
    refusal = refused(404, what, id, "is not in the archive (its folder cannot be opened)");
    return std::nullopt;
  }
  for (const auto part : segments(id)) {
    const std::string name(part);
    // The archive's scan skips hidden folders and never looks inside a run folder.
    if (walk == Walk::run && name.front() == '.') {
      refusal = refused(404, what, id, "is not a run of the archive (hidden folders hold none)");
      return std::nullopt;
    }
    if (exists_at(at.get(), k_meta_file)) {
      refusal = refused(404, what, id,
                        fmt::format("is not a {} of the archive (it lies inside a run)", what));
      return std::nullopt;
    }
    util::FileDescriptor next(
        ::openat(at.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next.valid()) {
      struct stat info {};
      if (::fstatat(at.get(), name.c_str(), &info, AT_SYMLINK_NOFOLLOW) == 0 &&
          S_ISLNK(info.st_mode)) {
        refusal = refused(403, what, id, fmt::format("goes through the symbolic link {}", name));
      } else {
        refusal = refused(404, what, id, fmt::format("is not a {} of the archive", what));
      }
      return std::nullopt;
    }
    at = std::move(next);
  }
  return at;
}

} // namespace

std::string run_id_problem(std::string_view id) {
  if (id.empty()) {
    return "is empty";
  }
  if (id.front() == '/') {
    return "is an absolute path";
  }
  for (const char c : id) {
    if (c == '\\' || c == '\0' || c == ',' || c == ';') {
      return "holds a character that no id has (\\, NUL, ',' or ';')";
    }
  }
  for (const auto part : segments(id)) {
    if (part.empty() || part == "." || part == "..") {
      return "is not a plain relative path (an empty, '.' or '..' segment)";
    }
  }
  return {};
}

std::optional<std::filesystem::path> resolve_run(const std::filesystem::path& root,
                                                 std::string_view id, Response& refusal) {
  const auto folder = open_below(root, id, Walk::run, refusal);
  if (!folder) {
    return std::nullopt;
  }
  if (!exists_at(folder->get(), k_meta_file)) {
    refusal = refused(404, "run", id, "is not a run of the archive (no experiment_meta.json)");
    return std::nullopt;
  }
  return root / std::string(id);
}

std::optional<std::filesystem::path> resolve_sweep_folder(const std::filesystem::path& root,
                                                          std::string_view id, Response& refusal) {
  const auto parts = run_id_problem(id).empty() ? segments(id) : std::vector<std::string_view>{};
  if (!parts.empty() && (parts.size() < 2 || parts[parts.size() - 2] != sweep::k_sweeps_folder)) {
    refusal = refused(404, "sweep", id, "is not a sweep folder (<namespace>/.sweeps/<id>)");
    return std::nullopt;
  }
  const auto folder = open_below(root, id, Walk::sweep, refusal);
  if (!folder) {
    return std::nullopt;
  }
  if (!exists_at(folder->get(), sweep::k_manifest_file)) {
    refusal = refused(404, "sweep", id, "is not a sweep of the archive (no manifest.json)");
    return std::nullopt;
  }
  return root / std::string(id);
}

} // namespace xrun::ui
