#include "run/git_info.hpp"

#include "util/process.hpp"

namespace xrun::run {

namespace {

std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

} // namespace

std::optional<GitSnapshot> read_git(const std::filesystem::path& file) {
  const auto folder = std::filesystem::absolute(file).parent_path();
  // Most experiments outside a repository pay only for this walk, not for starting git.
  if (!util::find_upwards(folder, ".git")) {
    return std::nullopt;
  }
  const auto dir = folder.string();
  const auto commit = util::capture_output({"git", "-C", dir, "rev-parse", "HEAD"});
  if (!commit) {
    return std::nullopt; // no git, or a repository without commits
  }
  GitSnapshot snapshot;
  snapshot.record.commit = first_line(*commit);
  const auto branch = util::capture_output({"git", "-C", dir, "rev-parse", "--abbrev-ref", "HEAD"});
  snapshot.record.branch = branch ? first_line(*branch) : "";
  const auto status =
      util::capture_output({"git", "-C", dir, "status", "--porcelain", "--untracked-files=no"});
  snapshot.record.dirty = status && !status->empty();
  if (snapshot.record.dirty) {
    snapshot.diff = util::capture_output({"git", "-C", dir, "diff", "HEAD"}).value_or("");
  }
  return snapshot;
}

} // namespace xrun::run
