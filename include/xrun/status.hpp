// The statuses a run can have, and the exit codes that go with them.
#pragma once

#include <optional>
#include <string_view>

namespace xrun {

enum class RunStatus {
  running,     // the supervisor is alive and refreshing the heartbeat
  done,        // the experiment returned
  failed,      // the experiment raised
  interrupted, // Ctrl-C or SIGTERM, forwarded to the experiment
  killed,      // the experiment died of a signal
  lost,        // derived, never written by a live run: the heartbeat went stale
};

/// The name written to experiment_meta.json (`"done"`).
std::string_view to_string(RunStatus status) noexcept;

/// The status with that name, or nullopt for an unknown name.
std::optional<RunStatus> parse_status(std::string_view name) noexcept;

/// True for statuses after which the run folder no longer changes.
bool is_final(RunStatus status) noexcept;

/// The exit code of `xrun run` for a run that ended with `status`: 0 done, 1 failed,
/// 130 interrupted, 128+signal killed.
int exit_code_for(RunStatus status, int signal = 0) noexcept;

} // namespace xrun
