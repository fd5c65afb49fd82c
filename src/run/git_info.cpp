#include "run/git_info.hpp"

#include "util/process.hpp"
#include "xrun/error.hpp"

#include <fmt/format.h>
#include <string_view>

namespace xrun::run {

namespace {

std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

} // namespace

GitDiff git_diff_mode(const char* value) {
  const std::string_view text = value ? value : "";
  if (text.empty() || text == "code") {
    return GitDiff::code;
  }
  if (text == "all") {
    return GitDiff::all;
  }
  if (text == "none") {
    return GitDiff::none;
  }
  throw UsageError(fmt::format("XRUN_GIT_DIFF={}: expected code, all or none", text),
                   "code records the changes of the run's own files (the default), all those "
                   "of the whole work tree");
}

std::optional<GitSnapshot> read_git(const std::filesystem::path& file, GitDiff mode) {
  const auto folder = std::filesystem::absolute(file).parent_path();
  // Most experiments outside a repository pay only for this walk, not for starting git.
  if (!util::find_upwards(folder, ".git")) {
    return std::nullopt;
  }
  const auto dir = folder.string();
  const auto head = util::capture_output(
      {"git", "-C", dir, "rev-parse", "HEAD", "--abbrev-ref", "HEAD", "--show-toplevel"});
  if (!head) {
    return std::nullopt; // no git, or a repository without commits
  }
  GitSnapshot snapshot;
  auto rest = *head;
  const auto take_line = [&rest] {
    auto line = first_line(rest);
    rest.erase(0, std::min(rest.size(), line.size() + 1));
    return line;
  };
  snapshot.record.commit = take_line();
  snapshot.record.branch = take_line();
  snapshot.top = take_line();
  const auto status =
      util::capture_output({"git", "-C", dir, "status", "--porcelain", "--untracked-files=no"});
  snapshot.record.dirty = status && !status->empty();
  if (snapshot.record.dirty && mode == GitDiff::all) {
    snapshot.diff = util::capture_output({"git", "-C", dir, "diff", "HEAD"}).value_or("");
  }
  return snapshot;
}

std::string diff_of_files(const GitSnapshot& snapshot,
                          const std::vector<std::filesystem::path>& files) {
  if (!snapshot.record.dirty || snapshot.top.empty()) {
    return {};
  }
  std::error_code error;
  const auto top = std::filesystem::weakly_canonical(snapshot.top, error);
  std::vector<std::string> command{"git",  "-C",   top.string(), "--literal-pathspecs",
                                   "diff", "HEAD", "--"};
  const auto before = command.size();
  for (const auto& file : files) {
    const auto real = std::filesystem::weakly_canonical(std::filesystem::absolute(file), error);
    const auto relative = real.lexically_relative(top);
    if (error || relative.empty() || *relative.begin() == "..") {
      continue; // outside this work tree (a base in another repository)
    }
    command.push_back(relative.string());
  }
  if (command.size() == before) {
    return {};
  }
  return util::capture_output(command).value_or("");
}

} // namespace xrun::run
