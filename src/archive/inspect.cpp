#include "archive/inspect.hpp"

#include "archive/lineage.hpp"
#include "archive/runs.hpp"
#include "archive/sdk_content.hpp"
#include "core/diagnostics.hpp"
#include "core/run_files.hpp"
#include "util/color.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"
#include "util/table.hpp"
#include "util/time.hpp"
#include "xrun/error.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <ctime>
#include <fmt/format.h>
#include <iostream>
#include <sstream>
#include <thread>
#include <unistd.h>
#include <utility>

namespace xrun::archive {

namespace {

using Json = nlohmann::json;



/// Data values as `a/b/c = value` lines, lists shown whole up to a length.
void flatten(const Json& node, const std::string& prefix, std::vector<std::string>& lines) {
  if (node.is_object() && !node.empty()) {
    for (const auto& [key, value] : node.items()) {
      flatten(value, prefix.empty() ? key : prefix + "/" + key, lines);
    }
    return;
  }
  lines.push_back(fmt::format("{} = {}", prefix, short_json(node)));
}

/// A field of a meta's object as text: a string as it is, anything else as JSON ("?" when
/// it is missing). Hand-edited metas may hold anything.
std::string field_text(const nlohmann::ordered_json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end()) {
    return "?";
  }
  return it->is_string() ? it->get<std::string>() : it->dump();
}

double now_seconds() {
  return util::to_epoch_seconds(util::Clock::now());
}

/// Why a lost run is lost, for the user and for its meta.
std::string lost_because(const RunSummary& summary) {
  if (liveness_here(summary.supervisor()) == Liveness::gone) {
    return fmt::format("its supervisor (pid {} on {}) is gone; its last heartbeat was at {}",
                       summary.pid, summary.host, util::format_local(summary.heartbeat));
  }
  return fmt::format("its supervisor stopped updating the heartbeat at {} (host {} pid {})",
                     util::format_local(summary.heartbeat), summary.host, summary.pid);
}

} // namespace

std::string short_json(const Json& value, std::size_t limit) {
  auto text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() > limit) {
    text = text.substr(0, limit - 3) + "...";
  }
  return text;
}

namespace {

/// The index in `runs` (the runs under `root`) of the run `text` names: its id, its folder
/// within the archive, or a unique part of its id. Throws UsageError.
std::size_t match_run(const std::vector<Run>& runs, const std::filesystem::path& root,
                      const std::string& text) {
  std::vector<std::size_t> matches;
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const auto relative = runs[i].relative();
    const auto slash = relative.rfind('/');
    const auto id = std::string(slash == std::string_view::npos ? relative
                                                                : relative.substr(slash + 1));
    if (id == text || relative == text) {
      return i;
    }
    if (id.find(text) != std::string::npos) {
      matches.push_back(i);
    }
    ids.push_back(id);
  }
  if (matches.size() == 1) {
    return matches.front();
  }
  if (matches.size() > 1) {
    throw UsageError(fmt::format("'{}' names {} runs in {}", text, matches.size(), root.string()),
                     fmt::format("give more of the id, e.g. {}",
                                 runs[matches.front()].folder().filename().string()));
  }
  const auto close = util::closest_match(text, ids);
  throw UsageError(fmt::format("no run '{}' in {}", text, root.string()),
                   close ? fmt::format("did you mean {}?", *close)
                         : "xrun archive list shows the runs");
}

bool is_run_folder(const std::string& text) {
  std::error_code error;
  // Whatever holds the meta's name (a dangling link too) makes a run folder, to be shown as
  // corrupt rather than not found.
  return std::filesystem::exists(
      std::filesystem::symlink_status(std::filesystem::path(text) / k_meta_file, error));
}

} // namespace

std::filesystem::path resolve_run(const std::filesystem::path& root, const std::string& text) {
  if (is_run_folder(text)) {
    return text;
  }
  const auto runs = find_runs(root);
  return runs[match_run(runs, root, text)].folder();
}

namespace {

/// The runs of `runs` (the runs found under `root`) that `texts` name, as resolve_run finds
/// them, each once, in the order given. A folder given by its path must be one of `runs`.
std::vector<Run> pick_runs(std::vector<Run> runs, const std::filesystem::path& root,
                           const std::vector<std::string>& texts) {
  std::error_code error;
  const auto real_root = std::filesystem::weakly_canonical(root, error);
  std::vector<std::size_t> picked;
  for (const auto& text : texts) {
    std::size_t index = runs.size();
    if (is_run_folder(text)) {
      const auto inside =
          std::filesystem::weakly_canonical(text, error).lexically_relative(real_root).string();
      for (std::size_t i = 0; i < runs.size() && !inside.empty(); ++i) {
        if (runs[i].relative() == inside) {
          index = i;
        }
      }
      if (index == runs.size()) {
        throw UsageError(fmt::format("{} is not a run of the archive {}", text, root.string()),
                         "--path names the archive the run belongs to");
      }
    } else {
      index = match_run(runs, root, text);
    }
    if (std::find(picked.begin(), picked.end(), index) == picked.end()) {
      picked.push_back(index);
    }
  }
  std::vector<Run> chosen;
  chosen.reserve(picked.size());
  for (const auto index : picked) {
    chosen.push_back(std::move(runs[index]));
  }
  return chosen;
}

} // namespace

std::vector<Run> chosen_runs(const std::filesystem::path& root, const RunChoice& choice,
                             std::string_view command) {
  if (!choice.runs.empty() && (choice.where || choice.all)) {
    throw UsageError(fmt::format("{}: give runs, or --where EXPR, or --all; not both", command));
  }
  if (choice.runs.empty() && !choice.where && !choice.all) {
    throw UsageError(fmt::format("{} needs runs (ids or folders), --where EXPR or --all", command),
                     "choose the runs first; `xrun archive list --where ...` shows them");
  }
  if (choice.runs.empty()) {
    return select_runs(root, choice.where, now_seconds());
  }
  return pick_runs(find_runs(root), root, choice.runs);
}

std::optional<std::vector<double>> read_series(const std::filesystem::path& folder,
                                               std::string_view name) {
  const auto text = core::read_run_file(folder, name, core::k_max_data_bytes);
  if (!text) {
    return std::nullopt;
  }
  std::vector<double> values;
  std::string_view rest = *text;
  bool header = true;
  while (!rest.empty()) {
    const auto end = rest.find('\n');
    if (end == std::string_view::npos) {
      break; // a torn last record (the writer was killed mid-line)
    }
    const auto line = rest.substr(0, end);
    rest.remove_prefix(end + 1);
    if (std::exchange(header, false)) {
      continue;
    }
    const auto first = line.find(',');
    const auto second = line.find(',', first + 1);
    if (first == std::string_view::npos || second == std::string_view::npos) {
      continue;
    }
    const std::string number(line.substr(first + 1, second - first - 1));
    char* stop = nullptr;
    const double value = std::strtod(number.c_str(), &stop);
    if (stop != number.c_str()) {
      values.push_back(value); // NaN and infinities too: they are counted, not drawn
    }
  }
  return values;
}

SeriesSummary summarize_series(const std::vector<double>& values) {
  SeriesSummary summary;
  summary.points = values.size();
  for (const double value : values) {
    if (std::isfinite(value)) {
      summary.finite.push_back(value);
    }
  }
  return summary;
}

std::string sparkline(const std::vector<double>& values, std::size_t width) {
  static const char* k_bars[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  if (values.empty() || width == 0) {
    return "";
  }
  // Thousands of points become `width` buckets, each the mean of its points.
  const std::size_t buckets = std::min(width, values.size());
  std::vector<double> means(buckets, 0.0);
  for (std::size_t b = 0; b < buckets; ++b) {
    const std::size_t from = b * values.size() / buckets;
    const std::size_t to = std::max(from + 1, (b + 1) * values.size() / buckets);
    double sum = 0;
    for (std::size_t i = from; i < to; ++i) {
      sum += values[i];
    }
    means[b] = sum / static_cast<double>(to - from);
  }
  const auto [low, high] = std::minmax_element(means.begin(), means.end());
  std::string line;
  for (const double value : means) {
    const double span = *high - *low;
    const auto level = span > 0 ? static_cast<std::size_t>((value - *low) / span * 7.0 + 0.5) : 3;
    line += k_bars[std::min<std::size_t>(level, 7)];
  }
  return line;
}

namespace {

/// What stopped a run, from its meta's `interrupted_by`: the signal and why, the signal named
/// once (`SIGINT (Ctrl-C)`, also for a reason that starts with its signal's name).
std::string stopped_by(const nlohmann::ordered_json& why) {
  const auto signal = field_text(why, "signal");
  if (!why.contains("reason")) {
    return signal;
  }
  const auto reason = field_text(why, "reason");
  return reason.starts_with(signal) ? reason : fmt::format("{} ({})", signal, reason);
}

/// The series found under `.track/` (`train/loss` for `.track/train/loss.csv` or for the
/// figures `.track/train/loss_000.png`), sorted. Links are not followed.
std::vector<std::string> series_on_disk(const std::filesystem::path& folder) {
  std::set<std::string> names;
  const auto track = folder / core::k_track_folder;
  std::error_code error;
  if (!std::filesystem::is_directory(std::filesystem::symlink_status(track, error))) {
    return {};
  }
  for (std::filesystem::recursive_directory_iterator it(track, error), end; !error && it != end;
       it.increment(error)) {
    if (!std::filesystem::is_regular_file(it->symlink_status(error))) {
      continue;
    }
    auto name = it->path().lexically_relative(track).generic_string();
    if (name.ends_with(".csv")) {
      names.insert(name.substr(0, name.size() - 4));
    } else if (const auto mark = name.rfind('_');
               name.ends_with(".png") && mark != std::string::npos && name.size() - mark == 8 &&
               std::all_of(name.begin() + static_cast<std::ptrdiff_t>(mark) + 1, name.end() - 4,
                           [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
      names.insert(name.substr(0, mark)); // NAME_NNN.png: a figure of NAME
    }
  }
  return {names.begin(), names.end()};
}

/// One series as `show` prints it: a sparkline and its last, min and max of the finite
/// values, and how many points (and how many of them not finite).
std::string series_line(const std::filesystem::path& folder, const std::string& name) {
  std::optional<std::vector<double>> values;
  try {
    values = read_series(folder, ".track/" + name + ".csv");
  } catch (const Error& problem) {
    return fmt::format("({})", problem.what());
  }
  if (!values) {
    return "(images in .track/)";
  }
  const auto series = summarize_series(*values);
  if (series.points == 0) {
    return "(no points yet)";
  }
  if (series.finite.empty()) {
    return fmt::format("({}, none finite)", util::count_of(series.points, "point"));
  }
  const auto [low, high] = std::minmax_element(series.finite.begin(), series.finite.end());
  return fmt::format("{}  last {:.6g}  min {:.6g}  max {:.6g}  ({}{})",
                     sparkline(series.finite, 40), series.finite.back(), *low, *high,
                     util::count_of(series.points, "point"),
                     series.not_finite() ? fmt::format(", {} not finite", series.not_finite())
                                         : "");
}

/// show's lines on where the run comes from: its sweep, the run it reproduces, its code.
void show_origin(const RunMeta& meta, std::ostream& out) {
  if (const auto sweep = meta.extra.find("sweep"); sweep != meta.extra.end() &&
                                                    sweep->is_object()) {
    out << fmt::format("  sweep       {}, variation {}", field_text(*sweep, "id"),
                       field_text(*sweep, "index"));
    if (const auto slurm = sweep->find("slurm"); slurm != sweep->end() && slurm->is_object()) {
      out << fmt::format("   Slurm job {}", field_text(*slurm, "job_id"));
    }
    out << '\n';
  }
  if (const auto origin = meta.extra.find("reproduces"); origin != meta.extra.end() &&
                                                         origin->is_object()) {
    out << fmt::format("  reproduces  {}\n", field_text(*origin, origin->contains("run") ? "run"
                                                                                  : "id"));
  }
  out << fmt::format("  experiment  {}{}\n", meta.experiment_path,
                     meta.config_path.empty() ? "" : "   config " + meta.config_path);
  out << fmt::format("  python      {} ({})   xrun {}\n", meta.python_version,
                     meta.python_executable, meta.xrun_version);
  if (meta.git) {
    out << fmt::format("  git         {} on {}{}\n", meta.git->commit.substr(0, 12),
                       meta.git->branch, meta.git->dirty ? " (dirty: " + meta.git->diff_file + ")"
                                                         : "");
  }
}

/// show's parameter table: name, type, value, [source].
void show_parameters(const RunMeta& meta, std::ostream& out) {
  out << "\nparameters\n";
  // name, type, value, [source]
  util::Table parameters({{}, {.after = " = "}, {.after = "   "}}, "  ");
  for (const auto& parameter : meta.parameters) {
    // A value JSON cannot hold exactly (NaN, a big int) is shown as the run had it.
    const auto exact = parameter.extra.find("exact");
    parameters.add_row({parameter.name, parameter.type,
                        exact != parameter.extra.end() && exact->is_string()
                            ? exact->get<std::string>()
                            : short_json(plain_json(parameter.value)),
                        fmt::format("[{}]", to_string(parameter.source))});
  }
  out << parameters.render();
}

/// show's lines on a function run's inputs: name, reference, the start of the file's SHA-256,
/// and the run that made it as `archive list` shows it, when it is in the archive.
void show_inputs(const Lineage& lineage, std::ostream& out) {
  if (lineage.inputs.empty()) {
    return;
  }
  out << "\ninputs\n";
  util::Table table({}, "  ");
  for (const auto& input : lineage.inputs) {
    table.add_row({util::printable(input.name), util::printable(input.ref),
                   input.sha256.empty() ? "-" : "sha256 " + input.sha256.substr(0, 12),
                   input.listed.empty() ? "" : "from " + util::printable(input.listed)});
  }
  out << table.render(false, util::TrailingSpaces::trimmed);
}

/// show's lines on the runs of the archive that took this run's outputs as inputs.
void show_consumers(const Lineage& lineage, std::ostream& out) {
  if (lineage.consumers.empty()) {
    return;
  }
  out << "\nconsumers\n";
  util::Table table({}, "  ");
  for (const auto& consumer : lineage.consumers) {
    table.add_row(
        {util::printable(consumer.listed),
         fmt::format("{} <- {}", util::printable(consumer.input),
                     consumer.output.empty() ? "a file" : util::printable(consumer.output))});
  }
  out << table.render();
}

/// show --json: the run's meta and data as recorded, with its status now, inputs and consumers.
int show_run_json(const std::filesystem::path& folder, const RunMeta& meta,
                  const std::string& status, const Lineage& lineage, std::ostream& out) {
  std::string problem;
  const auto data = core::read_data_values(folder, problem);
  const nlohmann::ordered_json shown = {
      {"path", std::filesystem::absolute(folder).lexically_normal().string()},
      {"id", meta.id},
      {"status", status},
      {"meta", nlohmann::ordered_json::parse(serialize_meta(meta))},
      {"data", data && problem.empty() ? nlohmann::ordered_json::parse(data->dump())
                                       : nlohmann::ordered_json()},
      {"inputs", inputs_json(lineage)},
      {"consumers", consumers_json(lineage)}};
  out << shown.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << '\n';
  return 0;
}

/// show's data values, when the run has a data file.
void show_data(const std::filesystem::path& folder, std::ostream& out) {
  std::string data_problem;
  if (const auto data = core::read_data_values(folder, data_problem)) {
    out << "\ndata\n";
    if (!data_problem.empty()) {
      out << fmt::format("  ({} {})\n", core::k_data_file, data_problem);
    } else if (data->empty()) {
      out << "  (none stored)\n";
    } else {
      std::vector<std::string> lines;
      flatten(*data, "", lines);
      for (const auto& line : lines) {
        out << "  " << line << '\n';
      }
    }
  }
}

/// show's tracked series, each with a sparkline.
void show_tracked(const std::filesystem::path& folder, const RunMeta& meta, std::ostream& out) {
  // The meta lists the series when the run ends; while it runs, they are on disk only.
  auto names = meta.tracked;
  for (auto& name : series_on_disk(folder)) {
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      names.push_back(std::move(name));
    }
  }
  if (!names.empty()) {
    out << "\ntracked\n";
    util::Table series({}, "  ");
    for (const auto& name : names) {
      series.add_row({name, series_line(folder, name)});
    }
    out << series.render();
  }
}

/// show's list of the run folder's files.
void show_files(const std::filesystem::path& folder, std::ostream& out) {
  out << "\nfiles\n";
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    const auto kind = entry.symlink_status();
    files.push_back(entry.path().filename().string() +
                    (std::filesystem::is_symlink(kind)     ? " (symbolic link)"
                     : std::filesystem::is_directory(kind) ? "/"
                                                           : ""));
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    out << "  " << file << '\n';
  }
}

} // namespace

int show_run(const std::filesystem::path& folder, std::ostream& out, const ShowOptions& options) {
  const auto meta = read_meta(folder); // a corrupt meta is an error here: nothing to show
  auto run = Run::load(folder);
  const double now = now_seconds();
  const auto status = run.status(now);
  const auto lineage = lineage_of(meta, options.archive);
  if (options.json) {
    return show_run_json(folder, meta, status, lineage, out);
  }
  const bool color = options.color;
  out << fmt::format("{}  {}\n", util::paint(status, core::status_color(status), color),
                     folder.string());
  if (!run.readable()) {
    out << fmt::format("  problem     {}\n", run.problem);
  }
  out << fmt::format("  name        {}   namespace {}\n", meta.name, meta.namespace_name);
  if (!meta.short_description.empty()) {
    out << fmt::format("  about       {}\n", meta.short_description);
  }
  if (const auto tags = meta.extra.find("tags"); tags != meta.extra.end()) {
    std::vector<std::string> names;
    for (const auto& tag : tags->is_array() ? *tags : nlohmann::ordered_json::array({*tags})) {
      names.push_back(tag.is_string() ? tag.get<std::string>() : tag.dump());
    }
    out << fmt::format("  tags        {}\n", util::join(names, ", "));
  }
  if (const auto note = meta.extra.find("note"); note != meta.extra.end()) {
    // A note of several lines keeps them, each under the first.
    std::string text = note->is_string() ? note->get<std::string>() : note->dump();
    for (std::size_t at = text.find('\n'); at != std::string::npos; at = text.find('\n', at + 15)) {
      text.insert(at + 1, 14, ' ');
    }
    out << fmt::format("  note        {}\n", text);
  }
  out << fmt::format("  started     {}   on {} (pid {})\n", util::format_local(meta.start_time),
                     meta.host, meta.pid);
  if (meta.end_time) {
    out << fmt::format("  ended       {}   after {:.2f} s\n", util::format_local(*meta.end_time),
                       meta.duration);
  } else if (status == "lost") {
    // Its supervisor is gone: the run ended, as far as anyone knows, at its last heartbeat.
    out << fmt::format("  lost        {} ({})\n",
                       meta.heartbeat > 0
                           ? fmt::format("last heartbeat {}, after {:.2f} s",
                                         util::format_local(meta.heartbeat), run.duration(now))
                           : std::string("no heartbeat recorded"),
                       liveness_here(run.summary.supervisor()) == Liveness::gone
                           ? "its supervisor is gone"
                           : "none since, for over a minute");
  } else if (meta.heartbeat > 0) {
    out << fmt::format("  heartbeat   {:.0f} s ago\n", now - meta.heartbeat);
  } else {
    out << "  heartbeat   none recorded\n";
  }
  if (meta.exit_code) {
    out << fmt::format("  exit code   {}{}\n", *meta.exit_code,
                       meta.signal ? fmt::format(" (signal {})", *meta.signal) : "");
  }
  if (!meta.error_type.empty() || !meta.error_message.empty()) {
    out << fmt::format("  error       {}{}{}\n", meta.error_type,
                       meta.error_type.empty() || meta.error_message.empty() ? "" : ": ",
                       meta.error_message);
  }
  if (const auto why = meta.extra.find("interrupted_by"); why != meta.extra.end() &&
                                                          why->is_object()) {
    out << fmt::format("  stopped     by {}\n", stopped_by(*why));
  }
  show_origin(meta, out);
  show_parameters(meta, out);
  show_inputs(lineage, out);
  show_consumers(lineage, out);
  show_data(folder, out);
  show_sdk_content(folder, out);
  show_tracked(folder, meta, out);
  show_files(folder, out);
  return 0;
}

int tail_run(const std::filesystem::path& folder, bool follow, std::ostream& out) {
  auto log = util::open_regular_file(folder, core::k_log_file);
  if (log.problem == util::FileProblem::missing) {
    const bool running = Run::load(folder).status(now_seconds()) == "running";
    throw ArchiveError(running ? fmt::format("{} has no log yet", folder.string())
                               : fmt::format("{} has no log: {} is missing", folder.string(),
                                             core::k_log_file));
  }
  if (!log.ok()) {
    throw ArchiveError(core::run_file_problem(folder, core::k_log_file, log.problem, log.why));
  }
  // Streamed, never read whole: a log may be larger than memory, and grow while read.
  const auto copy_new = [&] {
    char buffer[65536];
    for (;;) {
      const ssize_t got = ::read(log.fd.get(), buffer, sizeof buffer);
      if (got < 0 && errno == EINTR) {
        continue;
      }
      if (got < 0) {
        throw ArchiveError(fmt::format("cannot read {}: {}", (folder / core::k_log_file).string(),
                                       std::strerror(errno)));
      }
      if (got == 0) {
        break; // the end for now: -f reads on from here
      }
      out.write(buffer, got);
    }
    out.flush();
  };
  copy_new();
  if (!follow) {
    return 0;
  }
  std::error_code error;
  for (;;) {
    const auto run = Run::load(folder);
    const auto status = run.status(now_seconds());
    if (status != "running") {
      copy_new(); // the last lines may have come with the final status
      if (!std::filesystem::exists(folder, error)) {
        throw ArchiveError(fmt::format("{} went away while its log was followed",
                                       folder.string()));
      }
      if (status == "lost") {
        std::cerr << fmt::format("xrun: the run is lost: {}\n", lost_because(run.summary));
        return 1;
      }
      return 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    copy_new();
  }
}

int reconcile_runs(const std::filesystem::path& root, std::ostream& out) {
  const double now = now_seconds();
  int marked = 0;
  for (auto& run : find_runs(root)) {
    if (run.status(now) != "lost") {
      continue;
    }
    const RunMeta* current = run.meta();
    if (!current || current->status != RunStatus::running) {
      continue; // ended or damaged since the scan
    }
    RunMeta meta = *current;
    meta.status = RunStatus::lost;
    meta.end_time = meta.heartbeat;
    meta.duration = meta.heartbeat - meta.start_time;
    meta.error_message = lost_because(RunSummary::of(meta));
    write_meta(run.folder(), meta);
    out << fmt::format("lost  {}\n", run.path);
    ++marked;
  }
  std::cerr << fmt::format("xrun: {} marked lost\n", util::count_of(marked, "run"));
  return 0;
}

} // namespace xrun::archive
