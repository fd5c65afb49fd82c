#include "ui/events.hpp"

#include <nlohmann/json.hpp>
#include <sys/stat.h>

namespace xrun::ui {

namespace {

/// The size of a run's log, -1 when it cannot be seen (lstat: a link is not followed).
std::int64_t log_size(const std::filesystem::path& run) {
  struct stat info {};
  if (::lstat((run / "experiment_out.log").c_str(), &info) != 0 || !S_ISREG(info.st_mode)) {
    return -1;
  }
  return info.st_size;
}

} // namespace

ChangeWatcher::ChangeWatcher(std::filesystem::path root, std::vector<std::string> runs)
    : m_root(std::move(root)), m_runs(std::move(runs)) {
  for (const auto& run : m_runs) {
    m_log_sizes[run] = log_size(m_root / run);
  }
}

std::vector<Event> ChangeWatcher::poll() {
  std::vector<Event> events;
  for (const auto& run : m_runs) {
    const auto size = log_size(m_root / run);
    auto& known = m_log_sizes[run];
    if (size != known && size >= 0) {
      events.push_back({"log", nlohmann::json{{"run", run}, {"bytes", size}}.dump()});
    }
    known = size;
  }
  return events;
}

} // namespace xrun::ui
