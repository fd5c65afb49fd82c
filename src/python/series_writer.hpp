// The native side of tracked series: the bounded queue of points, the thread that appends them
// to `.track/<name>.csv`, the primary metric's best value and the run's summary file. Holds no
// Python: tracker.cpp takes the calls from Python and hands plain values here.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <sys/types.h>
#include <thread>
#include <vector>

namespace xrun::python {

/// One point of a series, as queued by the producer.
struct SeriesPoint {
  std::uint32_t series;
  std::int64_t step;
  double value;
  std::uint64_t ticks;      // Clock::now() when the point was given
  const std::string* stage; // interned, never freed; nullptr for none
};

/// Timestamps cheap enough for the hot path: the invariant TSC where the CPU has one (a few
/// ns), turned into wall-clock time by the writer thread from two (TSC, clock_gettime) pairs,
/// the run's first and the latest, so a point's time is exact to well under a millisecond;
/// otherwise clock_gettime's nanoseconds directly.
class Clock {
public:
  Clock();
  static std::uint64_t now() noexcept;
  /// Records a fresh (ticks, wall time) pair; called by the writer before converting.
  void calibrate() noexcept;
  /// Seconds since the epoch of `ticks` (valid for ticks taken since construction).
  double seconds(std::uint64_t ticks) const noexcept;

private:
  std::uint64_t m_first_ticks = 0;
  double m_first_seconds = 0;
  std::uint64_t m_last_ticks = 0;
  double m_last_seconds = 0;
};

/// Producers hold the GIL (so one at a time) and append under a spin lock that the writer
/// holds only to swap buffers: the common path is one uncontended atomic exchange.
class SeriesWriter {
public:
  static constexpr std::size_t k_max_pending = 1u << 20; // ~40 MB before a producer waits

  /// Appends points; true when the queue is full (the caller then waits with wait_for_room(),
  /// having released the GIL). Updates the primary metric's best on the way.
  /// Points given while the writer is closed (before its first series, after close_all())
  /// are dropped: they would otherwise land in the next run's series.
  bool push(const SeriesPoint* points, std::size_t count) noexcept;
  /// Waits until the queue has room; false (at once) when the writer is closed meanwhile
  /// and nothing will drain it.
  bool wait_for_room();

  /// Opens `path` as series number size(); -1 with errno set on failure. A new file gets the
  /// header `step,value,time,stage`; an existing one with the older 3-column header is
  /// continued without the stage column.
  int add(const std::string& name, const std::string& path);
  std::size_t size() const noexcept { return m_series.size(); }

  /// Where experiment_summary.json goes; empty: nowhere (summary calls are refused upstream).
  void set_folder(std::string folder);
  /// False once seal() was called: the run is finishing and takes no more summary calls.
  bool has_folder() const;
  /// The series whose best value is kept from now on (registered yet or not), seeded with the
  /// best of the values the series was given already.
  void set_primary(const std::string& name, bool maximize);
  void merge_summary(const nlohmann::json& values);

  /// Refuses summary calls from now on (has_folder() is false) until the next set_folder():
  /// called while producers are still held off, before close_all() lets them run again.
  void seal();
  /// Writes everything queued and the summary, stops the thread, closes the files.
  void close_all();
  /// Why tracked values were lost since set_folder() (the first write of a series that failed,
  /// or the summary's last), or "" when none was: read after close_all(), when the thread that
  /// writes them has stopped.
  const std::string& lost() const noexcept { return m_lost; }

  /// Before a fork (an os.register_at_fork hook): holds the writer thread at the top of its loop,
  /// where it owns no lock and allocates nothing, and takes the writer's locks, so the forked
  /// process copies none of them held mid-change. Blocks for at most the batch being written.
  void pause_for_fork() noexcept;
  /// In the parent after a fork: the thread goes on, and writes what was queued before it.
  void resume_after_fork() noexcept;

private:
  /// The highest or lowest value of a series so far, for a primary metric set late.
  struct Extreme {
    std::optional<double> value;
    std::int64_t step = 0;
    std::uint64_t ticks = 0;
  };
  struct Series {
    int fd = -1;
    std::string name;
    std::string path;
    bool with_stage = true;
    Extreme highest; // kept by the writer thread
    Extreme lowest;
    off_t size = 0; // the bytes of whole lines: a write that fails part way is cut back to it
  };
  struct Primary {
    std::string name;
    bool maximize = true;
    int index = -1;
    std::optional<double> best;
    std::int64_t step = 0;
    std::uint64_t ticks = 0;
  };

  void lock() noexcept {
    while (m_spin.test_and_set(std::memory_order_acquire)) {
    }
  }
  void unlock() noexcept { m_spin.clear(std::memory_order_release); }
  void wake();
  void start(); // these two with m_control held
  void stop();
  void drain();
  void run();
  void park(std::unique_lock<std::mutex>& guard);
  void write(const std::vector<SeriesPoint>& batch);
  void flush(std::size_t index);
  void write_summary();
  void warn_once(const std::string& what);

  // What the producer writes on every point sits on cache lines of its own: were the writer
  // thread reading a neighbour (m_series, per point) the line would move between the cores
  // at each point, which alone costs more than the rest of track().
  alignas(64) std::vector<SeriesPoint> m_pending;
  std::atomic_flag m_spin = ATOMIC_FLAG_INIT;
  bool m_nudged = false;                    // under the spin lock: the writer was woken
  bool m_open = false;                      // under the spin lock: points are taken
  Primary m_primary;                        // under the spin lock
  alignas(64) std::vector<Series> m_series; // changed only while the thread is stopped
  std::vector<std::string> m_text;          // the writer's line buffers, one per series
  std::atomic<bool> m_summary_changed{false};
  mutable std::mutex m_summary_mutex; // m_summary, m_folder, m_sealed
  nlohmann::json m_summary = nlohmann::json::object();
  bool m_summary_used = false; // something was set: the file is owed
  std::string m_folder;
  bool m_sealed = false;
  Clock m_clock; // used by the writer thread only
  // Held while the thread is started or stopped and while m_series changes: a series added
  // from one thread while another closes the writer must not join the thread twice.
  std::mutex m_control;
  std::mutex m_mutex;
  std::condition_variable m_wake;
  bool m_stopping = false;
  bool m_full = false;    // a producer waits for room
  bool m_forking = false; // a fork is under way: the thread holds still
  bool m_parked = false;  // the thread holds still, at the top of its loop
  bool m_reported = false;
  std::string m_lost;            // why values were lost, until the next set_folder()
  std::string m_summary_failure; // why the summary's latest write failed
  std::thread m_thread;
};

/// The process's writer (tracker.cpp owns it; a forked process gets its own).
SeriesWriter& series_writer();

} // namespace xrun::python
