// experiment_config.yml: the config a run ran with, as YAML that reads back as that config.
#include "config/config.hpp"
#include "config/yaml_reader.hpp"
#include "core/protocol.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <map>
#include <yaml-cpp/yaml.h>

namespace xrun::config {

using namespace yaml_file;

namespace {

void emit_value(YAML::Emitter& out, const Json& value) {
  switch (value.type()) {
  case Json::value_t::object:
    out << YAML::Flow << YAML::BeginMap;
    for (const auto& [key, item] : value.items()) {
      out << YAML::Key << key << YAML::Value;
      emit_value(out, item);
    }
    out << YAML::EndMap;
    return;
  case Json::value_t::array:
    out << YAML::Flow << YAML::BeginSeq;
    for (const auto& item : value) {
      emit_value(out, item);
    }
    out << YAML::EndSeq;
    return;
  case Json::value_t::string: {
    // `$` doubled, so that reading the file as a config gives the text back unchanged.
    std::string text;
    for (const char c : value.get_ref<const std::string&>()) {
      text += c == '$' ? "$$" : std::string(1, c);
    }
    if (resolve_plain(text)) {
      out << YAML::DoubleQuoted; // would read back as a number, bool or null
    }
    out << text;
    return;
  }
  case Json::value_t::boolean:
    out << value.get<bool>();
    return;
  case Json::value_t::number_integer:
    out << value.get<long long>();
    return;
  case Json::value_t::number_unsigned:
    out << value.get<unsigned long long>();
    return;
  case Json::value_t::number_float:
    out << util::float_repr(value.get<double>()); // `0.3`, not `0.29999999999999999`
    return;
  default:
    out << YAML::Null;
    return;
  }
}

} // namespace

std::string Config::resolved_yaml(const std::filesystem::path& experiment_base_path,
                                  const Json& records) const {
  std::vector<ParameterRecord> parameters_given;
  for (const auto& record : records) {
    parameters_given.push_back(core::protocol::parameter_from_json(record));
  }
  return resolved_yaml(experiment_base_path, parameters_given);
}

std::string Config::resolved_yaml(const std::filesystem::path& experiment_base_path,
                                  const std::vector<ParameterRecord>& records) const {
  // What ran: the command line's values over the config's.
  auto parameters_ran = parameters;
  bool command_line = false;
  for (const auto& record : records) {
    if (record.source != ValueSource::cli) {
      continue;
    }
    command_line = true;
    // NaN, 2**70: as the text its declared type reads back
    auto value = core::protocol::stated_value(record);
    const auto same =
        std::find_if(parameters_ran.begin(), parameters_ran.end(),
                     [&](const ParameterSetting& setting) { return setting.name == record.name; });
    if (same != parameters_ran.end()) {
      same->value = std::move(value);
    } else {
      parameters_ran.push_back({record.name, std::move(value), std::nullopt, {}, std::nullopt});
    }
  }
  YAML::Emitter out;
  out << YAML::Comment(files.empty() ? std::string("the settings xrun ran with")
                                     : fmt::format("resolved by xrun from {}{}",
                                                   files.back().filename().string(),
                                                   command_line ? " and the command line" : ""))
      << YAML::Newline;
  out << YAML::BeginMap;
  out << YAML::Key << "extend" << YAML::Value
      << (function.empty() ? experiment.string() : experiment.string() + ":" + function);
  out << YAML::Key << "name" << YAML::Value << name;
  if (!description.empty()) {
    out << YAML::Key << "description" << YAML::Value << YAML::Literal << description;
  }
  out << YAML::Key << "base_path" << YAML::Value
      << (base_path.empty() ? experiment_base_path : base_path).string();
  out << YAML::Key << "namespace" << YAML::Value << namespace_name;
  if (!includes.empty()) {
    out << YAML::Key << "include" << YAML::Value << YAML::BeginSeq;
    for (const auto& path : includes) {
      out << path.string();
    }
    out << YAML::EndSeq;
  }
  if (!plugins.empty()) {
    // Merged as the experiment process applies them: the last on/off wins, settings add up.
    std::vector<std::string> order;
    std::map<std::string, std::pair<bool, Json>> merged;
    for (const auto& choice : plugins) {
      auto [entry, added] = merged.try_emplace(choice.name, true, Json::object());
      if (added) {
        order.push_back(choice.name);
      }
      entry->second.first = choice.enabled;
      entry->second.second.update(choice.settings);
    }
    out << YAML::Key << "plugins" << YAML::Value << YAML::BeginMap;
    for (const auto& plugin : order) {
      const auto& [enabled, settings] = merged.at(plugin);
      out << YAML::Key << plugin << YAML::Value;
      emit_value(out, !enabled ? Json(false) : settings.empty() ? Json(true) : settings);
    }
    out << YAML::EndMap;
  }
  out << YAML::Key << "parameters" << YAML::Value << YAML::BeginMap;
  for (const auto& setting : parameters_ran) {
    out << YAML::Key << setting.name << YAML::Value;
    emit_value(out, setting.value);
  }
  out << YAML::EndMap << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

} // namespace xrun::config
