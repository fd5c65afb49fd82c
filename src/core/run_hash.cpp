#include "core/run_hash.hpp"

#include "util/sha256.hpp"

#include <algorithm>

namespace xrun::core {

RunHash run_hash(const std::vector<ParameterRecord>& parameters,
                 const std::vector<CodeFile>& files) {
  std::vector<const ParameterRecord*> sorted;
  for (const auto& parameter : parameters) {
    if (!parameter.name.starts_with("__")) {
      sorted.push_back(&parameter);
    }
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const auto* a, const auto* b) { return a->name < b->name; });
  util::Sha256 digest;
  digest.update("xrun run hash 1\n");
  RunHash result;
  result.inputs["version"] = 1;
  auto& names = result.inputs["parameters"] = nlohmann::ordered_json::array();
  for (const auto* parameter : sorted) {
    // plain_json sorts object keys, so a dict's order does not matter; a value JSON cannot
    // hold is its repr, marked so that it never equals a string.
    const auto exact = parameter->extra.find("exact");
    const bool lossy = exact != parameter->extra.end() && exact->is_string();
    const auto value = lossy ? exact->get<std::string>() : plain_json(parameter->value).dump();
    digest.update(parameter->name).update(":").update(parameter->type).update("=");
    digest.update(lossy ? "exact:" : parameter->usable ? "" : "repr:").update(value).update("\n");
    names.push_back(parameter->name);
  }
  auto& hashed = result.inputs["files"] = nlohmann::ordered_json::array();
  for (const auto& file : files) {
    const auto hash = util::sha256_hex(file.content);
    digest.update(file.name).update(" ").update(hash).update("\n");
    hashed.push_back({{"name", file.name}, {"sha256", hash}});
  }
  result.hash = digest.hex();
  return result;
}

} // namespace xrun::core
