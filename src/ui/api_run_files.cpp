// `/api/v1/run`, `/log`, `/files`, `/file` and `/images`: what one run folder holds. Every file
// is opened through util::open_regular_file (core/run_files): no symbolic link is followed at
// or below the run folder, nothing but a regular file is read, and sizes are bounded.
#include "archive/runs.hpp"
#include "core/run_files.hpp"
#include "ui/api_handlers.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"
#include "xrun/meta.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <limits>
#include <set>

namespace xrun::ui {

namespace {

using Json = nlohmann::ordered_json;

constexpr std::int64_t k_default_log_page = 65536;
constexpr std::int64_t k_most_log_page = std::int64_t{4} << 20;
constexpr std::size_t k_most_listed_files = 10000;
/// Folders deeper than this are not listed (each level holds a descriptor while listed).
constexpr int k_most_listed_depth = 64;
/// A run file up to this size is answered from memory; a larger one is streamed from the file.
constexpr std::uintmax_t k_most_held_bytes = std::uintmax_t{1} << 20;

/// The answer for a run file that could not be opened: 404 when absent, 413 when too large,
/// 403 when refused (a link, not a regular file, outside the folder, unreadable).
Response file_refusal(std::string_view name, util::FileProblem problem, std::string_view why) {
  const int status = problem == util::FileProblem::missing     ? 404
                     : problem == util::FileProblem::too_large ? 413
                                                               : 403;
  return Response::error(status, fmt::format("{} {}", name, core::run_file_why(problem, why)));
}

/// A JSON run file as written (keys in their order), or null when absent; when it is there but
/// cannot be used, null too and `problems[name]` says why.
Json json_file(const std::filesystem::path& folder, const char* name, Json& problems) {
  const auto read = util::read_regular_file(folder, name, core::k_max_data_bytes);
  if (read.problem == util::FileProblem::missing) {
    return nullptr;
  }
  if (!read.ok()) {
    problems[name] = core::run_file_why(read.problem, read.why);
    return nullptr;
  }
  auto value = core::parse_bounded_json<Json>(read.text);
  if (value.is_discarded()) {
    problems[name] = core::json_problem(read.text);
    return nullptr;
  }
  return value;
}

/// Where a page of a log should end so as not to split a UTF-8 character: before a last
/// sequence that is not complete yet (the next page starts with it), unless that is all there is.
std::size_t whole_characters(std::string_view bytes) {
  for (std::size_t back = 1; back <= std::min<std::size_t>(4, bytes.size()); ++back) {
    const auto byte = static_cast<unsigned char>(bytes[bytes.size() - back]);
    if ((byte & 0xC0) == 0x80) {
      continue; // a continuation byte: its lead is further back
    }
    const std::size_t length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1;
    const bool cut = length > back && back < bytes.size();
    return cut ? bytes.size() - back : bytes.size();
  }
  return bytes.size();
}

} // namespace

Response run_details(const std::filesystem::path& root, const Request& request) {
  Response refusal;
  const auto folder = run_parameter(root, request, refusal);
  if (!folder) {
    return refusal;
  }
  const double now = util::to_epoch_seconds(util::Clock::now());
  auto run = archive::Run::load(*folder);
  Json problems = Json::object();
  Json body = {{"run", std::string(*request.get("run"))},
               {"status", run.status(now)},
               {"problem", run.problem}};
  body["meta"] = json_file(*folder, k_meta_file, problems);
  body["data"] = json_file(*folder, core::k_data_file, problems);
  body["summary"] = json_file(*folder, core::k_summary_file, problems);
  body["params"] = json_file(*folder, core::k_params_file, problems);
  const auto artifacts = json_file(*folder, core::k_artifacts_file, problems);
  const auto listed = artifacts.is_object() ? artifacts.value("artifacts", Json::array()) : Json();
  body["artifacts"] = listed.is_array() ? listed : Json::array();
  body["heartbeat_age"] =
      run.readable() ? Json(std::max(0.0, now - run.summary.heartbeat)) : Json(nullptr);
  const auto log = util::open_regular_file(*folder, core::k_log_file);
  body["log_size"] = log.ok() ? Json(log.size) : Json(nullptr);
  body["file_problems"] = std::move(problems);
  return json_response(body);
}

Response run_log(const std::filesystem::path& root, const Request& request) {
  Response refusal;
  const auto folder = run_parameter(root, request, refusal);
  if (!folder) {
    return refusal;
  }
  const auto limit =
      integer_parameter(request, "limit", k_default_log_page, 0, k_most_log_page, refusal);
  const auto offset =
      integer_parameter(request, "offset", 0, -std::numeric_limits<std::int64_t>::max(),
                        std::numeric_limits<std::int64_t>::max(), refusal);
  if (!limit || !offset) {
    return refusal;
  }
  const auto file = util::open_regular_file(*folder, core::k_log_file);
  if (!file.ok()) {
    return file_refusal(core::k_log_file, file.problem, file.why);
  }
  struct stat info {};
  const auto size =
      ::fstat(file.fd.get(), &info) == 0 ? static_cast<std::uint64_t>(info.st_size) : file.size;
  // A negative offset counts from the end: the page opens on the log's last bytes.
  std::uint64_t start = 0;
  if (*offset < 0) {
    const auto back = static_cast<std::uint64_t>(-*offset);
    start = back >= size ? 0 : size - back;
  } else {
    start = std::min(static_cast<std::uint64_t>(*offset), size);
  }
  auto bytes = util::read_at(file.fd.get(), start,
                             static_cast<std::size_t>(std::min<std::uint64_t>(
                                 static_cast<std::uint64_t>(*limit), size - start)));
  // A page that starts inside a character (an offset counted from the end lands anywhere)
  // begins after it.
  std::size_t skip = 0;
  while (start > 0 && skip < 3 && skip < bytes.size() &&
         (static_cast<unsigned char>(bytes[skip]) & 0xC0) == 0x80) {
    ++skip;
  }
  bytes.erase(0, skip);
  start += skip;
  bytes.resize(whole_characters(bytes));
  return json_response(Json{{"offset", start},
                            {"next", start + bytes.size()},
                            {"size", size},
                            {"text", util::replace_invalid_utf8(bytes)}});
}

namespace {

struct Listing {
  Json files = Json::array();
  bool truncated = false;
};

const char* kind_of(mode_t mode) {
  return S_ISDIR(mode) ? "dir" : S_ISLNK(mode) ? "link" : S_ISREG(mode) ? "file" : "other";
}

/// Lists the folder open as `fd` (its entries named `prefix` + name), depth first, sorted by
/// name, never following a link.
void list_folder(int fd, const std::string& prefix, int depth, Listing& listing) {
  DIR* dir = ::fdopendir(::dup(fd));
  if (!dir) {
    return;
  }
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string_view name = entry->d_name;
    if (name != "." && name != "..") {
      names.emplace_back(name);
    }
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    if (listing.files.size() >= k_most_listed_files) {
      listing.truncated = true;
      return;
    }
    struct stat info {};
    if (::fstatat(fd, name.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0) {
      continue; // gone since it was listed
    }
    const auto path = prefix + name;
    listing.files.push_back({{"path", util::replace_invalid_utf8(path)},
                             {"size", S_ISDIR(info.st_mode) ? 0 : info.st_size},
                             {"kind", kind_of(info.st_mode)}});
    if (!S_ISDIR(info.st_mode)) {
      continue;
    }
    if (depth >= k_most_listed_depth) {
      listing.truncated = true;
      continue;
    }
    const util::FileDescriptor child(
        ::openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (child.valid()) {
      list_folder(child.get(), path + "/", depth + 1, listing);
    }
  }
}

} // namespace

Response run_file_list(const std::filesystem::path& root, const Request& request) {
  Response refusal;
  const auto folder = run_parameter(root, request, refusal);
  if (!folder) {
    return refusal;
  }
  const util::FileDescriptor fd(
      ::open(folder->c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) {
    return Response::error(403,
                           fmt::format("the run folder cannot be read: {}", std::strerror(errno)));
  }
  Listing listing;
  list_folder(fd.get(), "", 0, listing);
  Json body = {{"files", std::move(listing.files)}};
  if (listing.truncated) {
    body["truncated"] = true;
  }
  return json_response(body);
}

namespace {

/// Why a `path=` is refused before anything is opened ("" when it is not).
std::string file_path_problem(std::string_view path) {
  if (path.empty()) {
    return "is empty";
  }
  if (path.front() == '/') {
    return "is absolute";
  }
  if (path.find_first_of(std::string_view("\\;\0", 3)) != std::string_view::npos) {
    return "holds a backslash, ';' or NUL";
  }
  for (const auto& part : util::split(path, '/')) {
    if (part == "..") {
      return "climbs out of the run folder with '..'";
    }
  }
  return {};
}

/// The content type of a served file: a fixed list of types a browser shows safely; nullopt
/// for anything else, which is sent as a download.
std::optional<std::string> safe_content_type(std::string_view path) {
  const auto dot = path.rfind('.');
  if (dot == std::string_view::npos || path.find('/', dot) != std::string_view::npos) {
    return std::nullopt;
  }
  const auto extension = util::lower_case(path.substr(dot + 1));
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 5> k_images{{
      {"png", "image/png"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},
      {"webp", "image/webp"},
  }};
  for (const auto& [known, type] : k_images) {
    if (extension == known) {
      return std::string(type);
    }
  }
  static constexpr std::array<std::string_view, 12> k_texts{
      "txt", "log", "csv", "json", "jsonl", "py", "yaml", "yml", "md", "cfg", "ini", "toml"};
  if (std::find(k_texts.begin(), k_texts.end(), extension) != k_texts.end()) {
    return "text/plain; charset=utf-8";
  }
  return std::nullopt;
}

/// The file name of a download: the path's last part, with anything a header could misread
/// (quotes, backslashes, control and non-ASCII bytes) replaced by '_'.
std::string download_name(std::string_view path) {
  std::string name(path.substr(path.rfind('/') + 1));
  for (auto& c : name) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7F || c == '"' || c == '\\') {
      c = '_';
    }
  }
  return name.empty() ? std::string("file") : name;
}

} // namespace

Response run_file(const std::filesystem::path& root, const Request& request) {
  Response refusal;
  if (!run_parameter(root, request, refusal)) {
    return refusal;
  }
  const auto path = request.get("path");
  if (!path) {
    return Response::error(400, "the path parameter is missing (path=<file in the run folder>)");
  }
  if (const auto problem = file_path_problem(*path); !problem.empty()) {
    return Response::error(403, fmt::format("the path '{}' {}", *path, problem));
  }
  // Opened from the archive root, so that every folder below it, the run folder included, is
  // checked not to be a link in the same walk that opens the file.
  const auto relative = fmt::format("{}/{}", *request.get("run"), *path);
  auto opened = util::open_regular_file(root, relative);
  if (!opened.ok()) {
    return file_refusal(*path, opened.problem, opened.why);
  }
  Response response;
  if (opened.size <= k_most_held_bytes) {
    response.body = util::read_at(opened.fd.get(), 0, static_cast<std::size_t>(opened.size));
  } else {
    response.file = std::make_shared<util::FileDescriptor>(std::move(opened.fd));
    response.file_size = opened.size;
  }
  if (auto type = safe_content_type(*path)) {
    response.content_type = std::move(*type);
  } else {
    response.content_type = "application/octet-stream";
    response.attachment = download_name(*path);
  }
  return response;
}

Response run_images(const std::filesystem::path& root, const Request& request) {
  Response refusal;
  const auto folder = run_parameter(root, request, refusal);
  if (!folder) {
    return refusal;
  }
  Json images = Json::array();
  Json keys = Json::array();
  const auto read = util::read_regular_file(*folder, core::k_image_index, core::k_max_data_bytes);
  if (read.problem != util::FileProblem::missing && !read.ok()) {
    return file_refusal(core::k_image_index, read.problem, read.why);
  }
  std::set<std::string> seen;
  for (const auto& line : util::split(read.text, '\n')) {
    auto record = core::parse_bounded_json<Json>(line);
    if (!record.is_object() || !record.contains("key")) {
      continue; // empty, cut short by a kill, or edited
    }
    const auto& key = record["key"];
    const auto name = key.is_string() ? key.get<std::string>() : key.dump();
    if (seen.insert(name).second) {
      keys.push_back(name);
    }
    images.push_back(std::move(record));
  }
  return json_response(Json{{"images", std::move(images)}, {"keys", std::move(keys)}});
}

} // namespace xrun::ui
