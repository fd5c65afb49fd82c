#include "xrun/status.hpp"

#include "util/enum_names.hpp"

namespace xrun {

namespace {

constexpr util::NameTable<RunStatus, 6> k_names{{
    {RunStatus::running, "running"},
    {RunStatus::done, "done"},
    {RunStatus::failed, "failed"},
    {RunStatus::interrupted, "interrupted"},
    {RunStatus::killed, "killed"},
    {RunStatus::lost, "lost"},
}};

} // namespace

std::string_view to_string(RunStatus status) noexcept {
  return util::name_of(k_names, status, "unknown");
}

std::optional<RunStatus> parse_status(std::string_view name) noexcept {
  return util::value_of(k_names, name);
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
