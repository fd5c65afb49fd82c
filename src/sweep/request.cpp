#include "sweep/request.hpp"

namespace xrun::sweep {

nlohmann::json Request::to_json() const {
  nlohmann::json record = {{"file", file}, {"config", config},   {"config_path", config_path},
                           {"args", args}, {"plugins", plugins}, {"labels", labels}};
  if (!function.empty()) {
    // A module's sweep keeps the record it always had.
    record["function"] = function;
    record["cache"] = cache;
    record["rerun"] = rerun;
  }
  return record;
}

Request Request::from_json(const nlohmann::json& json) {
  Request request;
  request.file = json.value("file", "");
  request.function = json.value("function", "");
  if (const auto cache = json.find("cache"); cache != json.end() && cache->is_boolean()) {
    request.cache = *cache;
  }
  request.rerun = json.value("rerun", false);
  request.args = json.value("args", std::vector<std::string>{});
  request.plugins = json.value("plugins", nlohmann::json::array());
  if (const auto config = json.find("config"); config != json.end() && config->is_object()) {
    request.config = *config;
  }
  request.config_path = json.value("config_path", "");
  if (const auto labels = json.find("labels"); labels != json.end() && labels->is_object()) {
    request.labels = *labels;
  }
  return request;
}

} // namespace xrun::sweep
