#include "core/protocol.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <iterator>
#include <utility>

namespace xrun::core::protocol {

namespace {

using Json = nlohmann::json;

Json with_header(std::string_view type, Json body) {
  body["type"] = type;
  body["protocol"] = k_protocol_version;
  return body;
}

nlohmann::ordered_json ordered(const Json& value) {
  return nlohmann::ordered_json::parse(value.dump());
}

Json plain(const nlohmann::ordered_json& value) {
  return Json::parse(value.dump());
}

std::vector<std::string> strings(const Json& json, const char* key) {
  std::vector<std::string> result;
  for (const auto& item : json.value(key, Json::array())) {
    result.push_back(item.get<std::string>());
  }
  return result;
}

/// The items of a JSON list, each read by `read` (nothing for a value that is no list).
template <typename Read>
auto list_of(const Json& list, Read read) {
  std::vector<decltype(read(list))> result;
  if (list.is_array()) {
    for (const auto& item : list) {
      result.push_back(read(item));
    }
  }
  return result;
}

/// A JSON list of `items`, each written by `write`.
template <typename T, typename Write>
Json list_json(const std::vector<T>& items, Write write) {
  Json list = Json::array();
  for (const auto& item : items) {
    list.push_back(write(item));
  }
  return list;
}

std::vector<Setting> settings_of(const Json& list) {
  return list_of(list, [](const Json& item) { return Setting::from_json(item); });
}

Json settings_json(const std::vector<Setting>& settings) {
  return list_json(settings, [](const Setting& setting) { return setting.to_json(); });
}

std::vector<PluginChoice> choices_of(const Json& list) {
  return list_of(list, [](const Json& item) { return PluginChoice::from_json(item); });
}

Json choices_json(const std::vector<PluginChoice>& choices) {
  return list_json(choices, [](const PluginChoice& choice) { return choice.to_json(); });
}

std::vector<HookRecord> hooks_of(const Json& list) {
  return list_of(list, [](const Json& item) { return hook_from_json(item); });
}

/// The object at `key` of `json`, or null when it is absent or null. Throws ProtocolError for
/// a value of another kind.
Json optional_object(const Json& json, const char* key) {
  const auto found = json.find(key);
  if (found == json.end() || found->is_null()) {
    return Json();
  }
  if (!found->is_object()) {
    throw ProtocolError(fmt::format(
        "the \"prepare\" message of the experiment process has a \"{}\" that is not an object",
        key));
  }
  return *found;
}

Json hooks_json(const std::vector<HookRecord>& hooks) {
  return list_json(hooks, [](const HookRecord& hook) { return protocol::to_json(hook); });
}

} // namespace

void check_version(const Json& message, std::string_view what) {
  const auto version = message.find("protocol");
  if (version != message.end() && version->is_number_integer() &&
      version->get<int>() == k_protocol_version) {
    return;
  }
  const auto given = version == message.end() ? std::string("no protocol version")
                                              : fmt::format("protocol version {}", version->dump());
  throw ProtocolError(fmt::format("{} of the experiment process has {}, this xrun speaks version "
                                  "{}: the xrun Python package it runs is not this xrun's",
                                  what, given, k_protocol_version));
}

ParameterRecord parameter_from_json(const Json& record) {
  ParameterRecord parameter;
  parameter.name = record.value("name", "");
  parameter.type = record.value("type", "");
  parameter.description = record.value("description", "");
  parameter.value = ordered(record.value("value", Json()));
  parameter.usable = record.value("usable", true);
  parameter.source =
      parse_value_source(record.value("source", "default")).value_or(ValueSource::default_value);
  parameter.source_file = record.value("source_file", "");
  if (const auto exact = record.find("exact"); exact != record.end()) {
    parameter.extra["exact"] = ordered(*exact); // the value JSON cannot hold exactly
  }
  return parameter;
}

Json to_json(const ParameterRecord& parameter) {
  Json record = {{"name", parameter.name},
                 {"type", parameter.type},
                 {"description", parameter.description},
                 {"value", plain(parameter.value)},
                 {"usable", parameter.usable},
                 {"source", to_string(parameter.source)}};
  if (!parameter.source_file.empty()) {
    record["source_file"] = parameter.source_file;
  }
  if (const auto exact = parameter.extra.find("exact"); exact != parameter.extra.end()) {
    record["exact"] = plain(*exact);
  }
  return record;
}

Json stated_value(const ParameterRecord& parameter) {
  if (const auto exact = parameter.extra.find("exact");
      exact != parameter.extra.end() && exact->is_string()) {
    return exact->get<std::string>();
  }
  return plain(parameter.value);
}

HookRecord hook_from_json(const Json& record) {
  return {record.value("name", ""), record.value("description", ""), record.value("count", 0),
          nlohmann::ordered_json::object()};
}

Json to_json(const HookRecord& hook) {
  return {{"name", hook.name}, {"description", hook.description}, {"count", hook.count}};
}

Json Setting::to_json() const {
  Json entry = {{"name", name}, {"value", value},   {"file", file},
                {"line", line}, {"column", column}, {"source", source}};
  if (text) {
    entry["text"] = *text;
  }
  if (unset) {
    entry["unset"] = *unset;
  }
  return entry;
}

Setting Setting::from_json(const Json& json) {
  Setting setting;
  setting.name = json.value("name", "");
  setting.value = json.value("value", Json());
  if (const auto text = json.find("text"); text != json.end() && text->is_string()) {
    setting.text = text->get<std::string>();
  }
  if (const auto unset = json.find("unset"); unset != json.end() && unset->is_string()) {
    setting.unset = unset->get<std::string>();
  }
  setting.file = json.value("file", "");
  setting.line = json.value("line", 0);
  setting.column = json.value("column", 0);
  setting.source = json.value("source", "config");
  return setting;
}

Json PluginChoice::to_json() const {
  return {{"name", name}, {"enabled", enabled}, {"settings", settings}, {"where", where}};
}

PluginChoice PluginChoice::from_json(const Json& json) {
  PluginChoice choice;
  choice.name = json.value("name", "");
  choice.enabled = json.value("enabled", true);
  choice.settings = json.value("settings", Json::object());
  choice.where = json.value("where", "");
  return choice;
}

Json InvocationConfig::to_json() const {
  return {{"experiment", experiment},
          {"function", function},
          {"files", files},
          {"name", name},
          {"description", description},
          {"base_path", base_path},
          {"namespace", namespace_name},
          {"parameters", settings_json(parameters)},
          {"include", include},
          {"plugins", choices_json(plugins)}};
}

InvocationConfig InvocationConfig::from_json(const Json& json) {
  InvocationConfig config;
  config.experiment = json.value("experiment", "");
  config.function = json.value("function", "");
  config.files = strings(json, "files");
  config.name = json.value("name", "");
  config.description = json.value("description", "");
  config.base_path = json.value("base_path", "");
  config.namespace_name = json.value("namespace", "");
  config.parameters = settings_of(json.value("parameters", Json::array()));
  config.include = strings(json, "include");
  config.plugins = choices_of(json.value("plugins", Json::array()));
  return config;
}

Json Invocation::to_json() const {
  Json all = Json::array();
  for (const auto& settings : variations) {
    all.push_back(settings_json(settings));
  }
  return {{"protocol", k_protocol_version},
          {"mode", mode},
          {"file", file},
          {"function", function},
          {"args", args},
          {"config", config ? config->to_json() : Json()},
          {"plugins", choices_json(plugins)},
          {"plugin_folder", plugin_folder},
          {"plugin_cache", plugin_cache},
          {"json", json},
          {"variation", settings_json(variation)},
          {"variations", all},
          {"cache", cache ? Json(*cache) : Json()},
          {"rerun", rerun}};
}

Invocation Invocation::from_json(const Json& json) {
  check_version(json, "the invocation");
  Invocation invocation;
  invocation.mode = json.value("mode", "");
  invocation.file = json.value("file", "");
  invocation.function = json.value("function", "");
  invocation.args = strings(json, "args");
  if (const auto config = json.find("config"); config != json.end() && config->is_object()) {
    invocation.config = InvocationConfig::from_json(*config);
  }
  invocation.plugins = choices_of(json.value("plugins", Json::array()));
  invocation.plugin_folder = json.value("plugin_folder", "");
  invocation.plugin_cache = json.value("plugin_cache", "");
  invocation.json = json.value("json", false);
  invocation.variation = settings_of(json.value("variation", Json::array()));
  for (const auto& settings : json.value("variations", Json::array())) {
    invocation.variations.push_back(settings_of(settings));
  }
  if (const auto cache = json.find("cache"); cache != json.end() && cache->is_boolean()) {
    invocation.cache = cache->get<bool>();
  }
  invocation.rerun = json.value("rerun", false);
  return invocation;
}

Json PrepareRequest::to_json() const {
  Json records = Json::array();
  for (const auto& parameter : parameters) {
    records.push_back(protocol::to_json(parameter));
  }
  Json message = {{"base_path", base_path},
                  {"namespace", namespace_name},
                  {"prefix", prefix},
                  {"debug", debug},
                  {"name", name},
                  {"python_version", python_version},
                  {"python_executable", python_executable},
                  {"description", description},
                  {"short_description", short_description},
                  {"parameters", records},
                  {"hooks", hooks_json(hooks)},
                  {"dependencies", dependencies},
                  {"plugins", plugins}};
  if (sys_path) {
    message["sys_path"] = *sys_path;
  }
  if (!function.is_null()) {
    message["function"] = function;
  }
  if (!meta_extra.is_null()) {
    message["meta_extra"] = meta_extra;
  }
  return with_header("prepare", std::move(message));
}

PrepareRequest PrepareRequest::from_json(const Json& json) {
  PrepareRequest request;
  request.base_path = json.value("base_path", "");
  request.namespace_name = json.value("namespace", "");
  request.prefix = json.value("prefix", "");
  request.debug = json.value("debug", false);
  request.name = json.value("name", "");
  request.python_version = json.value("python_version", "");
  request.python_executable = json.value("python_executable", "");
  request.description = json.value("description", "");
  request.short_description = json.value("short_description", "");
  for (const auto& record : json.value("parameters", Json::array())) {
    request.parameters.push_back(parameter_from_json(record));
  }
  request.hooks = hooks_of(json.value("hooks", Json::array()));
  request.dependencies = strings(json, "dependencies");
  request.plugins = json.value("plugins", Json::array());
  if (const auto path = json.find("sys_path"); path != json.end() && path->is_array()) {
    auto& folders = request.sys_path.emplace();
    for (const auto& folder : *path) {
      if (folder.is_string()) { // a folder of another kind is no place to look in
        folders.push_back(folder.get<std::string>());
      }
    }
  }
  request.function = optional_object(json, "function");
  request.meta_extra = optional_object(json, "meta_extra");
  for (const auto& [key, value] : request.meta_extra.items()) {
    if (std::find(std::begin(k_meta_extra_keys), std::end(k_meta_extra_keys), key) ==
        std::end(k_meta_extra_keys)) {
      throw ProtocolError(fmt::format("the \"prepare\" message of the experiment process sets "
                                      "the meta field \"{}\", which is the supervisor's",
                                      key));
    }
  }
  return request;
}

PrepareReply PrepareReply::created(std::string path, std::string id, double start_time) {
  PrepareReply reply;
  reply.path = std::move(path);
  reply.id = std::move(id);
  reply.start_time = start_time;
  return reply;
}

PrepareReply PrepareReply::refused(std::string error) {
  PrepareReply reply;
  reply.error = std::move(error);
  return reply;
}

PrepareReply PrepareReply::unrecordable(std::string error) {
  auto reply = refused(std::move(error));
  reply.unrecorded = true;
  return reply;
}

Json PrepareReply::to_json() const {
  if (!error.empty()) {
    Json reply = {{"protocol", k_protocol_version}, {"error", error}};
    if (unrecorded) {
      reply["unrecorded"] = true;
    }
    return reply;
  }
  return {{"protocol", k_protocol_version}, {"path", path}, {"id", id}, {"start_time", start_time}};
}

PrepareReply PrepareReply::from_json(const Json& json) {
  check_version(json, "the reply to \"prepare\"");
  PrepareReply reply;
  reply.path = json.value("path", "");
  reply.id = json.value("id", "");
  reply.start_time = json.value("start_time", 0.0);
  reply.error = json.value("error", "");
  reply.unrecorded = json.value("unrecorded", false);
  return reply;
}

RunStatus FinishReport::status() const {
  if (interrupted) {
    return RunStatus::interrupted;
  }
  return error_type.empty() ? RunStatus::done : RunStatus::failed;
}

Json FinishReport::to_json() const {
  Json message = {{"tracked", tracked},
                  {"hooks", hooks_json(hooks)},
                  {"end_time", end_time},
                  {"plugins", plugins}};
  if (!error_type.empty()) {
    message["error_type"] = error_type;
  }
  if (!error_message.empty()) {
    message["error_message"] = error_message;
  }
  if (interrupted) {
    message["interrupted"] = true;
  }
  if (signal) {
    message["signal"] = *signal;
  }
  return with_header("finish", std::move(message));
}

FinishReport FinishReport::from_json(const Json& json) {
  FinishReport report;
  report.error_type = json.value("error_type", "");
  report.error_message = json.value("error_message", "");
  report.interrupted = json.value("interrupted", false);
  if (const auto signal = json.find("signal");
      signal != json.end() && signal->is_number_integer()) {
    report.signal = signal->get<int>();
  }
  report.tracked = strings(json, "tracked");
  report.hooks = hooks_of(json.value("hooks", Json::array()));
  report.end_time = json.value("end_time", 0.0);
  report.plugins = json.value("plugins", Json::array());
  return report;
}

Json PluginsReport::to_json() const {
  return with_header("plugins", {{"plugins", plugins}, {"ended", ended}});
}

PluginsReport PluginsReport::from_json(const Json& json) {
  return {json.value("plugins", Json::array()), json.value("ended", false)};
}

Json PlanReport::to_json() const {
  return with_header("plan", {{"index", index},
                              {"parameters", parameters},
                              {"run_hash", run_hash},
                              {"base_path", base_path},
                              {"namespace", namespace_name}});
}

PlanReport PlanReport::from_json(const Json& json) {
  PlanReport report;
  report.index = json.value("index", std::size_t(0));
  report.parameters = json.value("parameters", Json::object());
  report.run_hash = json.value("run_hash", "");
  report.base_path = json.value("base_path", "");
  report.namespace_name = json.value("namespace", "");
  return report;
}

std::optional<Message> parse_message(std::string_view line) {
  const auto json = Json::parse(line, nullptr, false);
  if (!json.is_object()) {
    return std::nullopt;
  }
  const auto found = json.find("type");
  const std::string type =
      found != json.end() && found->is_string() ? found->get<std::string>() : "";
  if (type != "prepare" && type != "finish" && type != "plugins" && type != "plan") {
    return std::nullopt;
  }
  check_version(json, fmt::format("the \"{}\" message", type));
  try {
    if (type == "prepare") {
      return PrepareRequest::from_json(json);
    }
    if (type == "finish") {
      return FinishReport::from_json(json);
    }
    if (type == "plugins") {
      return PluginsReport::from_json(json);
    }
    return PlanReport::from_json(json);
  } catch (const Json::exception& error) {
    throw ProtocolError(fmt::format(
        "the \"{}\" message of the experiment process does not read: {}", type, error.what()));
  }
}

} // namespace xrun::core::protocol
