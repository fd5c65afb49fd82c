// The handlers behind ui::Api, one group per file (api_runs, api_run_files, api_sweeps), and
// what they share. Internal to ui/.
#pragma once

#include "archive/runs.hpp"
#include "ui/http.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace xrun::ui {

/// A JSON body (invalid UTF-8 in strings replaced, never thrown).
Response json_response(const nlohmann::ordered_json& body);
Response json_response(const nlohmann::json& body);

/// The integer parameter `name` within [low, high]; `fallback` when it is not given; nullopt
/// with `refusal` set (400) when it is not an integer in range.
std::optional<std::int64_t> integer_parameter(const Request& request, std::string_view name,
                                              std::int64_t fallback, std::int64_t low,
                                              std::int64_t high, Response& refusal);

/// The run named by the `run` parameter, resolved (see ui/run_ref.hpp); nullopt with
/// `refusal` set: 400 when the parameter is missing, else as resolve_run() refuses.
std::optional<std::filesystem::path> run_parameter(const std::filesystem::path& root,
                                                   const Request& request, Response& refusal);

/// The archive's runs, scanned through its index (data values included) and kept between
/// requests.
///
/// The rule: a request is answered from the last scan. When that scan began more than
/// k_reuse_for ago, a new one starts in the background and replaces it when done, so the runs
/// table never waits for a scan (one costs about half a second at 100k runs) except the first
/// one. A change seen by an event stream (a run added, removed, or changing status) starts a
/// scan at once, and requests then wait for it: a page that refreshes on an event sees the
/// change. A list in the viewer may thus be about a second old (and the time a scan takes);
/// the command line never reuses a scan, so it never shows a stale record. A Run reads its
/// files on first use and is not safe to share between threads: the runs are only used under
/// the cache's lock.
class RunCache {
public:
  static constexpr std::chrono::milliseconds k_reuse_for{1000};
  /// Names whose values are kept at most, per scan (then the kept ones are dropped).
  static constexpr std::size_t k_most_kept_names = 64;
  /// Names whose values a new scan looks up before it replaces the last one: those the
  /// latest requests used, so that the next page does not pay for them.
  static constexpr std::size_t k_names_looked_up_ahead = 8;

  /// Starts the first scan in the background.
  explicit RunCache(std::filesystem::path root);
  ~RunCache();
  RunCache(const RunCache&) = delete;
  RunCache& operator=(const RunCache&) = delete;

  /// The values of one name (`LR`, `data.acc`, `status`) for the runs of a scan, each looked
  /// up on first use: the next page filtered or sorted by the same name costs no lookups.
  class Values {
  public:
    Values(std::string name, std::size_t runs)
        : m_name(std::move(name)), m_values(runs), m_known(runs, 0) {}

    /// The value of the run at `index` of `runs` (the scan these values belong to).
    const nlohmann::json& at(std::vector<archive::Run>& runs, std::size_t index, double now) {
      if (!m_known[index]) {
        m_values[index] = runs[index].value(m_name, now);
        m_known[index] = 1;
      }
      return m_values[index];
    }

  private:
    std::string m_name;
    std::vector<nlohmann::json> m_values;
    std::vector<char> m_known;
  };

  /// The runs of the last scan, under the lock (see the rule above). Throws ArchiveError when
  /// the root could not be scanned and no earlier scan exists.
  class Use {
  public:
    std::vector<archive::Run>& runs() { return m_cache.m_runs; }
    /// Column names computed for this scan (`/api/v1/columns`), dropped with it.
    std::optional<nlohmann::json>& columns() { return m_cache.m_columns; }
    /// The values of `name` over this scan's runs (see Values).
    Values& values(std::string_view name);

  private:
    friend class RunCache;
    Use(RunCache& cache, std::unique_lock<std::mutex> lock)
        : m_cache(cache), m_lock(std::move(lock)) {}
    RunCache& m_cache;
    std::unique_lock<std::mutex> m_lock;
  };
  Use use();

  /// Runs were added or removed, or one changed status: scan again now, and make the
  /// requests that come meanwhile wait for that scan.
  void changed();

private:
  /// Starts the background scan unless one runs (then it scans once more when done).
  void refresh(std::unique_lock<std::mutex>& lock);
  void scan_loop();

  std::filesystem::path m_root;
  std::mutex m_mutex;
  std::condition_variable m_scanned_cv;
  std::vector<archive::Run> m_runs;
  std::optional<nlohmann::json> m_columns;
  std::map<std::string, Values, std::less<>> m_values;
  std::vector<std::string> m_recent; // names used, the latest last
  std::optional<std::string> m_problem; // why the last scan failed, when it did
  std::uint64_t m_started = 0;  // scans started so far
  std::uint64_t m_finished = 0; // the number of the scan m_runs holds (0: none yet)
  std::uint64_t m_wait_for = 1; // requests wait until this scan is done
  bool m_scanning = false;
  bool m_again = false;
  bool m_stopping = false;
  std::chrono::steady_clock::time_point m_began; // of the scan m_runs holds
  std::thread m_scanner;
};

Response runs_page(RunCache& cache, const Request& request);
Response column_names(RunCache& cache);

Response run_details(const std::filesystem::path& root, const Request& request);
Response run_log(const std::filesystem::path& root, const Request& request);
Response run_file_list(const std::filesystem::path& root, const Request& request);
Response run_file(const std::filesystem::path& root, const Request& request);
Response run_images(const std::filesystem::path& root, const Request& request);

Response sweep_list(const std::filesystem::path& root);
Response sweep_details(const std::filesystem::path& root, const Request& request);

} // namespace xrun::ui
