// System metrics of a run, sampled by its supervisor (or watcher) and written as series under
// `.track/sys/`: CPU %, resident memory and I/O of the experiment's process tree (from /proc),
// and each GPU's utilisation and memory through NVML, loaded at run time when it is there.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

namespace xrun::run {

class Nvml; // the NVIDIA management library, when present

/// The series files of one run's system metrics, one sample at a time.
class SystemMetrics {
public:
  /// Samples the process tree rooted at `root` into `<run folder>/.track/sys/`.
  /// `started_now`: `root` has only just started (a forked experiment), so the CPU time it
  /// has is the first interval's; else (an adopted script) it is measured from now on, which
  /// costs a scan of /proc here.
  SystemMetrics(std::filesystem::path run_folder, pid_t root, bool started_now);
  SystemMetrics(const SystemMetrics&) = delete;
  SystemMetrics& operator=(const SystemMetrics&) = delete;
  ~SystemMetrics();

  /// Appends one line to each series: cpu_percent (of one core, summed over the tree since the
  /// last sample), rss_bytes, io_read_bytes and io_write_bytes (of the live tree, as the
  /// kernel counts them), and gpu<N>_util_percent, gpu<N>_memory_bytes per GPU. A file that
  /// cannot be written is skipped (warned of once): the run goes on.
  void sample();

  /// The names of the series written so far ("sys/cpu_percent", ...), for the meta.
  std::vector<std::string> series() const;

private:
  void append(const std::string& name, double value, double time);

  std::filesystem::path m_folder; // .track/sys
  pid_t m_root;
  long m_step = 0;
  double m_last_time = 0;                      // of the last sample (steady seconds)
  unsigned long long m_last_ticks = 0;         // CPU ticks of the tree at the last sample
  std::map<pid_t, unsigned long long> m_ticks; // each process's ticks at the last sample
  std::map<std::string, int> m_files;          // open series files by name
  std::unique_ptr<Nvml> m_nvml; // loaded at the first sample, off the run's start
  bool m_warned = false;
};

} // namespace xrun::run
