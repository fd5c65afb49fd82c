#include "archive/index.hpp"

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

namespace {

// 2: parameters JSON cannot hold kept as their exact text; 3: tags and note; 4: the
// supervisor's pid namespace
constexpr int k_schema_version = 4;

/// The index file's SQLite application id ("xrun"): what tells it from another program's
/// database. Indexes of earlier versions have none (0).
constexpr int k_application_id = 0x7872756e;

/// Folder times this close to the scan may hide a write in the same clock tick: the folder is
/// stored with time 0 and read again by the next scan.
constexpr std::int64_t k_racy_window_ns = 2'000'000'000;

constexpr const char* k_columns =
    "path, mtime, size, data_mtime, data_size, is_run, problem, status, id, name, namespace, start_time, end_time, "
    "duration, heartbeat, exit_code, error_type, host, pid, parameters, data, tags, note, "
    "pid_namespace";

constexpr const char* k_create =
    "CREATE TABLE entries (path TEXT PRIMARY KEY, mtime INTEGER NOT NULL, size INTEGER, "
    "data_mtime INTEGER, data_size INTEGER, is_run INTEGER NOT NULL, problem TEXT, status TEXT, id TEXT, name TEXT, namespace TEXT, "
    "start_time REAL, end_time REAL, duration REAL, heartbeat REAL, exit_code INTEGER, "
    "error_type TEXT, host TEXT, pid INTEGER, parameters TEXT, data TEXT, tags TEXT, note TEXT, "
    "pid_namespace TEXT) "
    "WITHOUT ROWID";

/// What a file or folder looked like when it was read. Files are replaced by rename or
/// rewritten in place; either way their time or size changes.
struct Stamp {
  std::int64_t mtime = 0; // nanoseconds; 0: unknown, read it again; -1: missing
  std::int64_t size = -1;
  bool operator==(const Stamp&) const = default;
  bool matches(const Stamp& now) const { return mtime != 0 && *this == now; }
};

/// What a scan knows of one folder beyond its content.
struct State {
  Stamp stamp;          // a run's meta file, or the folder itself for other folders
  Stamp data;           // a run's experiment_data.json
  bool seen = false;    // found by this scan (or kept: see `listed`)
  bool changed = false; // read by this scan: to be written to the index
  bool listed = true;   // false: kept in the index, but this process cannot read it
};

/// A folder that is not a run folder but may hold some (the archive itself is "").
struct Folder {
  std::string path; // relative to the archive
  State state;
};

/// The folders of an archive: the run folders sorted by path, then the other folders.
struct Catalog {
  std::vector<Run> runs;
  std::vector<State> run_states; // one per run
  std::vector<Folder> folders;
};

struct StatementDeleter {
  void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};
using Statement = std::unique_ptr<sqlite3_stmt, StatementDeleter>;

/// The index file. Every failure makes it unusable rather than an error: the scan goes on
/// from the folders.
class Database {
public:
  /// The index of the archive `root`.
  explicit Database(const std::filesystem::path& root) : m_shown(root / k_index_file) {
    // Opened by its real path: SQLite then refuses a link in the index's own place only,
    // not one the user made on the way to the archive.
    std::error_code error;
    const auto real = std::filesystem::canonical(root, error);
    m_file = (error ? root : real) / k_index_file;
    if (!claim()) {
      return;
    }
    if (!open(SQLITE_OPEN_READWRITE)) {
      // A read-only archive: an index someone else keeps still helps.
      m_read_only = open(SQLITE_OPEN_READONLY);
    }
  }
  ~Database() { close(); }
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  /// Makes sure the table exists with this version's schema (made anew with `rebuild`). False
  /// when there is no usable index: none can be made here, the file is not xrun's (said once),
  /// or another process holds it locked for long.
  bool prepare(bool rebuild = false) {
    if (!m_db) {
      return false;
    }
    const int version = user_version();
    if (version < 0) {
      if (damaged()) {
        return recreate();
      }
      close();
      return false;
    }
    const auto foreign = foreign_content(version);
    if (!foreign || !foreign->empty()) {
      if (foreign) {
        refuse(*foreign);
      }
      close();
      return false;
    }
    if (version == k_schema_version && !rebuild) {
      return true;
    }
    if (!m_read_only) {
      return create(rebuild); // another version's index is made anew
    }
    close();
    return false;
  }

  /// Whether the last failure says the file is not a sound database (rather than, say,
  /// locked by another process).
  bool damaged() const {
    if (!m_db) {
      return false;
    }
    const int code = sqlite3_errcode(m_db);
    return code == SQLITE_CORRUPT || code == SQLITE_NOTADB;
  }

  /// Replaces a damaged index file with an empty one. False when that cannot be done.
  bool recreate() {
    close();
    if (m_read_only) {
      return false;
    }
    std::error_code error;
    std::filesystem::remove(m_file, error);
    std::filesystem::remove(m_file.string() + "-journal", error);
    if (!claim() || !open(SQLITE_OPEN_READWRITE) || !create(false)) {
      close();
      return false;
    }
    return true;
  }

  /// Every row, run folders in path order. `data` loads the data values too. False when the
  /// rows cannot be read.
  bool load(const std::string& root, bool data, Catalog& catalog) {
    std::string columns = k_columns;
    if (!data) {
      columns.replace(columns.rfind("data"), 4, "NULL");
    }
    if (!m_db) {
      return false;
    }
    const auto statement =
        prepare_statement("SELECT " + columns + " FROM entries ORDER BY path");
    if (!statement) {
      return false;
    }
    // Room for more rows than the file can hold (a row takes well over 64 bytes), so the
    // runs never move while loading; pages never touched cost nothing.
    std::error_code error;
    const auto bytes = std::filesystem::file_size(m_file, error);
    if (!error) {
      catalog.runs.reserve(static_cast<std::size_t>(bytes / 64));
      catalog.run_states.reserve(catalog.runs.capacity());
    }
    auto* s = statement.get();
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
      State state;
      state.stamp = {sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 2)};
      state.data = {sqlite3_column_int64(s, 3), sqlite3_column_int64(s, 4)};
      if (sqlite3_column_int(s, 5) == 0) {
        catalog.folders.push_back({text(s, 0), state});
        continue;
      }
      catalog.run_states.push_back(state);
      Run& run = catalog.runs.emplace_back();
      run.path.reserve(root.size() + 1 + static_cast<std::size_t>(sqlite3_column_bytes(s, 0)));
      run.path.append(root).append("/").append(view(s, 0));
      run.root_length = root.size() + 1;
      run.problem = view(s, 6);
      auto& summary = run.summary;
      summary.status = parse_status(view(s, 7)).value_or(RunStatus::running);
      summary.id = view(s, 8);
      summary.name = view(s, 9);
      summary.namespace_name = view(s, 10);
      summary.start_time = sqlite3_column_double(s, 11);
      if (sqlite3_column_type(s, 12) != SQLITE_NULL) {
        summary.end_time = sqlite3_column_double(s, 12);
      }
      summary.duration = sqlite3_column_double(s, 13);
      summary.heartbeat = sqlite3_column_double(s, 14);
      if (sqlite3_column_type(s, 15) != SQLITE_NULL) {
        summary.exit_code = sqlite3_column_int(s, 15);
      }
      summary.error_type = view(s, 16);
      summary.host = view(s, 17);
      summary.pid = static_cast<long>(sqlite3_column_int64(s, 18));
      run.parameters_text = view(s, 19);
      if (sqlite3_column_type(s, 20) != SQLITE_NULL) {
        run.data_text = view(s, 20);
      }
      summary.tags = view(s, 21);
      summary.note = view(s, 22);
      if (summary.status == RunStatus::running) {
        summary.pid_namespace = view(s, 23); // asked of running runs only: no copy for the rest
      }
    }
    return step == SQLITE_DONE;
  }

  /// Writes what the scan read and removes what it did not find, in one transaction. False
  /// when the index is read-only or stays locked by another process.
  bool save(const Catalog& catalog) {
    if (!m_db || m_read_only || !execute("BEGIN IMMEDIATE")) {
      return false;
    }
    const auto insert = prepare_statement(std::string("INSERT OR REPLACE INTO entries (") +
                                          k_columns +
                                          ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    const auto remove = prepare_statement("DELETE FROM entries WHERE path = ?");
    bool ok = insert && remove;
    const auto write = [&](std::string_view path, const State& state, const Run* run) {
      if (!ok || (state.seen && !state.changed)) {
        return;
      }
      auto* s = state.seen ? insert.get() : remove.get();
      sqlite3_reset(s);
      sqlite3_clear_bindings(s);
      bind(s, 1, path);
      if (state.seen) {
        sqlite3_bind_int64(s, 2, state.stamp.mtime);
        sqlite3_bind_int64(s, 3, state.stamp.size);
        sqlite3_bind_int64(s, 4, state.data.mtime);
        sqlite3_bind_int64(s, 5, state.data.size);
        sqlite3_bind_int(s, 6, run ? 1 : 0);
        if (run) {
          bind_run(s, *run);
        }
      }
      ok = sqlite3_step(s) == SQLITE_DONE;
    };
    // Removals first: a folder that became a run (or a run that became a folder) has a row
    // to remove and one to write under the same path.
    for (const bool removals : {true, false}) {
      for (std::size_t i = 0; i < catalog.runs.size(); ++i) {
        if (catalog.run_states[i].seen != removals) {
          write(catalog.runs[i].relative(), catalog.run_states[i], &catalog.runs[i]);
        }
      }
      for (const auto& folder : catalog.folders) {
        if (folder.state.seen != removals) {
          write(folder.path, folder.state, nullptr);
        }
      }
    }
    return execute(ok ? "COMMIT" : "ROLLBACK") && ok;
  }

private:
  /// Makes sure the index's name holds a regular file, creating an empty one when there is
  /// none. False when no file can be had (a read-only archive), or when the name holds a
  /// symbolic link or something else that is not a file: that is left alone, and said once.
  bool claim() {
    for (int attempt = 0; attempt < 2; ++attempt) {
      struct stat info {};
      if (::lstat(m_file.c_str(), &info) == 0) {
        if (S_ISLNK(info.st_mode)) {
          return refuse("is a symbolic link");
        }
        return S_ISREG(info.st_mode) || refuse("is not a regular file");
      }
      if (errno != ENOENT) {
        return false;
      }
      // Made here, not by SQLite (which makes it 0644 whatever the umask): with the mode run
      // files get (0666 less the umask), so a group sharing the archive can update it. SQLite
      // gives its journal the mode of the file.
      const int fd = ::open(m_file.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
                            0666);
      if (fd >= 0) {
        ::close(fd);
        return true;
      }
      if (errno != EEXIST) {
        return false; // made by another process meanwhile: looked at again
      }
    }
    return false;
  }

  /// Says once per process why the file in the index's place is not used. Returns false.
  bool refuse(const std::string& why) const {
    static bool said = false;
    if (!said) {
      said = true;
      core::print_warning(fmt::format("{} {}, not xrun's index: it is left as it is, and the "
                                      "run folders are read without an index (move it away to "
                                      "let xrun keep one)",
                                      m_shown.string(), why));
    }
    return false;
  }

  /// Why the open database, of schema `version`, is not xrun's index ("" when it is: nothing
  /// in it but an index's `entries` table, and no other program's application id or version);
  /// nullopt when that cannot be read now (locked). Nothing is ever added to another program's
  /// database.
  std::optional<std::string> foreign_content(int version) {
    const auto id = prepare_statement("PRAGMA application_id");
    if (!id || sqlite3_step(id.get()) != SQLITE_ROW) {
      return std::nullopt;
    }
    const auto application = sqlite3_column_int(id.get(), 0);
    // Indexes older than the application id have none, and a version of ours.
    if ((application != 0 && application != k_application_id) ||
        (application == 0 && version > k_schema_version)) {
      return "is another program's SQLite database";
    }
    const auto schema = prepare_statement("SELECT type, name, sql FROM sqlite_schema");
    if (!schema) {
      return std::nullopt;
    }
    int step;
    while ((step = sqlite3_step(schema.get())) == SQLITE_ROW) {
      const auto type = view(schema.get(), 0);
      const auto name = view(schema.get(), 1);
      if (type == "table" && name.starts_with("sqlite_")) {
        continue; // SQLite's own (statistics, sequences)
      }
      if (type != "table" || name != "entries" ||
          view(schema.get(), 2).find("is_run INTEGER") == std::string_view::npos) {
        return fmt::format("is an SQLite database that holds {} {}, which is not xrun's", type,
                           name);
      }
    }
    return step == SQLITE_DONE ? std::optional(std::string()) : std::nullopt;
  }

  bool open(int flags) {
    close();
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(m_file.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
                        nullptr) != SQLITE_OK) {
      sqlite3_close(db);
      return false;
    }
    m_db = db;
    sqlite3_busy_timeout(m_db, 2000);
    execute("PRAGMA mmap_size = 268435456"); // reads the index without copying its pages
    return true;
  }

  void close() {
    if (m_db) {
      sqlite3_close(m_db);
      m_db = nullptr;
    }
  }

  /// -1 when the file cannot be read as a database.
  int user_version() {
    const auto statement = prepare_statement("PRAGMA user_version");
    if (!statement || sqlite3_step(statement.get()) != SQLITE_ROW) {
      return -1;
    }
    return sqlite3_column_int(statement.get(), 0);
  }

  /// Makes the table anew; `rebuild`: even when another process has just made it.
  bool create(bool rebuild) {
    if (!m_db || !execute("BEGIN IMMEDIATE")) {
      return false;
    }
    // Another process may have made the table while this one waited for the lock.
    if (!rebuild && user_version() == k_schema_version) {
      return execute("COMMIT");
    }
    const bool ok = execute("DROP TABLE IF EXISTS entries") && execute(k_create) &&
                    execute("PRAGMA user_version = " + std::to_string(k_schema_version)) &&
                    execute("PRAGMA application_id = " + std::to_string(k_application_id));
    return execute(ok ? "COMMIT" : "ROLLBACK") && ok;
  }

  Statement prepare_statement(const std::string& sql) {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(m_db, sql.c_str(), -1, &statement, nullptr) != SQLITE_OK) {
      sqlite3_finalize(statement);
      return nullptr;
    }
    return Statement(statement);
  }

  bool execute(const std::string& sql) {
    return sqlite3_exec(m_db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
  }

  static std::string_view view(sqlite3_stmt* statement, int column) {
    const auto* data = sqlite3_column_text(statement, column);
    return data ? std::string_view(reinterpret_cast<const char*>(data),
                                   static_cast<std::size_t>(sqlite3_column_bytes(statement, column)))
                : std::string_view();
  }

  static std::string text(sqlite3_stmt* statement, int column) {
    return std::string(view(statement, column));
  }

  static void bind(sqlite3_stmt* statement, int column, std::string_view value) {
    sqlite3_bind_text(statement, column, value.data(), static_cast<int>(value.size()),
                      SQLITE_STATIC);
  }

  static void bind_run(sqlite3_stmt* s, const Run& run) {
    const auto& summary = run.summary;
    bind(s, 7, run.problem);
    bind(s, 8, to_string(summary.status));
    bind(s, 9, summary.id);
    bind(s, 10, summary.name);
    bind(s, 11, summary.namespace_name);
    sqlite3_bind_double(s, 12, summary.start_time);
    if (summary.end_time) {
      sqlite3_bind_double(s, 13, *summary.end_time);
    }
    sqlite3_bind_double(s, 14, summary.duration);
    sqlite3_bind_double(s, 15, summary.heartbeat);
    if (summary.exit_code) {
      sqlite3_bind_int(s, 16, *summary.exit_code);
    }
    bind(s, 17, summary.error_type);
    bind(s, 18, summary.host);
    sqlite3_bind_int64(s, 19, summary.pid);
    bind(s, 20, run.parameters_text);
    if (run.data_text) {
      bind(s, 21, *run.data_text);
    }
    bind(s, 22, summary.tags);
    bind(s, 23, summary.note);
    bind(s, 24, summary.pid_namespace);
  }

  std::filesystem::path m_shown; // as the user named the archive
  std::filesystem::path m_file;
  sqlite3* m_db = nullptr;
  bool m_read_only = false;
};

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

  State read_state(Stamp stamp, Stamp data = {}) const {
    State state;
    state.stamp = settled(stamp);
    state.data = settled(data);
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
    Stamp data{-1, -1};
    bool data_stamped = false; // `data` was looked at
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
        if (probe.data_stamped && !state.data.matches(probe.data)) {
          read_run(relative, probe.meta, probe.run, report); // its data file changed
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
    struct stat info {};
    const Stamp data = ::lstat((path + "/" + core::k_data_file).c_str(), &info) == 0
                           ? stamp_of(info)
                           : Stamp{-1, -1};
    Run run = Run::load(path);
    run.root_length = m_root.size() + 1;
    if (known) {
      m_catalog.runs[*known] = std::move(run);
      m_catalog.run_states[*known] = read_state(meta, data);
    } else {
      m_new_runs.emplace_back(std::move(run), read_state(meta, data));
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
          // The data file when the caller reads data values, and for a corrupt run (it may be
          // its data file that is wrong, and mended since).
          if (m_data || !m_catalog.runs[*probe.run].readable()) {
            name.resize(length);
            probe.data = stamp_at(parent_fd, name.append("/").append(core::k_data_file).c_str());
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
  return name == "data" || name.starts_with("data.") || name.starts_with("data/");
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
