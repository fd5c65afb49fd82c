#include "python/series_writer.hpp"

#include "core/atomic_file.hpp"
#include "core/diagnostics.hpp"
#include "core/run_files.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"
#include "xrun/error.hpp"

#include <cerrno>
#include <chrono>
#include <cmath>
#include <ctime>
#include <fcntl.h>
#include <fmt/compile.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <x86intrin.h>
#endif

namespace xrun::python {

namespace {

constexpr auto k_flush_interval = std::chrono::milliseconds(200);
// Points queued before the writer is woken ahead of its tick: the queue's memory then stays
// in the CPU's caches rather than growing to a tick's worth (tens of MB at full speed).
constexpr std::size_t k_nudge_at = 1u << 15;
constexpr std::size_t k_slice = 1u << 18; // bytes of a series written at once
constexpr std::string_view k_header = core::k_series_header;
constexpr char k_old_header[] = "step,value,time\n"; // files written before stages existed

double wall_seconds() noexcept {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

/// The TSC counts at a constant rate, whatever the core's frequency or sleep state (CPUID's
/// "invariant TSC"): only then does it measure time.
bool invariant_tsc() noexcept {
#if defined(__x86_64__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid_max(0x80000000u, nullptr) < 0x80000007u) {
    return false;
  }
  __get_cpuid(0x80000007u, &eax, &ebx, &ecx, &edx);
  return (edx & (1u << 8)) != 0;
#else
  return false;
#endif
}

/// Asked once, on first use: the writer may be constructed during another file's static
/// initialisation, before a namespace-scope constant of this one would be.
bool use_tsc() noexcept {
  static const bool value = invariant_tsc();
  return value;
}

/// The first line of the file at `fd` (at most the header's length).
std::string first_line(int fd) {
  std::string text(k_header.size(), '\0');
  const ssize_t got = ::pread(fd, text.data(), text.size(), 0);
  text.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
  return text.substr(0, text.find('\n') == std::string::npos ? text.size() : text.find('\n') + 1);
}

} // namespace

Clock::Clock() {
  calibrate();
  m_first_ticks = m_last_ticks;
  m_first_seconds = m_last_seconds;
}

std::uint64_t Clock::now() noexcept {
#if defined(__x86_64__)
  if (use_tsc()) {
    return __rdtsc();
  }
#endif
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000u +
         static_cast<std::uint64_t>(now.tv_nsec);
}

void Clock::calibrate() noexcept {
  m_last_ticks = now();
  m_last_seconds = wall_seconds();
}

double Clock::seconds(std::uint64_t ticks) const noexcept {
  if (!use_tsc()) {
    return static_cast<double>(ticks) * 1e-9;
  }
  // A point lies between the first and the latest pair, so the error of the rate measured
  // between them moves it by at most the pairs' own jitter (well under a microsecond).
  const auto span = static_cast<double>(m_last_ticks - m_first_ticks);
  if (span <= 0) {
    return m_last_seconds;
  }
  const double rate = (m_last_seconds - m_first_seconds) / span;
  const double before = static_cast<double>(static_cast<std::int64_t>(m_last_ticks - ticks));
  return m_last_seconds - before * rate;
}

bool SeriesWriter::push(const SeriesPoint* points, std::size_t count) noexcept {
  lock();
  if (!m_open) {
    unlock();
    return false;
  }
  for (std::size_t i = 0; i < count; ++i) {
    const SeriesPoint& point = points[i];
    m_pending.push_back(point);
    if (static_cast<int>(point.series) == m_primary.index && !std::isnan(point.value) &&
        (!m_primary.best ||
         (m_primary.maximize ? point.value > *m_primary.best : point.value < *m_primary.best))) {
      m_primary.best = point.value;
      m_primary.step = point.step;
      m_primary.ticks = point.ticks;
      m_summary_changed.store(true, std::memory_order_relaxed);
    }
  }
  const bool full = m_pending.size() >= k_max_pending;
  const bool nudge = !m_nudged && m_pending.size() >= k_nudge_at;
  m_nudged = m_nudged || nudge;
  unlock();
  if (nudge && !full) {
    wake();
  }
  return full;
}

void SeriesWriter::wake() {
  {
    std::lock_guard guard(m_mutex);
    m_full = true; // the writer drains now instead of at its next tick
  }
  m_wake.notify_all();
}

bool SeriesWriter::wait_for_room() {
  wake();
  for (;;) {
    lock();
    const bool room = m_pending.size() < k_max_pending;
    const bool open = m_open;
    unlock();
    if (room || !open) {
      return room;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

int SeriesWriter::add(const std::string& name, const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
  if (fd < 0) {
    return -1;
  }
  bool with_stage = true;
  struct stat info {};
  off_t size = 0;
  try {
    if (::fstat(fd, &info) == 0 && info.st_size == 0) {
      util::write_all(fd, k_header, path);
      size = static_cast<off_t>(k_header.size());
    } else {
      with_stage = first_line(fd) != k_old_header;
      size = info.st_size;
    }
  } catch (const std::system_error&) {
    ::close(fd);
    return -1;
  }
  // The writer thread reads m_series without the lock; stop it while the vector may move.
  const std::lock_guard control(m_control);
  stop();
  m_series.push_back({fd, name, path, with_stage, {}, {}, size});
  const int index = static_cast<int>(m_series.size() - 1);
  lock();
  if (m_primary.index < 0 && m_primary.name == name) {
    m_primary.index = index;
  }
  unlock();
  start();
  return index;
}

void SeriesWriter::set_folder(std::string folder) {
  std::lock_guard guard(m_summary_mutex);
  m_folder = std::move(folder);
  m_sealed = false;
  m_lost.clear();
}

bool SeriesWriter::has_folder() const {
  std::lock_guard guard(m_summary_mutex);
  return !m_folder.empty() && !m_sealed;
}

void SeriesWriter::seal() {
  std::lock_guard guard(m_summary_mutex);
  m_sealed = true;
}

void SeriesWriter::set_primary(const std::string& name, bool maximize) {
  const std::lock_guard control(m_control);
  // With the thread stopped every point given so far is written, and so counted in the
  // series' extremes: the best is the best of the whole series, not of the values to come.
  stop();
  int index = -1;
  for (std::size_t i = 0; i < m_series.size(); ++i) {
    if (m_series[i].name == name) {
      index = static_cast<int>(i);
    }
  }
  lock();
  if (m_primary.name != name || m_primary.maximize != maximize) {
    m_primary = Primary{name, maximize, index, std::nullopt, 0, 0};
    if (index >= 0) {
      const Series& series = m_series[static_cast<std::size_t>(index)];
      const Extreme& seed = maximize ? series.highest : series.lowest;
      m_primary.best = seed.value;
      m_primary.step = seed.step;
      m_primary.ticks = seed.ticks;
    }
  }
  unlock();
  {
    std::lock_guard guard(m_summary_mutex);
    m_summary_used = true;
  }
  m_summary_changed.store(true, std::memory_order_relaxed);
  start();
}

void SeriesWriter::merge_summary(const nlohmann::json& values) {
  {
    std::lock_guard guard(m_summary_mutex);
    for (const auto& [key, value] : values.items()) {
      m_summary[key] = value;
    }
    m_summary_used = true;
  }
  m_summary_changed.store(true, std::memory_order_relaxed);
  const std::lock_guard control(m_control);
  if (!m_thread.joinable()) {
    start();
  }
}

void SeriesWriter::close_all() {
  const std::lock_guard control(m_control);
  stop();
  drain();
  for (auto& series : m_series) {
    if (series.fd >= 0) {
      ::close(series.fd);
    }
  }
  m_series.clear();
  m_text = {};
  lock();
  m_primary = Primary{};
  unlock();
  std::lock_guard guard(m_summary_mutex);
  m_summary = nlohmann::json::object();
  m_summary_used = false;
  m_folder.clear();
}

void SeriesWriter::start() {
  lock();
  m_open = true;
  unlock();
  m_thread = util::start_thread_without_signals([this] { run(); });
}

/// With the thread stopped: writes what was queued after its last batch (points given while it
/// was being stopped) and closes the queue, so that nothing is left for the next run's series.
void SeriesWriter::drain() {
  std::vector<SeriesPoint> batch;
  lock();
  batch.swap(m_pending);
  m_open = false;
  m_nudged = false;
  unlock();
  m_clock.calibrate();
  write(batch);
  if (m_summary_changed.exchange(false, std::memory_order_relaxed)) {
    write_summary();
    // Its last chance: a summary still not written is lost with the run's end.
    if (m_summary_changed.exchange(false, std::memory_order_relaxed) && m_lost.empty()) {
      m_lost = m_summary_failure;
    }
  }
}

void SeriesWriter::stop() {
  if (!m_thread.joinable()) {
    return;
  }
  {
    std::lock_guard guard(m_mutex);
    m_stopping = true;
  }
  m_wake.notify_all();
  m_thread.join();
  m_stopping = false;
}

void SeriesWriter::run() {
  std::vector<SeriesPoint> batch;
  for (;;) {
    bool stopping = false;
    {
      std::unique_lock guard(m_mutex);
      m_wake.wait_for(guard, k_flush_interval,
                      [this] { return m_stopping || m_full || m_forking; });
      park(guard);
      stopping = m_stopping;
      m_full = false;
    }
    lock();
    batch.swap(m_pending);
    m_nudged = false;
    unlock();
    m_clock.calibrate(); // after the swap: every point of the batch is older
    write(batch);
    batch.clear();
    if (m_summary_changed.exchange(false, std::memory_order_relaxed)) {
      write_summary();
    }
    if (stopping) {
      return;
    }
  }
}

/// Holds the thread here while a fork is under way: waiting on the condition variable it
/// allocates nothing and holds no lock, so the forked process finds the heap as it should.
void SeriesWriter::park(std::unique_lock<std::mutex>& guard) {
  if (!m_forking) {
    return;
  }
  m_parked = true;
  m_wake.notify_all();
  m_wake.wait(guard, [this] { return !m_forking; });
  m_parked = false;
}

void SeriesWriter::pause_for_fork() noexcept {
  // m_control first: no thread is being started or joined meanwhile (a thread that is
  // starting would still be setting itself up, allocating, when the fork copies the heap).
  m_control.lock();
  if (m_thread.joinable()) {
    std::unique_lock guard(m_mutex);
    m_forking = true;
    m_wake.notify_all();
    m_wake.wait(guard, [this] { return m_parked; });
  }
  // A producer (or a summary call) holds these while it grows a vector or a JSON object.
  m_summary_mutex.lock();
  lock();
}

void SeriesWriter::resume_after_fork() noexcept {
  unlock();
  m_summary_mutex.unlock();
  {
    std::lock_guard guard(m_mutex);
    m_forking = false;
  }
  m_wake.notify_all();
  m_control.unlock();
}

void SeriesWriter::write(const std::vector<SeriesPoint>& batch) {
  if (batch.empty()) {
    return;
  }
  // Buffers kept from batch to batch and written in slices: memory freed and mapped again
  // every tick would cost page faults (and TLB shootdowns that stall the producer's core).
  m_text.resize(m_series.size());
  for (const auto& point : batch) {
    if (point.series >= m_series.size()) {
      continue; // not a series of this writer's (a caller's mistake): never past the end
    }
    Series& series = m_series[point.series];
    if (!std::isnan(point.value)) { // of equal values the first counts, as for the primary
      if (!series.highest.value || point.value > *series.highest.value) {
        series.highest = {point.value, point.step, point.ticks};
      }
      if (!series.lowest.value || point.value < *series.lowest.value) {
        series.lowest = {point.value, point.step, point.ticks};
      }
    }
    std::string& text = m_text[point.series];
    char line[160];
    // Milliseconds as an integer: exact, and much cheaper than formatting a fixed-point double.
    const auto ms = std::llround(m_clock.seconds(point.ticks) * 1e3);
    char* end = fmt::format_to(line, FMT_COMPILE("{},{},{}.{:03}"), point.step, point.value,
                               ms / 1000, ms % 1000);
    text.append(line, end);
    if (series.with_stage) {
      text.push_back(',');
      if (point.stage != nullptr) {
        text.append(*point.stage);
      }
    }
    text.push_back('\n');
    if (text.size() >= k_slice) {
      flush(point.series);
    }
  }
  for (std::size_t i = 0; i < m_text.size(); ++i) {
    flush(i);
  }
}

void SeriesWriter::flush(std::size_t index) {
  std::string& text = m_text[index];
  Series& series = m_series[index];
  if (!text.empty() && series.fd >= 0) {
    try {
      util::write_all(series.fd, text, series.path);
      series.size += static_cast<off_t>(text.size());
    } catch (const std::system_error& error) {
      // A full disk may take part of the text: cut back to the last whole line (should that
      // fail too, the part stays, as the unfinished last line of a series being written).
      [[maybe_unused]] const int cut = ::ftruncate(series.fd, series.size);
      if (m_lost.empty()) {
        m_lost = error.what();
      }
      warn_once(fmt::format("{}; tracked values are being lost", error.what()));
    }
  }
  text.clear();
}

/// experiment_summary.json: the summary's values and the primary metric, replaced atomically.
void SeriesWriter::write_summary() {
  nlohmann::json document;
  std::string folder;
  {
    std::lock_guard guard(m_summary_mutex);
    if (!m_summary_used || m_folder.empty()) {
      return;
    }
    document["summary"] = m_summary;
    folder = m_folder;
  }
  lock();
  const Primary primary = m_primary;
  unlock();
  if (!primary.name.empty()) {
    auto& metric = document["primary_metric"];
    metric["name"] = primary.name;
    metric["mode"] = primary.maximize ? "max" : "min";
    const bool known = primary.best && std::isfinite(*primary.best);
    metric["best"] = known ? nlohmann::json(*primary.best) : nlohmann::json(nullptr);
    metric["step"] = primary.best ? nlohmann::json(primary.step) : nlohmann::json(nullptr);
    metric["time"] = primary.best
                         ? nlohmann::json(std::round(m_clock.seconds(primary.ticks) * 1e3) / 1e3)
                         : nlohmann::json(nullptr);
  }
  try {
    core::write_file_atomic(std::filesystem::path(folder) / "experiment_summary.json",
                            document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) +
                                "\n");
  } catch (const Error& error) {
    m_summary_changed.store(true, std::memory_order_relaxed); // tried again next tick
    m_summary_failure = error.what();
    warn_once(fmt::format("the summary could not be saved: {}", error.what()));
  }
}

void SeriesWriter::warn_once(const std::string& what) {
  if (!m_reported) {
    m_reported = true;
    core::print_warning(what);
  }
}

} // namespace xrun::python
