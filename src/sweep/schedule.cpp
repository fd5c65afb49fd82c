#include "sweep/schedule.hpp"

#include "core/diagnostics.hpp"
#include "sweep/row_text.hpp"
#include "sweep/runner.hpp"
#include "sweep/slurm.hpp"
#include "util/color.hpp"
#include "util/host.hpp"
#include "util/time.hpp"
#include "xrun/error.hpp"
#include "xrun/meta.hpp"

#include <algorithm>
#include <csignal>
#include <fmt/format.h>
#include <iostream>
#include <unistd.h>

namespace xrun::sweep {

namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr std::size_t k_tail_lines = 20; // of a worker's output, shown when it fails
constexpr std::chrono::milliseconds k_status_interval{500};

/// One `xrun run` of a variation.
struct Worker {
  int id = 0;
  std::size_t row = 0; // into manifest.rows
  std::vector<std::string> tail;
  SteadyClock::time_point started;
};

/// Runs rows of the manifest with up to `options.jobs` workers at a time.
class Execution {
public:
  Execution(Manifest& manifest, const Options& options, Workers& workers)
      : m_manifest(manifest), m_options(options), m_workers(workers),
        m_terminal(::isatty(STDERR_FILENO) != 0), m_color(util::color_enabled(STDERR_FILENO)) {}
  Execution(const Execution&) = delete;
  Execution& operator=(const Execution&) = delete;

  int run(const std::vector<std::size_t>& rows);

private:
  void launch(std::size_t row);
  void handle(const WorkerEvent& event);
  void handle_signal(int number);
  void output(int id, std::string line);
  void folder(int index, const std::string& run);
  void finished(int id, int exit_code);
  int close();
  void save();
  void say(const std::string& line);
  void draw_status();

  Manifest& m_manifest;
  const Options& m_options;
  Workers& m_workers;
  bool m_terminal;
  bool m_color; // statuses and message prefixes in color (stderr is a terminal)
  std::vector<Worker> m_running;
  std::size_t m_total = 0;
  std::size_t m_finished = 0;
  bool m_stopping = false;
  bool m_interrupted = false;
  bool m_status_drawn = false;
  SteadyClock::time_point m_start = SteadyClock::now();
};

void Execution::save() {
  try {
    m_manifest.save();
  } catch (const Error& error) {
    core::print_warning(error.what());
  }
}

void Execution::say(const std::string& line) {
  if (m_status_drawn) {
    std::cerr << "\r\033[K";
    m_status_drawn = false;
  }
  std::cerr << line << '\n';
}

void Execution::draw_status() {
  if (!m_terminal) {
    return;
  }
  std::map<std::string, int> counts;
  for (const auto& row : m_manifest.rows) {
    ++counts[row.status];
  }
  const auto left = m_total - m_finished - m_running.size();
  std::string text = fmt::format(
      "sweep {}: {} done, {} failed, {} running, {} left", m_manifest.id, counts["done"],
      counts["failed"] + counts["killed"] + counts["lost"], m_running.size(), left);
  if (m_finished > 0 && (left + m_running.size()) > 0) {
    const double elapsed = std::chrono::duration<double>(SteadyClock::now() - m_start).count();
    text += ", about " +
            duration_text(elapsed / double(m_finished) * double(left + m_running.size())) +
            " to go";
  }
  if (m_stopping) {
    text += " (stopping)";
  }
  std::cerr << "\r\033[K" << text << std::flush;
  m_status_drawn = true;
}

void Execution::launch(std::size_t index) {
  auto& row = m_manifest.rows[index];
  const int id = m_workers.start(m_manifest, row);
  m_running.push_back({.id = id, .row = index, .tail = {}, .started = SteadyClock::now()});
  row.status = "running";
  row.run.clear();
  row.job.clear();
  row.exit_code.reset();
}

void Execution::handle(const WorkerEvent& event) {
  if (const auto* signal = std::get_if<worker_event::Signal>(&event)) {
    handle_signal(signal->number);
  } else if (const auto* line = std::get_if<worker_event::Output>(&event)) {
    output(line->worker, line->line);
  } else if (const auto* report = std::get_if<worker_event::Folder>(&event)) {
    folder(report->row, report->run);
  } else if (const auto* end = std::get_if<worker_event::Ended>(&event)) {
    finished(end->worker, end->exit_code);
  }
}

void Execution::handle_signal(int number) {
  if (!m_stopping) {
    say(fmt::format("\nxrun: stopping the sweep: the running variations are interrupted, the "
                    "rest is left for `xrun sweep resume {}`",
                    m_manifest.id));
  }
  m_stopping = true;
  m_interrupted = true;
  // Workers have process groups of their own, so every signal reaches them from here, once:
  // a second Ctrl-C is a second one for their supervisors too (which then kill).
  const int forwarded = number == SIGHUP ? SIGTERM : number;
  for (const auto& worker : m_running) {
    m_workers.signal(worker.id, forwarded);
  }
}

void Execution::output(int id, std::string line) {
  const auto worker = std::find_if(m_running.begin(), m_running.end(),
                                   [id](const Worker& w) { return w.id == id; });
  if (worker == m_running.end()) {
    return;
  }
  if (m_options.verbose) {
    bool at_line_start = true; // a whole line
    say(fmt::format("[{}] {}", m_manifest.rows[worker->row].index,
                    m_color ? core::paint_message_prefixes(line, at_line_start) : line));
  }
  worker->tail.push_back(std::move(line));
  if (worker->tail.size() > k_tail_lines) {
    worker->tail.erase(worker->tail.begin());
  }
}

void Execution::folder(int index, const std::string& run) {
  for (auto& row : m_manifest.rows) {
    if (row.index == index) {
      row.run = run;
    }
  }
  save(); // the folder of a running variation is on record at once
}

void Execution::finished(int id, int exit_code) {
  const auto worker = std::find_if(m_running.begin(), m_running.end(),
                                   [id](const Worker& w) { return w.id == id; });
  if (worker == m_running.end()) {
    return;
  }
  auto& row = m_manifest.rows[worker->row];
  row.exit_code = exit_code;
  row.status = exit_code == 0     ? "done"
               : exit_code == 130 ? "interrupted"
               : exit_code > 128  ? "killed"
                                  : "failed";
  if (!row.run.empty()) {
    try { // the run's own record is the truth
      const auto meta = read_meta(m_manifest.namespace_dir / row.run);
      row.status = std::string(to_string(meta.status));
    } catch (const Error&) {
    }
  }
  ++m_finished;
  const double seconds =
      std::chrono::duration<double>(SteadyClock::now() - worker->started).count();
  auto shown = row_line(row, HashColumn::left_out,
                        {shown_parameters(row), duration_text(seconds),
                         row.run.empty() ? "(no run folder)" : row.run},
                        m_color);
  shown.pop_back(); // say() ends the line
  say(shown);
  const bool ok = row.status == "done" || row.status == "interrupted";
  if (!ok && !m_options.verbose) {
    for (const auto& line : worker->tail) {
      say("    " + line);
    }
  }
  if (!ok && m_options.fail_fast && !m_stopping) {
    say("xrun: --fail-fast: stopping the sweep");
    m_stopping = true;
    for (const auto& other : m_running) {
      if (other.id != id) {
        m_workers.signal(other.id, SIGTERM);
      }
    }
  }
  save();
  m_running.erase(worker);
}

int Execution::run(const std::vector<std::size_t>& rows) {
  m_total = rows.size();
  m_manifest.pid = ::getpid();
  m_manifest.host = util::host_name();
  m_manifest.pid_namespace = util::pid_namespace();
  m_manifest.pid_time = util::to_epoch_seconds(util::Clock::now());
  std::size_t next = 0;
  save();
  while (true) {
    // A signal that came while the last run was being recorded stops what would start next.
    for (const int number : m_workers.signals()) {
      handle_signal(number);
    }
    while (!m_stopping && next < rows.size() &&
           m_running.size() < static_cast<std::size_t>(m_options.jobs)) {
      launch(rows[next++]);
      save();
    }
    if (m_running.empty()) {
      break;
    }
    draw_status();
    for (const auto& event : m_workers.wait(k_status_interval)) {
      handle(event);
    }
  }
  return close();
}

/// Records how the sweep ended and says so.
int Execution::close() {
  if (m_status_drawn) {
    std::cerr << "\r\033[K" << std::flush;
  }
  m_manifest.state = m_interrupted ? "interrupted" : "finished";
  if (std::any_of(m_manifest.rows.begin(), m_manifest.rows.end(), slurm::in_slurms_hands)) {
    m_manifest.state = "submitted"; // some of it is still Slurm's to run
  }
  save();
  std::cerr << fmt::format("xrun: sweep {}: {}\n  {}\n", m_manifest.id, summary_of(m_manifest),
                           m_manifest.folder.string());
  const bool complete =
      std::all_of(m_manifest.rows.begin(), m_manifest.rows.end(),
                  [](const Row& row) { return row.status == "done" || row.status == "skipped"; });
  if (!complete) {
    std::cerr << fmt::format("  the rest: xrun sweep resume {} --path {}\n", m_manifest.id,
                             m_manifest.namespace_dir.string());
  }
  return m_interrupted ? 130 : complete ? 0 : 1;
}

} // namespace

std::vector<std::size_t> rows_not_done(Manifest& manifest,
                                       const std::map<std::string, std::string>& done) {
  std::vector<std::size_t> rows;
  for (std::size_t i = 0; i < manifest.rows.size(); ++i) {
    auto& row = manifest.rows[i];
    if (const auto found = done.find(row.run_hash); found != done.end()) {
      row.status = "skipped";
      row.run = found->second;
    } else {
      rows.push_back(i);
    }
  }
  return rows;
}

int run_rows(Manifest& manifest, const std::vector<std::size_t>& rows, const Options& options,
             Workers& workers) {
  return Execution(manifest, options, workers).run(rows);
}

} // namespace xrun::sweep
