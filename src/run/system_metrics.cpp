#include "run/system_metrics.hpp"

#include "core/diagnostics.hpp"
#include "core/run_files.hpp"
#include "util/fs.hpp"
#include "util/time.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <fstream>
#include <sstream>
#include <system_error>
#include <unistd.h>

namespace xrun::run {

/// NVML through dlopen: xrun neither links against nor needs the NVIDIA driver.
class Nvml {
public:
  Nvml() {
    m_library = ::dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (m_library == nullptr) {
      return;
    }
    const auto init = symbol<int (*)()>("nvmlInit_v2");
    const auto count = symbol<int (*)(unsigned*)>("nvmlDeviceGetCount_v2");
    m_handle = symbol<decltype(m_handle)>("nvmlDeviceGetHandleByIndex_v2");
    m_utilization = symbol<decltype(m_utilization)>("nvmlDeviceGetUtilizationRates");
    m_memory = symbol<decltype(m_memory)>("nvmlDeviceGetMemoryInfo");
    if (!init || !count || !m_handle || !m_utilization || !m_memory || init() != 0 ||
        count(&m_devices) != 0) {
      m_devices = 0;
    }
  }
  Nvml(const Nvml&) = delete;
  Nvml& operator=(const Nvml&) = delete;
  ~Nvml() {
    if (m_library != nullptr) {
      if (const auto shutdown = symbol<int (*)()>("nvmlShutdown"); shutdown && m_devices > 0) {
        shutdown();
      }
      ::dlclose(m_library);
    }
  }

  unsigned devices() const { return m_devices; }

  /// GPU `index`'s utilisation (%) and memory used (bytes); false when NVML cannot tell.
  bool read(unsigned index, double& utilization, double& memory) const {
    void* device = nullptr;
    struct {
      unsigned gpu, memory;
    } rates{};
    struct {
      unsigned long long total, free, used;
    } info{};
    if (m_handle(index, &device) != 0 || m_utilization(device, &rates) != 0 ||
        m_memory(device, &info) != 0) {
      return false;
    }
    utilization = rates.gpu;
    memory = static_cast<double>(info.used);
    return true;
  }

private:
  template <class Function> Function symbol(const char* name) const {
    return reinterpret_cast<Function>(::dlsym(m_library, name));
  }

  void* m_library = nullptr;
  unsigned m_devices = 0;
  int (*m_handle)(unsigned, void**) = nullptr;
  int (*m_utilization)(void*, void*) = nullptr;
  int (*m_memory)(void*, void*) = nullptr;
};

namespace {

struct ProcessSample {
  pid_t parent = 0;
  unsigned long long ticks = 0; // user + system time
  unsigned long long rss_pages = 0;
};

/// /proc/<pid>/stat's parent, times and resident pages; nullopt for a process gone.
std::optional<ProcessSample> read_stat(pid_t pid) {
  const auto text = util::read_file(fmt::format("/proc/{}/stat", pid));
  if (!text) {
    return std::nullopt;
  }
  // The command name is in parentheses and may hold anything: fields follow the last ')'.
  const auto close = text->rfind(')');
  if (close == std::string::npos) {
    return std::nullopt;
  }
  std::istringstream fields(text->substr(close + 1));
  std::string state;
  ProcessSample sample;
  unsigned long long skip = 0, utime = 0, stime = 0;
  fields >> state >> sample.parent;
  for (int i = 0; i < 9; ++i) { // pgrp .. cmajflt
    fields >> skip;
  }
  fields >> utime >> stime;
  for (int i = 0; i < 8; ++i) { // cutime .. vsize
    fields >> skip;
  }
  fields >> sample.rss_pages;
  if (!fields) {
    return std::nullopt;
  }
  sample.ticks = utime + stime;
  return sample;
}

/// The processes of the tree rooted at `root`, with their samples.
std::map<pid_t, ProcessSample> process_tree(pid_t root) {
  std::map<pid_t, ProcessSample> all;
  if (DIR* proc = ::opendir("/proc")) {
    while (const dirent* entry = ::readdir(proc)) {
      char* end = nullptr;
      const long pid = std::strtol(entry->d_name, &end, 10);
      if (pid > 0 && *end == '\0') {
        if (auto sample = read_stat(static_cast<pid_t>(pid))) {
          all.emplace(static_cast<pid_t>(pid), *sample);
        }
      }
    }
    ::closedir(proc);
  }
  std::map<pid_t, ProcessSample> tree;
  if (all.count(root) == 0) {
    return tree;
  }
  std::vector<pid_t> pending{root};
  while (!pending.empty()) {
    const pid_t pid = pending.back();
    pending.pop_back();
    tree.emplace(pid, all[pid]);
    for (const auto& [child, sample] : all) {
      if (sample.parent == pid && tree.count(child) == 0) {
        pending.push_back(child);
      }
    }
  }
  return tree;
}

/// /proc/<pid>/io's read_bytes and write_bytes (0 where it cannot be read).
std::pair<double, double> read_io(pid_t pid) {
  std::ifstream io(fmt::format("/proc/{}/io", pid));
  std::string key;
  unsigned long long value = 0, read = 0, written = 0;
  while (io >> key >> value) {
    if (key == "read_bytes:") {
      read = value;
    } else if (key == "write_bytes:") {
      written = value;
    }
  }
  return {static_cast<double>(read), static_cast<double>(written)};
}

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

} // namespace

SystemMetrics::SystemMetrics(std::filesystem::path run_folder, pid_t root, bool started_now)
    : m_folder(std::move(run_folder) / core::k_track_folder / "sys"), m_root(root),
      m_last_time(steady_seconds()) {
  if (started_now) {
    return;
  }
  for (const auto& [pid, sample] : process_tree(m_root)) {
    m_ticks[pid] = sample.ticks;
  }
}

SystemMetrics::~SystemMetrics() {
  for (const auto& [name, fd] : m_files) {
    ::close(fd);
  }
}

void SystemMetrics::sample() {
  const double now = steady_seconds();
  const double time = util::to_epoch_seconds(util::Clock::now());
  const auto tree = process_tree(m_root);
  if (tree.empty()) {
    return; // the experiment is gone
  }
  // CPU time since the last sample of the processes alive now (one that ended meanwhile
  // takes its last interval with it: a sample is a lower bound, never an invention).
  unsigned long long busy = 0;
  double rss = 0, read = 0, written = 0;
  std::map<pid_t, unsigned long long> ticks;
  for (const auto& [pid, sample] : tree) {
    const auto last = m_ticks.find(pid);
    const auto before = last == m_ticks.end() ? 0ULL : last->second;
    busy += sample.ticks >= before ? sample.ticks - before : 0;
    ticks[pid] = sample.ticks;
    rss += static_cast<double>(sample.rss_pages) * static_cast<double>(::sysconf(_SC_PAGESIZE));
    const auto [r, w] = read_io(pid);
    read += r;
    written += w;
  }
  m_ticks = std::move(ticks);
  const double elapsed = std::max(now - m_last_time, 1e-3);
  m_last_time = now;
  const double cpu =
      100.0 * static_cast<double>(busy) / static_cast<double>(::sysconf(_SC_CLK_TCK)) / elapsed;
  append("cpu_percent", std::round(cpu * 100) / 100, time);
  append("rss_bytes", rss, time);
  append("io_read_bytes", read, time);
  append("io_write_bytes", written, time);
  if (!m_nvml) {
    m_nvml = std::make_unique<Nvml>();
  }
  for (unsigned gpu = 0; gpu < m_nvml->devices(); ++gpu) {
    double utilization = 0, memory = 0;
    if (m_nvml->read(gpu, utilization, memory)) {
      append(fmt::format("gpu{}_util_percent", gpu), utilization, time);
      append(fmt::format("gpu{}_memory_bytes", gpu), memory, time);
    }
  }
  ++m_step;
}

void SystemMetrics::append(const std::string& name, double value, double time) {
  auto found = m_files.find(name);
  try {
    if (found == m_files.end()) {
      std::filesystem::create_directories(m_folder);
      const auto path = m_folder / (name + ".csv");
      const int fd =
          ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0666);
      if (fd < 0) {
        throw std::system_error(errno, std::generic_category(), "cannot create " + path.string());
      }
      found = m_files.emplace(name, fd).first;
      util::write_all(fd, core::k_series_header, path);
    }
    // Whole lines in one write: a reader never sees half of one.
    util::write_all(found->second, fmt::format("{},{},{:.3f},\n", m_step, value, time),
                    m_folder / (name + ".csv"));
  } catch (const std::exception& error) {
    if (!m_warned) {
      m_warned = true;
      core::print_warning(fmt::format("system metrics: {} (the run goes on)", error.what()));
    }
  }
}

std::vector<std::string> SystemMetrics::series() const {
  std::vector<std::string> names;
  for (const auto& [name, fd] : m_files) {
    names.push_back("sys/" + name);
  }
  return names;
}

} // namespace xrun::run
