#include "archive/index_database.hpp"

#include "archive/index.hpp"
#include "core/diagnostics.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace xrun::archive::index_file {

namespace {

// 2: parameters JSON cannot hold kept as their exact text; 3: tags and note; 4: the
// supervisor's pid namespace; 5: the tracking SDK's summary and logged parameters
constexpr int k_schema_version = 5;

/// The index file's SQLite application id ("xrun"): what tells it from another program's
/// database. Indexes of earlier versions have none (0).
constexpr int k_application_id = 0x7872756e;

constexpr const char* k_columns =
    "path, mtime, size, data_mtime, data_size, is_run, problem, status, id, name, namespace, start_time, end_time, "
    "duration, heartbeat, exit_code, error_type, host, pid, parameters, data, tags, note, "
    "pid_namespace, summary_mtime, summary_size, params_mtime, params_size, sdk_summary, "
    "sdk_params";

constexpr const char* k_create =
    "CREATE TABLE entries (path TEXT PRIMARY KEY, mtime INTEGER NOT NULL, size INTEGER, "
    "data_mtime INTEGER, data_size INTEGER, is_run INTEGER NOT NULL, problem TEXT, status TEXT, id TEXT, name TEXT, namespace TEXT, "
    "start_time REAL, end_time REAL, duration REAL, heartbeat REAL, exit_code INTEGER, "
    "error_type TEXT, host TEXT, pid INTEGER, parameters TEXT, data TEXT, tags TEXT, note TEXT, "
    "pid_namespace TEXT, summary_mtime INTEGER, summary_size INTEGER, params_mtime INTEGER, "
    "params_size INTEGER, sdk_summary TEXT, sdk_params TEXT) "
    "WITHOUT ROWID";

} // namespace

Database::Database(const std::filesystem::path& root) : m_shown(root / k_index_file) {
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

bool Database::prepare(bool rebuild) {
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

bool Database::damaged() const {
  if (!m_db) {
    return false;
  }
  const int code = sqlite3_errcode(m_db);
  return code == SQLITE_CORRUPT || code == SQLITE_NOTADB;
}

bool Database::recreate() {
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

bool Database::load(const std::string& root, bool data, Catalog& catalog) {
  std::string columns = k_columns;
  if (!data) {
    columns.replace(columns.rfind("sdk_summary"),
                    std::string_view("sdk_summary, sdk_params").size(), "NULL, NULL");
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
    state.summary = {sqlite3_column_int64(s, 24), sqlite3_column_int64(s, 25)};
    state.params = {sqlite3_column_int64(s, 26), sqlite3_column_int64(s, 27)};
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
    if (sqlite3_column_type(s, 28) != SQLITE_NULL) {
      run.summary_text = view(s, 28);
    }
    if (sqlite3_column_type(s, 29) != SQLITE_NULL) {
      run.params_text = view(s, 29);
    }
  }
  return step == SQLITE_DONE;
}

bool Database::save(const Catalog& catalog) {
  if (!m_db || m_read_only || !execute("BEGIN IMMEDIATE")) {
    return false;
  }
  const auto insert = prepare_statement(std::string("INSERT OR REPLACE INTO entries (") +
                                        k_columns +
                                        ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
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
      sqlite3_bind_int64(s, 25, state.summary.mtime);
      sqlite3_bind_int64(s, 26, state.summary.size);
      sqlite3_bind_int64(s, 27, state.params.mtime);
      sqlite3_bind_int64(s, 28, state.params.size);
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

bool Database::claim() {
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

bool Database::refuse(const std::string& why) const {
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

std::optional<std::string> Database::foreign_content(int version) {
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

bool Database::open(int flags) {
  close();
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(m_file.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
                      nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return false;
  }
  m_db = db;
  sqlite3_busy_timeout(m_db, 2000);
  // No mmap: a file truncated under it, by anyone, would kill this process with SIGBUS at the
  // next read of a page past the new end; read() sees a short file instead, which SQLite
  // reports as a damaged one, and the index is replaced. A warm listing costs the same.
  execute("PRAGMA mmap_size = 0");
  return true;
}

void Database::close() {
  if (m_db) {
    sqlite3_close(m_db);
    m_db = nullptr;
  }
}

int Database::user_version() {
  const auto statement = prepare_statement("PRAGMA user_version");
  if (!statement || sqlite3_step(statement.get()) != SQLITE_ROW) {
    return -1;
  }
  return sqlite3_column_int(statement.get(), 0);
}

bool Database::create(bool rebuild) {
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

Statement Database::prepare_statement(const std::string& sql) {
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(m_db, sql.c_str(), -1, &statement, nullptr) != SQLITE_OK) {
    sqlite3_finalize(statement);
    return nullptr;
  }
  return Statement(statement);
}

bool Database::execute(const std::string& sql) {
  return sqlite3_exec(m_db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
}

std::string_view Database::view(sqlite3_stmt* statement, int column) {
  const auto* data = sqlite3_column_text(statement, column);
  return data ? std::string_view(reinterpret_cast<const char*>(data),
                                 static_cast<std::size_t>(sqlite3_column_bytes(statement, column)))
              : std::string_view();
}

std::string Database::text(sqlite3_stmt* statement, int column) {
  return std::string(view(statement, column));
}

void Database::bind(sqlite3_stmt* statement, int column, std::string_view value) {
  sqlite3_bind_text(statement, column, value.data(), static_cast<int>(value.size()),
                    SQLITE_STATIC);
}

void Database::bind_run(sqlite3_stmt* s, const Run& run) {
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
  if (run.summary_text) {
    bind(s, 29, *run.summary_text);
  }
  if (run.params_text) {
    bind(s, 30, *run.params_text);
  }
}

} // namespace xrun::archive::index_file
