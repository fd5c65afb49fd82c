#include "archive/index.hpp"
#include "archive/index_database.hpp"

#include "core/diagnostics.hpp"
#include "core/run_files.hpp"
#include "util/fs.hpp"
#include "util/progress.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstdint>
#include <dirent.h>
#include <fmt/format.h>
#include <fcntl.h>
#include <iostream>
#include <memory>
#include <optional>
#include <sqlite3.h>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <utility>

namespace xrun::archive {

using namespace index_file;

namespace {

/// Folder times this close to the scan may hide a write in the same clock tick: the folder is
/// stored with time 0 and read again by the next scan.
constexpr std::int64_t k_racy_window_ns = 2'000'000'000;


Stamp stamp_of(const struct stat& info) {
  return {static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec,
          static_cast<std::int64_t>(info.st_size)};
}

/// The stamp of a file named relative to an open folder; mtime -1 when it is missing. A
/// symbolic link is stamped as itself: a run file is never read through one.
Stamp stamp_at(int folder_fd, const char* name) {
  struct stat info {};
  if (::fstatat(folder_fd, name, &info, AT_SYMLINK_NOFOLLOW) != 0) {
    return {-1, -1};
  }
  return stamp_of(info);
}

/// Byte order of the paths: what the lookups search by.
bool by_path(const Run& a, const Run& b) {
  return a.relative() < b.relative();
}

/// Order of the paths part by part (`exp/...` before `exp-b/...`): what commands show.
bool by_parts(const Run& a, const Run& b) {
  const auto x = a.relative();
  const auto y = b.relative();
  return std::lexicographical_compare(x.begin(), x.end(), y.begin(), y.end(), [](char p, char q) {
    const auto rank = [](char c) { return c == '/' ? 0 : static_cast<unsigned char>(c) + 1; };
    return rank(p) < rank(q);
  });
}

/// Walks the archive, reusing what the catalog knows of every folder whose time is unchanged
/// and reading the others. Folders found for the first time are kept apart until the walk
/// ends, so the catalog's lists stay in path order for the lookups.
class Walker {
public:
  Walker(std::string root, Catalog& catalog, util::Progress& progress)
      : m_root(std::move(root)), m_catalog(catalog), m_progress(progress),
        m_now(static_cast<std::int64_t>(util::to_epoch_seconds(util::Clock::now()) * 1e9)) {
    // Lookups are binary searches: both lists must be in path order.
    auto& runs = catalog.runs;
    if (!std::is_sorted(runs.begin(), runs.end(), by_path)) {
      std::vector<std::size_t> order(runs.size());
      for (std::size_t i = 0; i < order.size(); ++i) {
        order[i] = i;
      }
      std::sort(order.begin(), order.end(),
                [&](auto a, auto b) { return runs[a].relative() < runs[b].relative(); });
      std::vector<Run> sorted_runs;
      std::vector<State> sorted_states;
      for (const auto i : order) {
        sorted_runs.push_back(std::move(runs[i]));
        sorted_states.push_back(catalog.run_states[i]);
      }
      runs = std::move(sorted_runs);
      catalog.run_states = std::move(sorted_states);
    }
    std::sort(catalog.folders.begin(), catalog.folders.end(),
              [](const Folder& a, const Folder& b) { return a.path < b.path; });
  }

  /// `data`: check the data files too (when the caller will read data values).
  void walk(bool data, ScanReport& report) {
    m_data = data;
    struct stat info {};
    if (::stat(m_root.c_str(), &info) == 0) {
      visit_folder("", stamp_of(info), report);
    }
  }

  /// Whether the index needs writing: something was read, or something is gone.
  bool dirty() const {
    const auto stale = [](const State& state) { return state.changed || !state.seen; };
    return !m_new_runs.empty() || !m_new_folders.empty() ||
           std::any_of(m_catalog.run_states.begin(), m_catalog.run_states.end(), stale) ||
           std::any_of(m_catalog.folders.begin(), m_catalog.folders.end(),
                       [&](const Folder& folder) { return stale(folder.state); });
  }

  /// Adds the folders found for the first time to the catalog.
  void merge() {
    for (auto& [run, state] : m_new_runs) {
      m_catalog.runs.push_back(std::move(run));
      m_catalog.run_states.push_back(state);
    }
    for (auto& folder : m_new_folders) {
      m_catalog.folders.push_back(std::move(folder));
    }
    m_new_runs.clear();
    m_new_folders.clear();
  }

private:

  std::string full(std::string_view relative) const {
    return relative.empty() ? m_root : m_root + "/" + std::string(relative);
  }

  /// A stamp as the index keeps it: one too close to now to be told apart from a write in
  /// the same clock tick is stored as unknown.
  Stamp settled(Stamp stamp) const {
    if (stamp.mtime > 0 && m_now - stamp.mtime < k_racy_window_ns) {
      stamp.mtime = 0;
    }
    return stamp;
  }

  State read_state(Stamp stamp, const ValueStamps& values = {}) const {
    State state;
    state.stamp = settled(stamp);
    state.data = settled(values.data);
    state.summary = settled(values.summary);
    state.params = settled(values.params);
    state.seen = true;
    state.changed = true;
    return state;
  }

  /// The known run folder at `relative`, if any.
  std::optional<std::size_t> find_run(std::string_view relative) const {
    const auto& runs = m_catalog.runs;
    const auto it = std::lower_bound(
        runs.begin(), runs.end(), relative,
        [](const Run& run, std::string_view path) { return run.relative() < path; });
    if (it == runs.end() || it->relative() != relative) {
      return std::nullopt;
    }
    return static_cast<std::size_t>(it - runs.begin());
  }

  Folder* find_folder(std::string_view relative) const {
    auto& folders = m_catalog.folders;
    const auto it = std::lower_bound(
        folders.begin(), folders.end(), relative,
        [](const Folder& folder, std::string_view path) { return folder.path < path; });
    return it == folders.end() || it->path != relative ? nullptr : &*it;
  }

  /// The known folders directly inside `relative`: a range of each path-ordered list.
  std::vector<std::string_view> known_children(std::string_view relative) const {
    std::vector<std::string_view> children;
    const std::string prefix = relative.empty() ? std::string() : std::string(relative) + "/";
    const auto direct = [&](std::string_view path) {
      return path.size() > prefix.size() &&
             path.find('/', prefix.size()) == std::string_view::npos;
    };
    const auto& runs = m_catalog.runs;
    auto run = std::lower_bound(
        runs.begin(), runs.end(), std::string_view(prefix),
        [](const Run& r, std::string_view path) { return r.relative() < path; });
    for (; run != runs.end() && run->relative().starts_with(prefix); ++run) {
      if (direct(run->relative())) {
        children.push_back(run->relative());
      }
    }
    const auto& folders = m_catalog.folders;
    auto folder = std::lower_bound(
        folders.begin(), folders.end(), std::string_view(prefix),
        [](const Folder& f, std::string_view path) { return f.path < path; });
    for (; folder != folders.end() && folder->path.starts_with(prefix); ++folder) {
      if (direct(folder->path)) {
        children.push_back(folder->path);
      }
    }
    return children;
  }

  /// What one look at a folder found: for a known run its files, for anything else the
  /// folder itself.
  struct Probe {
    std::optional<std::size_t> run; // the known run at this path
    Stamp meta{-1, -1};             // missing until looked at
    ValueStamps values;
    bool data_stamped = false; // `values` were looked at
    std::optional<Stamp> folder; // when it is not a known run: the folder, if it is one
  };

  /// A folder that is not a run folder, as it is now.
  void visit_folder(std::string_view relative, Stamp now, ScanReport& report) {
    ++report.folders;
    Folder* known = find_folder(relative);
    std::vector<std::string> listed;
    std::vector<std::string_view> children;
    if (known && known->state.stamp.matches(now)) {
      known->state.seen = true;
      children = known_children(relative);
    } else {
      auto names = list_folders(relative);
      if (!names) {
        keep_unreadable(relative, now);
        return;
      }
      listed = std::move(*names);
      children.assign(listed.begin(), listed.end());
      if (known && relative.empty() && same_folders(children, known_children(relative))) {
        // The archive's own folder changes with every write of the index: when only files
        // came or went there, listing it again next time (a few namespaces) is cheaper than a
        // write now. Any other folder gets its new time, so it is not listed again.
        known->state.seen = true;
      } else if (known) {
        known->state = read_state(now);
      } else {
        m_new_folders.push_back({std::string(relative), read_state(now)});
      }
    }
    auto probes = probe(relative, children);
    if (!probes) {
      keep_unreadable(relative, now);
      return;
    }
    for (std::size_t i = 0; i < children.size(); ++i) {
      visit(children[i], (*probes)[i], report);
    }
  }

  static bool same_folders(std::vector<std::string_view> a, std::vector<std::string_view> b) {
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    return a == b;
  }

  /// A folder this process cannot read. What the index knows of it and below it stays (other
  /// users may read it) but is not listed, and the folder is looked at again next time.
  void keep_unreadable(std::string_view relative, Stamp now) {
    const std::string below = relative.empty() ? std::string() : std::string(relative) + "/";
    const auto inside = [&](std::string_view path) {
      return path == relative || path.starts_with(below);
    };
    for (std::size_t i = 0; i < m_catalog.runs.size(); ++i) {
      if (inside(m_catalog.runs[i].relative())) {
        m_catalog.run_states[i].seen = true;
        m_catalog.run_states[i].listed = false;
      }
    }
    for (auto& folder : m_catalog.folders) {
      if (inside(folder.path)) {
        folder.state.seen = true;
        folder.state.listed = false;
      }
    }
    now.mtime = 0; // unknown: listed again by the next scan
    if (Folder* known = find_folder(relative)) {
      known->state = read_state(now);
    } else {
      m_new_folders.push_back({std::string(relative), read_state(now)});
    }
  }

  void visit(std::string_view relative, Probe& probe, ScanReport& report) {
    if (probe.run) {
      State& state = m_catalog.run_states[*probe.run];
      if (state.stamp.matches(probe.meta)) {
        if (probe.data_stamped && !(state.data.matches(probe.values.data) &&
                                    state.summary.matches(probe.values.summary) &&
                                    state.params.matches(probe.values.params))) {
          read_run(relative, probe.meta, probe.run, report); // a file of its values changed
          return;
        }
        ++report.folders;
        state.seen = true;
        return;
      }
      if (probe.meta.mtime < 0) { // no longer a run folder
        struct stat info {};
        if (::lstat(full(relative).c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
          visit_folder(relative, stamp_of(info), report);
        }
        return;
      }
      read_run(relative, probe.meta, probe.run, report);
      return;
    }
    if (!probe.folder) {
      return; // gone, or not a folder
    }
    if (Folder* known = find_folder(relative); known && known->state.stamp.matches(*probe.folder)) {
      visit_folder(relative, *probe.folder, report);
      return;
    }
    const auto path = full(relative);
    struct stat info {};
    // Whatever is there under the meta's name makes a run folder: one whose meta is a
    // dangling link or a FIFO is listed as corrupt, not left out.
    if (::lstat((path + "/" + k_meta_file).c_str(), &info) != 0) {
      visit_folder(relative, *probe.folder, report);
      return;
    }
    read_run(relative, stamp_of(info), std::nullopt, report);
  }

  /// Reads a run folder whose meta file had `meta` (taken before reading, so what is read is
  /// never older than the stamp kept with it).
  void read_run(std::string_view relative, Stamp meta, std::optional<std::size_t> known,
                ScanReport& report) {
    ++report.folders;
    ++report.read;
    m_progress.advance(1);
    const auto path = full(relative);
    const auto stamp = [&](const char* name) {
      struct stat info {};
      return ::lstat((path + "/" + name).c_str(), &info) == 0 ? stamp_of(info) : Stamp{-1, -1};
    };
    const ValueStamps values{stamp(core::k_data_file), stamp(core::k_summary_file),
                             stamp(core::k_params_file)};
    Run run = Run::load(path);
    run.root_length = m_root.size() + 1;
    if (known) {
      m_catalog.runs[*known] = std::move(run);
      m_catalog.run_states[*known] = read_state(meta, values);
    } else {
      m_new_runs.emplace_back(std::move(run), read_state(meta, values));
    }
  }

  /// Looks at every child of `parent`: the files of known runs, the folder of anything
  /// else. On a large archive these calls are most of a scan, so they run on several
  /// threads, each naming its target relative to the parent (a shorter lookup).
  /// nullopt when the parent cannot be read; every child missing when it vanished.
  std::optional<std::vector<Probe>> probe(std::string_view parent,
                                          const std::vector<std::string_view>& children) const {
    std::vector<Probe> probes(children.size());
    for (std::size_t i = 0; i < children.size(); ++i) {
      probes[i].run = find_run(children[i]);
    }
    const int parent_fd = ::open(full(parent).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (parent_fd < 0) {
      return errno == ENOENT || errno == ENOTDIR ? std::optional(probes) : std::nullopt;
    }
    const std::unique_ptr<const int, void (*)(const int*)> closer(
        &parent_fd, [](const int* fd) { ::close(*fd); });
    const auto skip = parent.empty() ? 0 : parent.size() + 1;
    const auto work = [&](std::size_t begin, std::size_t end) {
      std::string name;
      for (std::size_t i = begin; i < end; ++i) {
        Probe& probe = probes[i];
        name.assign(children[i].substr(skip));
        const auto length = name.size();
        if (probe.run) {
          probe.meta = stamp_at(parent_fd, name.append("/").append(k_meta_file).c_str());
          // The files of its values when the caller reads them, and for a corrupt run (it may
          // be such a file that is wrong, and mended since).
          if (m_data || !m_catalog.runs[*probe.run].readable()) {
            const auto at = [&](const char* file) {
              name.resize(length);
              return stamp_at(parent_fd, name.append("/").append(file).c_str());
            };
            probe.values = {at(core::k_data_file), at(core::k_summary_file),
                            at(core::k_params_file)};
            probe.data_stamped = true;
          }
          continue;
        }
        struct stat info {};
        if (::fstatat(parent_fd, name.c_str(), &info, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISDIR(info.st_mode)) {
          probe.folder = stamp_of(info);
        }
      }
    };
    constexpr std::size_t k_per_thread = 1000;
    const std::size_t threads = std::min<std::size_t>(
        {std::max(1U, std::thread::hardware_concurrency()), 4, children.size() / k_per_thread + 1});
    const std::size_t share = children.size() / threads + 1;
    std::vector<std::jthread> helpers; // joined however this function is left
    for (std::size_t t = 1; t < threads; ++t) {
      const auto begin = std::min(children.size(), t * share);
      const auto end = std::min(children.size(), (t + 1) * share);
      try {
        helpers.emplace_back(work, begin, end);
      } catch (const std::system_error&) {
        work(begin, end); // no thread to be had: this one does it
      }
    }
    work(0, std::min(children.size(), share));
    helpers.clear();
    return probes;
  }

  /// The sub-folders of a folder, skipping names that start with '.' (.track, .trash,
  /// temporary folders).
  /// nullopt when the folder cannot be read; an empty list when it vanished.
  std::optional<std::vector<std::string>> list_folders(std::string_view relative) const {
    std::vector<std::string> children;
    DIR* dir = ::opendir(full(relative).c_str());
    if (!dir) {
      if (errno == ENOENT || errno == ENOTDIR) {
        return children;
      }
      return std::nullopt;
    }
    while (const dirent* item = ::readdir(dir)) {
      if (item->d_name[0] == '.') {
        continue;
      }
      if (item->d_type == DT_DIR || item->d_type == DT_UNKNOWN) {
        children.push_back(relative.empty() ? std::string(item->d_name)
                                            : std::string(relative) + "/" + item->d_name);
      }
    }
    ::closedir(dir);
    return children;
  }

  std::string m_root;
  Catalog& m_catalog;
  util::Progress& m_progress; // runs read (a cold index reads them all)
  std::int64_t m_now;
  std::vector<std::pair<Run, State>> m_new_runs;
  std::vector<Folder> m_new_folders;
  bool m_data = false;
};

/// The runs the scan found, sorted by path: the catalog's own vector when nothing was added
/// or removed (the usual case, and the fast one).
std::vector<Run> found_runs(Catalog& catalog) {
  const auto& states = catalog.run_states;
  const bool all_listed = std::all_of(states.begin(), states.end(), [](const State& state) {
    return state.seen && state.listed;
  });
  const bool sorted = std::is_sorted(catalog.runs.begin(), catalog.runs.end(), by_parts);
  if (all_listed && sorted) {
    return std::move(catalog.runs);
  }
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < catalog.runs.size(); ++i) {
    if (states[i].seen && states[i].listed) {
      order.push_back(i);
    }
  }
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return by_parts(catalog.runs[a], catalog.runs[b]);
  });
  std::vector<Run> runs;
  runs.reserve(order.size());
  for (const auto i : order) {
    runs.push_back(std::move(catalog.runs[i]));
  }
  return runs;
}

} // namespace

bool reads_data(std::string_view name) {
  const auto head = name.substr(0, name.find_first_of("./"));
  return head == "data" || head == "results" || head == "summary" || head == "primary_metric" ||
         head == "primary" || head == "params" || head == "p";
}

std::vector<Run> scan_archive(const std::filesystem::path& root, const ScanOptions& options,
                              ScanReport* report) {
  ScanReport local;
  ScanReport& out = report ? *report : local;
  std::string top = root.string();
  while (top.size() > 1 && top.back() == '/') {
    top.pop_back();
  }
  Catalog catalog;
  Database database(root);
  if (database.prepare(options.rebuild)) {
    out.indexed = database.load(top, options.data, catalog);
    if (!out.indexed) {
      catalog = Catalog();
      // A damaged file is started again from the folders; a locked one is left alone.
      out.indexed = database.damaged() && database.recreate();
    }
  }
  util::Progress progress("reading runs", 0, "runs");
  Walker walker(top, catalog, progress);
  walker.walk(options.data, out);
  const bool dirty = walker.dirty();
  walker.merge();
  if (out.indexed) {
    out.saved = !dirty || database.save(catalog);
  }
  return found_runs(catalog);
}

int index_archive(const std::filesystem::path& root, bool rebuild, std::ostream& out) {
  const auto start = std::chrono::steady_clock::now();
  const auto file = root / k_index_file;
  std::error_code error;
  if (!std::filesystem::is_directory(root, error)) {
    find_runs(root); // throws the error every command gives for a bad archive folder
  }
  ScanReport report;
  const auto runs = scan_archive(root, ScanOptions{true, rebuild}, &report);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out << fmt::format("{} in {}; {} read from their folders, in {:.2f} s\n",
                     util::count_of(runs.size(), "run"), util::count_of(report.folders, "folder"),
                     report.read, seconds);
  if (report.indexed && report.saved) {
    const auto size = std::filesystem::file_size(file, error);
    out << fmt::format("index {} ({})\n", file.string(),
                       util::format_bytes(error ? 0.0 : static_cast<double>(size)));
  } else {
    out << fmt::format("no index could be kept in {}: every listing reads the folders\n",
                       root.string());
  }
  return 0;
}

} // namespace xrun::archive
