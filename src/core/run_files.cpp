#include "core/run_files.hpp"

#include "xrun/error.hpp"

#include <fmt/format.h>

namespace xrun::core {

std::string run_file_why(util::FileProblem problem, std::string_view why) {
  switch (problem) {
  case util::FileProblem::link:
    return fmt::format("{}, which archive commands never follow", why);
  case util::FileProblem::too_large:
    return fmt::format("{}, more than archive commands read of it", why);
  default:
    return std::string(why);
  }
}

std::string run_file_problem(const std::filesystem::path& folder, std::string_view name,
                             util::FileProblem problem, std::string_view why) {
  return fmt::format("{} {}", (folder / name).string(), run_file_why(problem, why));
}

std::optional<std::string> read_run_file(const std::filesystem::path& folder,
                                         std::string_view name, std::uintmax_t max_size) {
  auto read = util::read_regular_file(folder, name, max_size);
  if (read.problem == util::FileProblem::missing) {
    return std::nullopt;
  }
  if (!read.ok()) {
    throw ArchiveError(run_file_problem(folder, name, read.problem, read.why));
  }
  return std::move(read.text);
}

util::RegularFile open_run_file(const std::filesystem::path& folder, std::string_view name) {
  auto file = util::open_regular_file(folder, name);
  if (!file.ok()) {
    throw ArchiveError(run_file_problem(folder, name, file.problem, file.why));
  }
  return file;
}

std::string json_problem(std::string_view text) {
  if (util::json_nesting_beyond(text, k_max_json_depth)) {
    return fmt::format("is nested deeper than {} levels", k_max_json_depth);
  }
  return nlohmann::json::accept(text) ? std::string() : std::string("is not valid JSON");
}

std::optional<nlohmann::json> read_data_values(const std::filesystem::path& folder,
                                               std::string& problem) {
  return read_json_values(folder, k_data_file, problem);
}

std::optional<nlohmann::json> read_json_values(const std::filesystem::path& folder,
                                               std::string_view name, std::string& problem) {
  problem.clear();
  auto read = util::read_regular_file(folder, name, k_max_data_bytes);
  if (read.problem == util::FileProblem::missing) {
    return std::nullopt;
  }
  if (!read.ok()) {
    problem = run_file_why(read.problem, read.why);
    return nlohmann::json();
  }
  auto values = parse_bounded_json<nlohmann::json>(read.text);
  if (values.is_discarded()) {
    problem = json_problem(read.text);
    return nlohmann::json();
  }
  return values;
}

} // namespace xrun::core
