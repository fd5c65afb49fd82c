#include "ui/api.hpp"

#include "ui/api_handlers.hpp"
#include "ui/run_ref.hpp"
#include "ui/series.hpp"
#include "util/time.hpp"
#include "xrun/error.hpp"

#include <charconv>
#include <set>
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
    auto runs = split_list(request.get("runs").value_or(""));
    std::set<std::string> seen;
    std::vector<std::string> distinct; // a run named twice is answered once
    for (const auto& run : runs) {
      if (seen.insert(run).second) {
        distinct.push_back(run);
      }
    }
    return series_data(m_root, distinct, request);
  }
  if (name == "sweeps") {
    return sweep_list(m_root);
  }
  if (name == "sweep") {
    return sweep_details(m_root, request);
  }
  return Response::error(404, fmt::format("no such API path: {}", request.path));
}

void Api::runs_changed() {
  m_runs->changed();
}

RunCache::RunCache(std::filesystem::path root) : m_root(std::move(root)) {
  std::unique_lock lock(m_mutex);
  refresh(lock);
}

RunCache::~RunCache() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  if (m_scanner.joinable()) {
    m_scanner.join(); // a scan under way ends first: it cannot be interrupted
  }
}

RunCache::Use RunCache::use() {
  std::unique_lock lock(m_mutex);
  if (m_finished > 0 && std::chrono::steady_clock::now() - m_began > k_reuse_for) {
    refresh(lock);
  }
  m_scanned_cv.wait(lock, [this] { return m_finished >= m_wait_for; });
  if (m_problem) {
    throw ArchiveError(*m_problem);
  }
  if (m_values.size() > k_most_kept_names) {
    m_values.clear(); // between requests: no handler holds a reference into it
  }
  return Use(*this, std::move(lock));
}

void RunCache::changed() {
  std::unique_lock lock(m_mutex);
  m_wait_for = m_started + 1; // a scan that starts from now on
  refresh(lock);
}

void RunCache::refresh(std::unique_lock<std::mutex>& lock) {
  if (m_scanning) {
    m_again = m_again || m_wait_for > m_started;
    return;
  }
  m_scanning = true;
  if (m_scanner.joinable()) {
    // The last scan's thread has finished its work (it cleared m_scanning under the lock).
    auto done = std::move(m_scanner);
    lock.unlock();
    done.join();
    lock.lock();
  }
  m_scanner = std::thread([this] { scan_loop(); });
}

void RunCache::scan_loop() {
  std::unique_lock lock(m_mutex);
  while (!m_stopping) {
    const auto number = ++m_started;
    m_again = false;
    const auto names = m_recent;
    lock.unlock();
    const auto began = std::chrono::steady_clock::now();
    std::vector<archive::Run> runs;
    std::map<std::string, Values, std::less<>> values;
    std::optional<std::string> problem;
    try {
      runs = archive::find_runs(m_root, true);
      // The names the last requests filtered and sorted by, looked up here rather than by the
      // next request (about 1 us a run and name: 100 ms of a request at 100k runs).
      const double now = util::to_epoch_seconds(util::Clock::now());
      for (const auto& name : names) {
        auto& kept = values.try_emplace(name, name, runs.size()).first->second;
        for (std::size_t index = 0; index < runs.size(); ++index) {
          kept.at(runs, index, now);
        }
      }
    } catch (const std::exception& error) {
      problem = error.what();
    }
    lock.lock();
    if (!problem || m_finished == 0) {
      m_runs = std::move(runs);
      m_columns.reset();
      m_values = std::move(values);
      m_problem = std::move(problem);
    }
    m_began = began;
    m_finished = number;
    m_scanned_cv.notify_all();
    if (!m_again) {
      break;
    }
  }
  m_scanning = false;
}

RunCache::Values& RunCache::Use::values(std::string_view name) {
  auto& recent = m_cache.m_recent;
  if (recent.empty() || recent.back() != name) {
    std::erase(recent, name);
    recent.emplace_back(name);
    if (recent.size() > k_names_looked_up_ahead) {
      recent.erase(recent.begin());
    }
  }
  auto& kept = m_cache.m_values;
  auto found = kept.find(name);
  if (found == kept.end()) {
    found = kept.try_emplace(std::string(name), std::string(name), m_cache.m_runs.size()).first;
  }
  return found->second;
}

} // namespace xrun::ui
