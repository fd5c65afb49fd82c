#include "archive/lineage.hpp"

#include "archive/runs.hpp"
#include "core/run_files.hpp"
#include "util/fs.hpp"

#include <map>

namespace xrun::archive {

namespace {

using Json = nlohmann::ordered_json;

/// The text at `key` of a record, or "" when it holds no text (a hand-edited meta).
std::string text_of(const Json& record, const char* key) {
  const auto found = record.find(key);
  return found != record.end() && found->is_string() ? found->get<std::string>() : std::string();
}

/// The input records of a meta's `function`, each an object.
std::vector<Json> input_records(const RunMeta& meta) {
  std::vector<Json> records;
  const auto function = meta.extra.find("function");
  if (function == meta.extra.end() || !function->is_object()) {
    return records;
  }
  const auto inputs = function->find("inputs");
  if (inputs == function->end() || !inputs->is_array()) {
    return records;
  }
  for (const auto& input : *inputs) {
    if (input.is_object()) {
      records.push_back(input);
    }
  }
  return records;
}

/// Whether the run's meta may name `id`: its text holds it as a JSON string. A cheap test that
/// spares parsing the meta of every run of the archive.
bool meta_mentions(const Run& run, const std::string& id) {
  const auto read = util::read_regular_file(run.folder(), k_meta_file, core::k_max_text_bytes);
  return read.ok() && read.text.find('"' + id + '"') != std::string::npos;
}

} // namespace

Lineage lineage_of(const RunMeta& meta, const std::filesystem::path& archive) {
  Lineage lineage;
  for (auto& record : input_records(meta)) {
    RunInput input;
    input.name = text_of(record, "name");
    input.ref = text_of(record, "ref");
    input.sha256 = text_of(record, "sha256");
    input.run = text_of(record, "run");
    input.record = std::move(record);
    lineage.inputs.push_back(std::move(input));
  }
  // Only a function run has outputs to consume (`run:ID/outputs/NAME`): the archive is read
  // for function runs alone, so that showing any other run costs no scan of every meta.
  const auto function = meta.extra.find("function");
  std::error_code error;
  if (function == meta.extra.end() || !function->is_object() ||
      !std::filesystem::is_directory(archive, error)) {
    return lineage;
  }
  auto runs = find_runs(archive);
  std::map<std::string, std::string, std::less<>> listed; // meta id -> as `list` shows it
  for (const auto& run : runs) {
    if (run.readable()) {
      listed.emplace(run.summary.id, std::string(run.relative()));
    }
  }
  for (auto& input : lineage.inputs) {
    if (const auto found = listed.find(input.run); !input.run.empty() && found != listed.end()) {
      input.listed = found->second;
    }
  }
  if (meta.id.empty()) {
    return lineage;
  }
  for (auto& run : runs) {
    if (!run.readable() || run.summary.id == meta.id || !meta_mentions(run, meta.id)) {
      continue;
    }
    const auto* other = run.meta();
    if (other == nullptr) {
      continue;
    }
    for (const auto& record : input_records(*other)) {
      if (text_of(record, "run") == meta.id) {
        lineage.consumers.push_back(
            {std::string(run.relative()), run.summary.id,
             std::filesystem::absolute(run.folder()).lexically_normal().string(),
             text_of(record, "name"), text_of(record, "output")});
      }
    }
  }
  return lineage;
}

nlohmann::ordered_json inputs_json(const Lineage& lineage) {
  auto inputs = Json::array();
  for (const auto& input : lineage.inputs) {
    auto record = input.record;
    record["listed"] = input.listed.empty() ? Json() : Json(input.listed);
    inputs.push_back(std::move(record));
  }
  return inputs;
}

nlohmann::ordered_json consumers_json(const Lineage& lineage) {
  auto consumers = Json::array();
  for (const auto& consumer : lineage.consumers) {
    consumers.push_back({{"run", consumer.listed},
                         {"id", consumer.id},
                         {"path", consumer.path},
                         {"input", consumer.input},
                         {"output", consumer.output}});
  }
  return consumers;
}

} // namespace xrun::archive
