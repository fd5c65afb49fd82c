#include "ui/run_ref.hpp"

#include "util/fs.hpp"
#include "xrun/meta.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include <cerrno>
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

Response refused(int status, std::string_view id, std::string_view why) {
  const nlohmann::json details = {{"run", std::string(id)}};
  return Response::error(status, fmt::format("run '{}' {}", id, why),
                         details.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

/// Whether `name` inside the folder `at` exists as anything (not followed): what makes a
/// folder a run folder for the archive's scan (a meta that is a link is a corrupt run).
bool exists_at(int at, const char* name) {
  struct stat info {};
  return ::fstatat(at, name, &info, AT_SYMLINK_NOFOLLOW) == 0;
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
      return "holds a character that no run id has (\\, NUL, ',' or ';')";
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
  if (const auto problem = run_id_problem(id); !problem.empty()) {
    refusal = refused(403, id, problem);
    return std::nullopt;
  }
  // Walk down from the root one folder at a time, never following a link: a run id names a
  // place inside the archive, and a link there could lead anywhere.
  util::FileDescriptor at(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!at.valid()) {
    refusal = refused(404, id, "is not in the archive (its folder cannot be opened)");
    return std::nullopt;
  }
  const auto parts = segments(id);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string name(parts[i]);
    if (name.front() == '.') {
      refusal = refused(404, id, "is not a run of the archive (hidden folders are not searched)");
      return std::nullopt;
    }
    if (i > 0 && exists_at(at.get(), k_meta_file)) {
      refusal = refused(404, id, "is not a run of the archive (it lies inside another run)");
      return std::nullopt;
    }
    util::FileDescriptor next(
        ::openat(at.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next.valid()) {
      struct stat info {};
      if (::fstatat(at.get(), name.c_str(), &info, AT_SYMLINK_NOFOLLOW) == 0 &&
          S_ISLNK(info.st_mode)) {
        refusal = refused(403, id, fmt::format("goes through the symbolic link {}", name));
      } else {
        refusal = refused(404, id, "is not a run of the archive");
      }
      return std::nullopt;
    }
    at = std::move(next);
  }
  if (!exists_at(at.get(), k_meta_file)) {
    refusal = refused(404, id, "is not a run of the archive (no experiment_meta.json)");
    return std::nullopt;
  }
  return root / std::string(id);
}

} // namespace xrun::ui
