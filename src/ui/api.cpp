#include "ui/api.hpp"

#include "ui/api_handlers.hpp"
#include "ui/run_ref.hpp"
#include "ui/series.hpp"
#include "xrun/error.hpp"

#include <charconv>
#include <fmt/format.h>

namespace xrun::ui {

namespace {

constexpr std::string_view k_prefix = "/api/v1/";

} // namespace

Response json_response(const nlohmann::ordered_json& body) {
  Response response;
  response.body = body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  return response;
}

Response json_response(const nlohmann::json& body) {
  Response response;
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

std::optional<std::int64_t> integer_parameter(const Request& request, std::string_view name,
                                              std::int64_t fallback, std::int64_t low,
                                              std::int64_t high, Response& refusal) {
  const auto text = request.get(name);
  if (!text) {
    return fallback;
  }
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (text->empty() || error != std::errc() || end != text->data() + text->size() || value < low ||
      value > high) {
    refusal = Response::error(
        400, fmt::format("{} must be an integer from {} to {}, not '{}'", name, low, high, *text));
    return std::nullopt;
  }
  return value;
}

std::optional<std::filesystem::path> run_parameter(const std::filesystem::path& root,
                                                   const Request& request, Response& refusal) {
  const auto id = request.get("run");
  if (!id) {
    refusal = Response::error(400, "the run parameter is missing (run=<folder in the archive>)");
    return std::nullopt;
  }
  return resolve_run(root, *id, refusal);
}

Api::Api(std::filesystem::path root)
    : m_root(std::move(root)), m_runs(std::make_unique<RunCache>(m_root)) {
}

Api::~Api() = default;

Response Api::handle(const Request& request) {
  // Errors become answers here, each as a JSON message: a client never sees a trace.
  try {
    return dispatch(request);
  } catch (const UsageError& error) {
    return Response::error(400, error.what());
  } catch (const Error& error) {
    return Response::error(500, error.what());
  } catch (const std::exception& error) {
    return Response::error(500, fmt::format("the request could not be answered: {}", error.what()));
  }
}

Response Api::dispatch(const Request& request) {
  if (!request.path.starts_with(k_prefix)) {
    return Response::error(404, "no such API path");
  }
  const std::string_view name = std::string_view(request.path).substr(k_prefix.size());
  if (name == "runs") {
    return runs_page(*m_runs, request);
  }
  if (name == "columns") {
    return column_names(*m_runs);
  }
  if (name == "run") {
    return run_details(m_root, request);
  }
  if (name == "log") {
    return run_log(m_root, request);
  }
  if (name == "files") {
    return run_file_list(m_root, request);
  }
  if (name == "file") {
    return run_file(m_root, request);
  }
  if (name == "images") {
    return run_images(m_root, request);
  }
  if (name == "series") {
    Response refusal;
    const auto folder = run_parameter(m_root, request, refusal);
    return folder ? series_list(*folder) : refusal;
  }
  if (name == "series/data") {
    return series_data(m_root, split_list(request.get("runs").value_or("")), request);
  }
  if (name == "sweeps") {
    return sweep_list(m_root);
  }
  if (name == "sweep") {
    return sweep_details(m_root, request);
  }
  return Response::error(404, fmt::format("no such API path: {}", request.path));
}

RunCache::Use RunCache::use(bool data) {
  std::unique_lock lock(m_mutex);
  if (!m_scanned || std::chrono::steady_clock::now() - m_when > k_reuse_for ||
      (data && !m_with_data)) {
    m_runs = archive::find_runs(m_root, data);
    m_columns.reset();
    m_values.clear();
    m_scanned = true;
    m_with_data = data;
    m_when = std::chrono::steady_clock::now();
  }
  if (m_values.size() > k_most_kept_names) {
    m_values.clear(); // between requests: no handler holds a reference into it
  }
  return Use(*this, std::move(lock));
}

RunCache::Values& RunCache::Use::values(std::string_view name) {
  auto& kept = m_cache.m_values;
  auto found = kept.find(name);
  if (found == kept.end()) {
    found = kept.try_emplace(std::string(name), std::string(name), m_cache.m_runs.size()).first;
  }
  return found->second;
}

} // namespace xrun::ui
