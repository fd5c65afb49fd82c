#include "xrun/meta.hpp"

#include "core/atomic_file.hpp"
#include "core/run_files.hpp"
#include "util/enum_names.hpp"
#include "util/json_depth.hpp"
#include "xrun/error.hpp"

#include <algorithm>
#include <climits>
#include <fmt/format.h>
#include <initializer_list>

namespace xrun {

namespace {

using Json = nlohmann::ordered_json;

constexpr util::NameTable<ValueSource, 4> k_sources{{
    {ValueSource::default_value, "default"},
    {ValueSource::base, "base"},
    {ValueSource::config, "config"},
    {ValueSource::cli, "cli"},
}};

template <class T> struct FieldType;
template <> struct FieldType<std::string> {
  static bool fits(const Json& value) { return value.is_string(); }
  static constexpr std::string_view expected = "a string";
};
template <> struct FieldType<double> {
  static bool fits(const Json& value) { return value.is_number(); }
  static constexpr std::string_view expected = "a number";
};
template <> struct FieldType<long> {
  static bool fits(const Json& value) { return value.is_number_integer(); }
  static constexpr std::string_view expected = "an integer";
};
template <> struct FieldType<int> {
  static bool fits(const Json& value) {
    return value.is_number_integer() && value.get<long long>() >= INT_MIN &&
           value.get<long long>() <= INT_MAX;
  }
  static constexpr std::string_view expected = "an integer";
};
template <> struct FieldType<bool> {
  static bool fits(const Json& value) { return value.is_boolean(); }
  static constexpr std::string_view expected = "true or false";
};

/// Reads the fields of one JSON object, checking each known field's type, and collects the
/// fields it was not asked for into `extra`.
class ObjectReader {
public:
  ObjectReader(const Json& object, const std::filesystem::path& file, std::string where)
      : m_object(object), m_file(file), m_where(std::move(where)) {
    if (!object.is_object()) {
      fail(m_where.empty() ? "the top level" : m_where, "an object", object);
    }
  }

  /// Reads a string, number, integer or bool field; a field of another JSON type is an error.
  template <class T> void read(const char* key, T& out) {
    if (const Json* value = find(key)) {
      check(key, FieldType<T>::fits(*value), FieldType<T>::expected, *value);
      out = value->get<T>();
    }
  }
  template <class T> void read(const char* key, std::optional<T>& out) {
    if (find(key)) {
      T value{};
      read(key, value);
      out = value;
    }
  }
  void read(const char* key, std::vector<std::string>& out) {
    if (const Json* value = find(key)) {
      check(key, value->is_array(), "a list of strings", *value);
      out.clear();
      for (const auto& item : *value) {
        check(key, item.is_string(), "a list of strings", item);
        out.push_back(item.get<std::string>());
      }
    }
  }
  void read(const char* key, Json& out) {
    if (const Json* value = find(key)) {
      out = *value;
    }
  }

  /// The object under `key`, for a nested reader; nullptr when absent or null.
  const Json* object(const char* key) {
    const Json* value = find(key);
    if (value) {
      check(key, value->is_object(), "an object", *value);
    }
    return value;
  }

  std::string path(std::string_view key) const {
    return m_where.empty() ? std::string(key) : fmt::format("{}.{}", m_where, key);
  }

  [[noreturn]] void fail(std::string_view field, std::string_view expected,
                         const Json& found) const {
    throw ArchiveError(fmt::format("{}: field '{}' must be {}, found {}", m_file.string(), field,
                                   expected, found.type_name()));
  }

  Json unknown_fields() const {
    Json extra = Json::object();
    for (const auto& [key, value] : m_object.items()) {
      if (std::find(m_known.begin(), m_known.end(), key) == m_known.end()) {
        extra[key] = value;
      }
    }
    return extra;
  }

private:
  const Json* find(const char* key) {
    m_known.emplace_back(key);
    const auto it = m_object.find(key);
    if (it == m_object.end() || it->is_null()) {
      return nullptr;
    }
    return &*it;
  }

  void check(const char* key, bool ok, std::string_view expected, const Json& found) const {
    if (!ok) {
      fail(path(key), expected, found);
    }
  }

  const Json& m_object;
  const std::filesystem::path& m_file;
  std::string m_where;
  std::vector<std::string> m_known;
};

ParameterRecord parse_parameter(const std::string& key, const Json& object,
                                const std::filesystem::path& file) {
  ObjectReader reader(object, file, "parameters." + key);
  ParameterRecord parameter;
  parameter.name = key;
  reader.read("name", parameter.name);
  reader.read("type", parameter.type);
  reader.read("description", parameter.description);
  reader.read("value", parameter.value);
  reader.read("usable", parameter.usable);
  std::string source = "default";
  reader.read("source", source);
  const auto parsed = parse_value_source(source);
  if (!parsed) {
    throw ArchiveError(fmt::format("{}: field '{}' has unknown value source '{}'", file.string(),
                                   reader.path("source"), source));
  }
  parameter.source = *parsed;
  reader.read("source_file", parameter.source_file);
  parameter.extra = reader.unknown_fields();
  return parameter;
}

HookRecord parse_hook(const std::string& key, const Json& object,
                      const std::filesystem::path& file) {
  ObjectReader reader(object, file, "hooks." + key);
  HookRecord hook;
  hook.name = key;
  reader.read("name", hook.name);
  reader.read("description", hook.description);
  reader.read("count", hook.count);
  hook.extra = reader.unknown_fields();
  return hook;
}

GitRecord parse_git(const Json& object, const std::filesystem::path& file) {
  ObjectReader reader(object, file, "git");
  GitRecord git;
  reader.read("commit", git.commit);
  reader.read("branch", git.branch);
  reader.read("dirty", git.dirty);
  reader.read("diff_file", git.diff_file);
  git.extra = reader.unknown_fields();
  return git;
}

template <class T> Json or_null(const std::optional<T>& value) {
  return value ? Json(*value) : Json(nullptr);
}

void append_extra(Json& object, const Json& extra) {
  for (const auto& [key, value] : extra.items()) {
    if (!object.contains(key)) {
      object[key] = value;
    }
  }
}

} // namespace

std::string_view to_string(ValueSource source) noexcept {
  return util::name_of(k_sources, source, "default");
}

std::optional<ValueSource> parse_value_source(std::string_view name) noexcept {
  return util::value_of(k_sources, name);
}

nlohmann::json plain_json(const nlohmann::ordered_json& value) {
  switch (value.type()) {
  case Json::value_t::object: {
    nlohmann::json object = nlohmann::json::object();
    for (const auto& [key, item] : value.items()) {
      object[key] = plain_json(item);
    }
    return object;
  }
  case Json::value_t::array: {
    nlohmann::json array = nlohmann::json::array();
    for (const auto& item : value) {
      array.push_back(plain_json(item));
    }
    return array;
  }
  case Json::value_t::string:
    return value.get<std::string>();
  case Json::value_t::boolean:
    return value.get<bool>();
  case Json::value_t::number_integer:
    return value.get<std::int64_t>();
  case Json::value_t::number_unsigned:
    return value.get<std::uint64_t>();
  case Json::value_t::number_float:
    return value.get<double>();
  default:
    return nullptr;
  }
}

nlohmann::ordered_json ParameterRecord::shown_value() const {
  if (value.is_null()) {
    if (const auto exact = extra.find("exact"); exact != extra.end() && exact->is_string()) {
      return *exact;
    }
  }
  return value;
}

const ParameterRecord* RunMeta::parameter(std::string_view wanted) const {
  for (const auto& parameter : parameters) {
    if (parameter.name == wanted) {
      return &parameter;
    }
  }
  return nullptr;
}

RunMeta parse_meta(std::string_view text, const std::filesystem::path& file) {
  // nlohmann reports a byte offset; a line and column is what an editor can jump to.
  const auto fail_at = [&](std::size_t byte, std::string_view what) {
    const auto offset = std::min(byte, text.size());
    const auto before = text.substr(0, offset == 0 ? 0 : offset - 1);
    const auto line = std::count(before.begin(), before.end(), '\n') + 1;
    const auto line_start = before.rfind('\n');
    const auto column = before.size() - (line_start == std::string_view::npos ? 0 : line_start + 1) + 1;
    throw ArchiveError(fmt::format("{}:{}:{}: corrupt run metadata ({})", file.string(), line,
                                   column, what),
                       "the run folder may have been edited by hand or copied incompletely");
  };
  if (const auto deep = util::json_nesting_beyond(text, core::k_max_json_depth)) {
    fail_at(*deep + 1, fmt::format("nested deeper than {} levels", core::k_max_json_depth));
  }
  Json root;
  try {
    root = Json::parse(text);
  } catch (const Json::parse_error& error) {
    fail_at(error.byte, "not valid JSON");
  } catch (const Json::out_of_range&) {
    // A number beyond a double (1e400): valid JSON that nlohmann reports without a position.
    throw ArchiveError(
        fmt::format("{}: corrupt run metadata (a number too large for a double)", file.string()),
        "the run folder may have been edited by hand or copied incompletely");
  }

  ObjectReader reader(root, file, "");
  RunMeta meta;
  reader.read("format", meta.format);
  reader.read("id", meta.id);
  reader.read("name", meta.name);
  reader.read("namespace", meta.namespace_name);
  reader.read("base_path", meta.base_path);
  reader.read("experiment_path", meta.experiment_path);
  reader.read("config_path", meta.config_path);
  reader.read("description", meta.description);
  reader.read("short_description", meta.short_description);

  std::string status = "running";
  reader.read("status", status);
  const auto parsed_status = parse_status(status);
  if (!parsed_status) {
    throw ArchiveError(fmt::format("{}: field 'status' has unknown value '{}'", file.string(),
                                   status));
  }
  meta.status = *parsed_status;
  reader.read("start_time", meta.start_time);
  reader.read("end_time", meta.end_time);
  reader.read("duration", meta.duration);
  reader.read("heartbeat", meta.heartbeat);
  reader.read("exit_code", meta.exit_code);
  reader.read("signal", meta.signal);
  reader.read("error_type", meta.error_type);
  reader.read("error_message", meta.error_message);

  reader.read("host", meta.host);
  reader.read("pid", meta.pid);
  reader.read("xrun_version", meta.xrun_version);
  reader.read("python_version", meta.python_version);
  reader.read("python_executable", meta.python_executable);
  reader.read("command_line", meta.command_line);
  reader.read("working_directory", meta.working_directory);

  if (const Json* parameters = reader.object("parameters")) {
    for (const auto& [key, value] : parameters->items()) {
      meta.parameters.push_back(parse_parameter(key, value, file));
    }
  }
  if (const Json* hooks = reader.object("hooks")) {
    for (const auto& [key, value] : hooks->items()) {
      meta.hooks.push_back(parse_hook(key, value, file));
    }
  }
  reader.read("tracked", meta.tracked);
  Json dependencies = Json::array();
  reader.read("dependencies", dependencies);
  if (!dependencies.is_array()) {
    reader.fail("dependencies", "a list", dependencies);
  }
  for (const auto& item : dependencies) {
    ObjectReader entry(item, file, "dependencies[]");
    FileCopy copy;
    entry.read("source", copy.source);
    entry.read("copy", copy.copy);
    meta.dependencies.push_back(std::move(copy));
  }
  reader.read("run_hash", meta.run_hash);
  if (const Json* git = reader.object("git")) {
    meta.git = parse_git(*git, file);
  }
  meta.extra = reader.unknown_fields();
  return meta;
}

std::string serialize_meta(const RunMeta& meta) {
  Json root = Json::object();
  root["format"] = meta.format;
  root["id"] = meta.id;
  root["name"] = meta.name;
  root["namespace"] = meta.namespace_name;
  root["base_path"] = meta.base_path;
  root["experiment_path"] = meta.experiment_path;
  root["config_path"] = meta.config_path;
  root["description"] = meta.description;
  root["short_description"] = meta.short_description;
  root["status"] = to_string(meta.status);
  root["start_time"] = meta.start_time;
  root["end_time"] = or_null(meta.end_time);
  root["duration"] = meta.duration;
  root["heartbeat"] = meta.heartbeat;
  root["exit_code"] = or_null(meta.exit_code);
  root["signal"] = or_null(meta.signal);
  root["error_type"] = meta.error_type;
  root["error_message"] = meta.error_message;
  root["host"] = meta.host;
  root["pid"] = meta.pid;
  root["xrun_version"] = meta.xrun_version;
  root["python_version"] = meta.python_version;
  root["python_executable"] = meta.python_executable;
  root["command_line"] = meta.command_line;
  root["working_directory"] = meta.working_directory;

  Json parameters = Json::object();
  for (const auto& parameter : meta.parameters) {
    Json record = {{"name", parameter.name},
                   {"type", parameter.type},
                   {"description", parameter.description},
                   {"value", parameter.value},
                   {"usable", parameter.usable},
                   {"source", to_string(parameter.source)}};
    if (!parameter.source_file.empty()) {
      record["source_file"] = parameter.source_file;
    }
    append_extra(record, parameter.extra);
    parameters[parameter.name] = std::move(record);
  }
  root["parameters"] = std::move(parameters);

  Json hooks = Json::object();
  for (const auto& hook : meta.hooks) {
    Json record = {{"name", hook.name}, {"description", hook.description}, {"count", hook.count}};
    append_extra(record, hook.extra);
    hooks[hook.name] = std::move(record);
  }
  root["hooks"] = std::move(hooks);
  root["tracked"] = meta.tracked;
  Json dependencies = Json::array();
  for (const auto& copy : meta.dependencies) {
    dependencies.push_back({{"source", copy.source}, {"copy", copy.copy}});
  }
  root["dependencies"] = std::move(dependencies);
  root["run_hash"] = meta.run_hash;
  if (meta.git) {
    Json git = {{"commit", meta.git->commit},
                {"branch", meta.git->branch},
                {"dirty", meta.git->dirty},
                {"diff_file", meta.git->diff_file}};
    append_extra(git, meta.git->extra);
    root["git"] = std::move(git);
  } else {
    root["git"] = nullptr;
  }
  append_extra(root, meta.extra);
  // Invalid UTF-8 from a stray byte in a description must not make the run unwritable.
  return root.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

RunMeta read_meta(const std::filesystem::path& run_folder) {
  const auto file = run_folder / k_meta_file;
  const auto text = core::read_run_file(run_folder, k_meta_file, core::k_max_text_bytes);
  if (!text) {
    throw ArchiveError(fmt::format("{} is not a run folder: it has no {}", run_folder.string(),
                                   k_meta_file));
  }
  return parse_meta(*text, file);
}

void write_meta(const std::filesystem::path& run_folder, const RunMeta& meta) {
  core::write_file_atomic(run_folder / k_meta_file, serialize_meta(meta));
}

} // namespace xrun
