#include "sweep/workers.hpp"

#include "sweep/runner.hpp"
#include "xrun/error.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace xrun::sweep {

ProcessWorkers::ProcessWorkers(const Launcher& launcher, int lock_fd)
    : m_launcher(launcher), m_lock(lock_fd) {
  ::fcntl(m_reports.read_end(), F_SETFL, O_NONBLOCK);
}

ProcessWorkers::~ProcessWorkers() {
  for (const auto& process : m_processes) {
    if (process.output >= 0) {
      ::close(process.output);
    }
  }
}

int ProcessWorkers::start(const Manifest& manifest, const Row& row) {
  core::Pipe output;
  const pid_t pid = core::fork_child(
      "a worker", {SIGINT, SIGTERM, SIGHUP, SIGCHLD}, [&] { return work(manifest, row, output); },
      core::EscapedError::usage);
  ::setpgid(pid, pid); // as the worker does itself: whichever comes first
  output.close_write();
  Process process;
  process.pid = pid;
  process.output = output.release_read();
  m_processes.push_back(std::move(process));
  return pid;
}

/// In the forked worker: this program, already loaded, running one `xrun run` of `row`. In a
/// process group of its own (signals come from the sweep, see Workers::signal), with no
/// terminal input: the runs of a sweep go on side by side.
int ProcessWorkers::work(const Manifest& manifest, const Row& row, const core::Pipe& output) {
  ::setpgid(0, 0);
  if (const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC); null >= 0) {
    ::dup2(null, STDIN_FILENO);
    ::close(null);
  }
  ::dup2(output.write_end(), STDOUT_FILENO);
  ::dup2(output.write_end(), STDERR_FILENO);
  // The sweep's descriptors stay open across fork (close-on-exec, but no exec comes): close
  // what this run must not hold, so that its experiment does not inherit them.
  for (int fd : util::SignalPipe::descriptors()) {
    ::close(fd);
  }
  for (const auto& other : m_processes) {
    ::close(other.output);
  }
  ::close(output.read_end());
  ::close(output.write_end());
  ::close(m_reports.read_end());
  ::close(m_lock); // the sweep's lock is the sweep process's, not its runs'

  const int reports = m_reports.write_end();
  const nlohmann::json sweep_record = {{"id", manifest.id}, {"index", row.index}};
  return m_launcher.run(manifest.request, row.settings, sweep_record,
                        [reports, &row](const std::filesystem::path& folder) {
                          const auto line =
                              fmt::format("{}\t{}\n", row.index, folder.filename().string());
                          [[maybe_unused]] const auto ignored =
                              ::write(reports, line.data(), line.size());
                        });
}

void ProcessWorkers::signal(int id, int number) {
  ::kill(id, number);
}

std::vector<int> ProcessWorkers::signals() {
  std::vector<int> numbers;
  while (const auto caught = m_signals.next()) {
    if (caught->number != SIGCHLD) { // only wakes the poll: wait() reaps
      numbers.push_back(caught->number);
    }
  }
  return numbers;
}

void ProcessWorkers::take_signals(std::vector<WorkerEvent>& events) {
  for (const int number : signals()) {
    events.emplace_back(worker_event::Signal{number});
  }
}

void ProcessWorkers::read_output(Process& process, std::vector<WorkerEvent>& events) {
  char buffer[65536];
  const ssize_t got = ::read(process.output, buffer, sizeof buffer);
  if (got < 0 && errno == EINTR) {
    return;
  }
  if (got <= 0) {
    ::close(process.output);
    process.output = -1;
    return;
  }
  process.lines.feed(std::string_view(buffer, static_cast<std::size_t>(got)),
                     [&](std::string_view line) {
                       events.emplace_back(worker_event::Output{process.pid, std::string(line)});
                     });
}

void ProcessWorkers::read_reports(std::vector<WorkerEvent>& events) {
  char buffer[4096];
  const ssize_t got = ::read(m_reports.read_end(), buffer, sizeof buffer);
  if (got <= 0) {
    return;
  }
  m_report_lines.feed(
      std::string_view(buffer, static_cast<std::size_t>(got)), [&](std::string_view line) {
        const auto tab = line.find('\t');
        if (tab != std::string_view::npos) {
          events.emplace_back(worker_event::Folder{std::stoi(std::string(line.substr(0, tab))),
                                                   std::string(line.substr(tab + 1))});
        }
      });
}

void ProcessWorkers::reap(std::vector<WorkerEvent>& events) {
  for (;;) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) {
      return;
    }
    const auto it = std::find_if(m_processes.begin(), m_processes.end(),
                                 [pid](const Process& process) { return process.pid == pid; });
    if (it != m_processes.end()) {
      read_reports(events);
      while (it->output >= 0) {
        read_output(*it, events); // what it wrote last
      }
      events.emplace_back(worker_event::Ended{pid, core::exit_code_of(status)});
      m_processes.erase(it);
    }
  }
}

std::vector<WorkerEvent> ProcessWorkers::wait(std::chrono::milliseconds timeout) {
  std::vector<pollfd> fds{{m_signals.fd(), POLLIN, 0}, {m_reports.read_end(), POLLIN, 0}};
  for (const auto& process : m_processes) {
    fds.push_back({process.output, POLLIN, 0});
  }
  if (::poll(fds.data(), fds.size(), static_cast<int>(timeout.count())) < 0 && errno != EINTR) {
    throw SystemError(fmt::format("poll failed: {}", std::strerror(errno)));
  }
  std::vector<WorkerEvent> events;
  if (fds[0].revents & POLLIN) {
    take_signals(events);
  }
  if (fds[1].revents & POLLIN) {
    read_reports(events);
  }
  for (std::size_t i = 2; i < fds.size(); ++i) {
    if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
      const auto it = std::find_if(m_processes.begin(), m_processes.end(),
                                   [&](const Process& p) { return p.output == fds[i].fd; });
      if (it != m_processes.end() && it->output >= 0) {
        read_output(*it, events);
      }
    }
  }
  reap(events);
  return events;
}

} // namespace xrun::sweep
