#include "archive/sdk_content.hpp"

#include "archive/inspect.hpp"
#include "archive/runs.hpp"
#include "core/diagnostics.hpp"
#include "core/run_files.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"
#include "util/table.hpp"
#include "xrun/error.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <fmt/format.h>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sys/stat.h>
#include <vector>

namespace xrun::archive {

namespace {

using Json = nlohmann::json;

constexpr const char* k_store = ".xrun";

/// The object of a JSON run file, or nullopt when there is none; a file that cannot be used
/// is named under `section`.
std::optional<Json> sdk_object(const std::filesystem::path& folder, const char* name,
                               std::ostream& out, const char* section) {
  std::string problem;
  auto values = core::read_json_values(folder, name, problem);
  if (!values) {
    return std::nullopt;
  }
  if (!problem.empty() || !values->is_object()) {
    out << fmt::format("\n{}\n  ({} {})\n", section, name,
                       problem.empty() ? "is not a JSON object" : problem);
    return std::nullopt;
  }
  return values;
}

/// A value of a run file as `show` prints it: a string as it is, escaped where it holds
/// control characters (a run folder is untrusted: nothing of it reaches the terminal as a
/// command), anything else as short JSON.
std::string text_of(const Json& value) {
  return value.is_string() ? util::printable(value.get<std::string>()) : short_json(value);
}

void show_summary(const std::filesystem::path& folder, std::ostream& out) {
  const auto file = sdk_object(folder, core::k_summary_file, out, "summary");
  if (!file) {
    return;
  }
  out << "\nsummary\n";
  util::Table table({}, "  ");
  if (const auto primary = file->find("primary_metric");
      primary != file->end() && primary->is_object()) {
    table.add_row({"primary metric", fmt::format("{} ({}): best {} at step {}",
                                                 text_of(primary->value("name", Json())),
                                                 text_of(primary->value("mode", Json())),
                                                 short_json(primary->value("best", Json())),
                                                 short_json(primary->value("step", Json())))});
  }
  if (const auto values = file->find("summary"); values != file->end() && values->is_object()) {
    for (const auto& [key, value] : values->items()) {
      table.add_row({util::printable(key), short_json(value)});
    }
  }
  out << table.render();
}

void show_logged_parameters(const std::filesystem::path& folder, std::ostream& out) {
  const auto values = sdk_object(folder, core::k_params_file, out, "logged parameters");
  if (!values || values->empty()) {
    return;
  }
  out << "\nlogged parameters\n";
  util::Table table({}, "  ");
  for (const auto& [key, value] : values->items()) {
    table.add_row({util::printable(key), short_json(value)});
  }
  out << table.render();
}

/// Each image key with its count, and the step and file of its last image.
void show_images(const std::filesystem::path& folder, std::ostream& out) {
  auto read = util::read_regular_file(folder, core::k_image_index, core::k_max_data_bytes);
  if (read.problem == util::FileProblem::missing) {
    return;
  }
  out << "\nimages\n";
  if (!read.ok()) {
    out << fmt::format("  ({} {})\n", core::k_image_index,
                       core::run_file_why(read.problem, read.why));
    return;
  }
  struct Key {
    std::size_t count = 0;
    Json last;
  };
  std::map<std::string, Key> keys;
  std::size_t unreadable = 0;
  for (const auto& line : util::split(read.text, '\n')) {
    if (line.empty()) {
      continue;
    }
    auto record = core::parse_bounded_json<Json>(line);
    if (!record.is_object() || !record.contains("key")) {
      ++unreadable; // a line cut short by a kill, or edited
      continue;
    }
    auto& key = keys[text_of(record["key"])];
    ++key.count;
    key.last = std::move(record);
  }
  util::Table table({}, "  ");
  for (const auto& [name, key] : keys) {
    const auto step = key.last.value("step", Json());
    table.add_row({name, fmt::format("{} image{}", key.count, key.count == 1 ? "" : "s"),
                   fmt::format("last: {}  {}",
                               step.is_null() ? "no step" : "step " + short_json(step),
                               text_of(key.last.value("file", Json())))});
  }
  out << table.render();
  if (unreadable > 0) {
    out << fmt::format("  ({} line{} of {} could not be read)\n", unreadable,
                       unreadable == 1 ? "" : "s", core::k_image_index);
  }
}

void show_artifacts(const std::filesystem::path& folder, std::ostream& out) {
  const auto file = sdk_object(folder, core::k_artifacts_file, out, "artifacts");
  if (!file) {
    return;
  }
  const auto list = file->value("artifacts", Json::array());
  out << "\nartifacts\n";
  util::Table table({}, "  ");
  for (const auto& item : list.is_array() ? list : Json::array()) {
    if (!item.is_object()) {
      continue;
    }
    const auto sha = text_of(item.value("sha256", Json()));
    table.add_row({fmt::format("{}:v{}", text_of(item.value("name", Json())),
                               short_json(item.value("version", Json()))),
                   text_of(item.value("kind", Json(""))),
                   fmt::format("{} bytes", short_json(item.value("size", Json()))),
                   sha.substr(0, 12), text_of(item.value("file", Json()))});
  }
  out << table.render();
}

/// An artifact name: letters, digits, '.', '_', '-' (as the SDK allows).
bool valid_name(std::string_view name) {
  return !name.empty() && name != "." && name != ".." &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
         });
}

/// N of a version file `v<N>.json`, else nullopt.
std::optional<long> version_of(std::string_view entry) {
  if (entry.size() < 7 || entry.front() != 'v' || !entry.ends_with(".json") || entry[1] == '0') {
    return std::nullopt;
  }
  const auto digits = entry.substr(1, entry.size() - 6);
  long number = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
  if (error != std::errc() || end != digits.data() + digits.size()) {
    return std::nullopt;
  }
  return number;
}

/// The linked file of artifact `name` (version `version`, else the highest; the latest save
/// among equal versions) as the runs under `root` list it in their artifacts.json: runs
/// extracted from another archive bring these, not that archive's registry. A file the
/// manifest names is opened only inside its run, never through a link.
std::optional<std::filesystem::path> artifact_in_runs(const std::filesystem::path& root,
                                                      std::string_view name,
                                                      std::optional<long> version) {
  std::optional<std::filesystem::path> best;
  std::pair<long, double> best_key{0, 0};
  for (const auto& run : find_runs(root)) {
    const auto read =
        util::read_regular_file(run.folder(), core::k_artifacts_file, core::k_max_data_bytes);
    const auto manifest = read.ok() ? core::parse_bounded_json<Json>(read.text) : Json();
    const auto list = manifest.is_object() ? manifest.value("artifacts", Json()) : Json();
    for (const auto& item : list.is_array() ? list : Json::array()) {
      if (!item.is_object() || item.value("name", Json()) != Json(name) ||
          !item.value("version", Json()).is_number_integer() ||
          !item.value("file", Json()).is_string()) {
        continue;
      }
      const auto number = item["version"].get<long>();
      const auto stamp = item.value("time", Json());
      const std::pair<long, double> key{number, stamp.is_number() ? stamp.get<double>() : 0.0};
      if ((version && number != *version) || (best && key <= best_key)) {
        continue;
      }
      const auto file = item["file"].get<std::string>();
      if (file.find('\0') == std::string::npos &&
          util::open_regular_file(run.folder(), file).ok()) {
        best = run.folder() / file;
        best_key = key;
      }
    }
  }
  return best;
}

/// The blobs the registry's artifact versions name (`.xrun/artifacts/<name>/v<N>.json`).
std::set<std::string> registry_digests(const std::filesystem::path& root) {
  std::set<std::string> named;
  std::error_code error;
  for (std::filesystem::recursive_directory_iterator it(root / k_store / "artifacts", error), end;
       !error && it != end; it.increment(error)) {
    if (!version_of(it->path().filename().string())) {
      continue;
    }
    const auto read = util::read_regular_file(
        it->path().parent_path(), it->path().filename().string(), core::k_max_text_bytes);
    const auto record = read.ok() ? core::parse_bounded_json<Json>(read.text) : Json();
    if (record.is_object() && record.value("sha256", Json()).is_string()) {
      named.insert(record["sha256"].get<std::string>());
    }
  }
  return named;
}

} // namespace

int collect_blobs(const std::filesystem::path& root, bool dry_run, std::ostream& out) {
  if (!std::filesystem::is_directory(root)) {
    throw ArchiveError(fmt::format("{} is not a folder", root.string()));
  }
  const auto named = registry_digests(root);
  const auto recent = std::chrono::system_clock::now() - std::chrono::hours(1);
  std::size_t removed = 0;
  std::size_t kept = 0;
  std::uintmax_t freed = 0;
  std::error_code error;
  for (std::filesystem::recursive_directory_iterator it(root / k_store / "blobs", error), end;
       !error && it != end; it.increment(error)) {
    const auto name = it->path().filename().string();
    struct stat info {};
    if (name.size() != 64 || name.find_first_not_of("0123456789abcdef") != std::string::npos ||
        ::lstat(it->path().c_str(), &info) != 0 || !S_ISREG(info.st_mode)) {
      continue; // a folder, or a file being stored
    }
    if (info.st_nlink > 1 || named.contains(name) ||
        std::chrono::system_clock::from_time_t(info.st_mtime) > recent) {
      ++kept;
      continue;
    }
    if (dry_run) {
      out << fmt::format("would remove {}\n", it->path().string());
    } else if (std::error_code failed; !std::filesystem::remove(it->path(), failed)) {
      core::print_warning(
          fmt::format("cannot remove {}: {}", it->path().string(), failed.message()));
      continue;
    }
    ++removed;
    freed += static_cast<std::uintmax_t>(info.st_size);
  }
  out << fmt::format("{} {} ({}) that no run links nor artifact version names; {} kept\n",
                     dry_run ? "would remove" : "removed", util::count_of(removed, "blob"),
                     util::format_bytes(static_cast<double>(freed)), util::count_of(kept, "blob"));
  return 0;
}

std::optional<std::string> sdk_values_text(const std::filesystem::path& folder, const char* name) {
  auto read = util::read_regular_file(folder, name, k_max_indexed_data);
  if (read.ok()) {
    return std::move(read.text);
  }
  return read.problem == util::FileProblem::missing ? std::optional<std::string>("") : std::nullopt;
}

const Json& Run::sdk_file(std::optional<Json>& cache, const char* name,
                          std::optional<std::string>& text) {
  if (!cache) {
    std::string unusable;
    std::optional<Json> values;
    if (text) { // as the index keeps it
      values = text->empty() ? std::optional<Json>() : core::parse_bounded_json<Json>(*text);
      if (values && values->is_discarded()) {
        unusable = core::json_problem(*text);
      }
    } else {
      values = core::read_json_values(folder(), name, unusable);
    }
    if (!unusable.empty()) {
      core::print_warning(
          fmt::format("{} {}; its values are left out", (folder() / name).string(), unusable));
    }
    cache = values && values->is_object() ? std::move(*values) : Json::object();
  }
  return *cache;
}

void show_sdk_content(const std::filesystem::path& folder, std::ostream& out) {
  show_summary(folder, out);
  show_logged_parameters(folder, out);
  show_images(folder, out);
  show_artifacts(folder, out);
}

std::filesystem::path artifact_blob(const std::filesystem::path& root, std::string_view spec) {
  const auto colon = spec.find(':');
  const auto name = spec.substr(0, colon);
  const auto wanted = colon == std::string_view::npos ? "latest" : spec.substr(colon + 1);
  if (!valid_name(name)) {
    throw UsageError(fmt::format("an artifact is NAME, NAME:latest or NAME:v3 (a name of letters, "
                                 "digits, '.', '_', '-'), not {}",
                                 spec));
  }
  std::optional<long> version;
  if (wanted != "latest") {
    version =
        version_of(fmt::format("v{}.json", wanted.starts_with('v') ? wanted.substr(1) : wanted));
    if (!version) {
      throw UsageError(fmt::format("an artifact version is 'latest' or like 'v3', not {}", wanted));
    }
  }
  const auto relative = fmt::format("{}/artifacts/{}", k_store, name);
  std::vector<long> versions;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(root / relative, error)) {
    if (const auto number = version_of(entry.path().filename().string());
        number && (!version || *number == *version)) {
      versions.push_back(*number);
    }
  }
  if (versions.empty()) { // a name the registry lacks: what the run folders recorded
    if (auto file = artifact_in_runs(root, name, version)) {
      return *file;
    }
  }
  std::sort(versions.rbegin(), versions.rend());
  for (const auto number : versions) {
    const auto read = util::read_regular_file(root, fmt::format("{}/v{}.json", relative, number),
                                              core::k_max_text_bytes);
    const auto record = read.ok() ? core::parse_bounded_json<Json>(read.text) : Json();
    const auto sha = record.is_object() ? record.value("sha256", Json()) : Json();
    if (!sha.is_string() || sha.get<std::string>().size() != 64 ||
        sha.get<std::string>().find_first_not_of("0123456789abcdef") != std::string::npos) {
      continue; // reserved by a run still storing it, or damaged
    }
    const auto digest = sha.get<std::string>();
    const auto blob = fmt::format("{}/blobs/{}/{}", k_store, digest.substr(0, 2), digest);
    if (const auto file = util::open_regular_file(root, blob); !file.ok()) {
      throw ArchiveError(fmt::format("{}:v{}: its stored file {} {}", name, number,
                                     (root / blob).string(),
                                     core::run_file_why(file.problem, file.why)));
    }
    return root / blob;
  }
  throw ArchiveError(fmt::format("{} has no artifact {}", root.string(), spec),
                     "xrun archive show RUN lists a run's artifacts");
}

} // namespace xrun::archive
