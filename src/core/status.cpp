#include "xrun/status.hpp"

#include <array>
#include <utility>

namespace xrun {

namespace {

constexpr std::array<std::pair<RunStatus, std::string_view>, 6> k_names{{
    {RunStatus::running, "running"},
    {RunStatus::done, "done"},
    {RunStatus::failed, "failed"},
    {RunStatus::interrupted, "interrupted"},
    {RunStatus::killed, "killed"},
    {RunStatus::lost, "lost"},
}};

} // namespace

std::string_view to_string(RunStatus status) noexcept {
  for (const auto& [value, name] : k_names) {
    if (value == status) {
      return name;
    }
  }
  return "unknown";
}

std::optional<RunStatus> parse_status(std::string_view name) noexcept {
  for (const auto& [value, known] : k_names) {
    if (known == name) {
      return value;
    }
  }
  return std::nullopt;
}

bool is_final(RunStatus status) noexcept {
  return status != RunStatus::running;
}

int exit_code_for(RunStatus status, int signal) noexcept {
  switch (status) {
  case RunStatus::done:
    return 0;
  case RunStatus::failed:
    return 1;
  case RunStatus::interrupted:
    return 130;
  case RunStatus::killed:
    return 128 + signal;
  case RunStatus::running:
  case RunStatus::lost:
    break;
  }
  return 1;
}

} // namespace xrun
