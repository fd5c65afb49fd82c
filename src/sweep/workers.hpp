// The workers of a sweep on this machine: forked processes, each running one `xrun run`.
#pragma once

#include "core/child_process.hpp"
#include "sweep/schedule.hpp"
#include "util/line_reader.hpp"
#include "util/signal_pipe.hpp"

#include <sys/types.h>

namespace xrun::sweep {

struct Launcher;

/// Forks a worker per row, in a process group of its own and with no terminal input; its
/// output (stdout and stderr) comes back through a pipe, its run folder through another. The
/// sweep process's SIGINT, SIGTERM and SIGHUP are caught for as long as this object lives.
class ProcessWorkers final : public Workers {
public:
  /// `lock_fd`: the sweep's lock, which workers close (it is the sweep process's).
  ProcessWorkers(const Launcher& launcher, int lock_fd);
  ProcessWorkers(const ProcessWorkers&) = delete;
  ProcessWorkers& operator=(const ProcessWorkers&) = delete;
  ~ProcessWorkers() override;

  int start(const Manifest& manifest, const Row& row) override;
  void signal(int id, int number) override;
  std::vector<int> signals() override;
  std::vector<WorkerEvent> wait(std::chrono::milliseconds timeout) override;

private:
  struct Process {
    pid_t pid = -1;
    int output = -1; // its stdout and stderr; -1 once at its end
    util::LineReader lines{util::CarriageReturn::line_end}; // a last line without `\n` is dropped
  };

  int work(const Manifest& manifest, const Row& row, const core::Pipe& output);
  void read_output(Process& process, std::vector<WorkerEvent>& events);
  void read_reports(std::vector<WorkerEvent>& events);
  void take_signals(std::vector<WorkerEvent>& events);
  void reap(std::vector<WorkerEvent>& events);

  const Launcher& m_launcher;
  int m_lock;
  util::SignalPipe m_signals{SIGINT, SIGTERM, SIGHUP, SIGCHLD};
  core::Pipe m_reports; // workers -> sweep: "<index>\t<run folder>" lines
  util::LineReader m_report_lines;
  std::vector<Process> m_processes;
};

} // namespace xrun::sweep
