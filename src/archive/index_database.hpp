// The SQLite file of the archive index (what index.cpp's scan reads and writes) and what a
// scan knows of each folder. Internal to archive/.
#pragma once

#include "archive/runs.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <sqlite3.h>
#include <string>
#include <string_view>
#include <vector>

namespace xrun::archive::index_file {

/// What a file or folder looked like when it was read. Files are replaced by rename or
/// rewritten in place; either way their time or size changes.
struct Stamp {
  std::int64_t mtime = 0; // nanoseconds; 0: unknown, read it again; -1: missing
  std::int64_t size = -1;
  bool operator==(const Stamp&) const = default;
  bool matches(const Stamp& now) const { return mtime != 0 && *this == now; }
};

/// The files of a run's values, as a scan found them (missing until looked at).
struct ValueStamps {
  Stamp data{-1, -1};    // experiment_data.json
  Stamp summary{-1, -1}; // experiment_summary.json
  Stamp params{-1, -1};  // params.json
};

/// What a scan knows of one folder beyond its content.
struct State {
  Stamp stamp;          // a run's meta file, or the folder itself for other folders
  Stamp data;           // a run's experiment_data.json
  Stamp summary;        // its experiment_summary.json
  Stamp params;         // its params.json
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
  explicit Database(const std::filesystem::path& root);
  ~Database() { close(); }
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  /// Makes sure the table exists with this version's schema (made anew with `rebuild`). False
  /// when there is no usable index: none can be made here, the file is not xrun's (said once),
  /// or another process holds it locked for long.
  bool prepare(bool rebuild = false);

  /// Whether the last failure says the file is not a sound database (rather than, say,
  /// locked by another process).
  bool damaged() const;

  /// Replaces a damaged index file with an empty one. False when that cannot be done.
  bool recreate();

  /// Every row, run folders in path order. `data` loads the data values too. False when the
  /// rows cannot be read.
  bool load(const std::string& root, bool data, Catalog& catalog);

  /// Writes what the scan read and removes what it did not find, in one transaction. False
  /// when the index is read-only or stays locked by another process.
  bool save(const Catalog& catalog);

private:
  /// Makes sure the index's name holds a regular file, creating an empty one when there is
  /// none. False when no file can be had (a read-only archive), or when the name holds a
  /// symbolic link or something else that is not a file: that is left alone, and said once.
  bool claim();

  /// Says once per process why the file in the index's place is not used. Returns false.
  bool refuse(const std::string& why) const;

  /// Why the open database, of schema `version`, is not xrun's index ("" when it is: nothing
  /// in it but an index's `entries` table, and no other program's application id or version);
  /// nullopt when that cannot be read now (locked). Nothing is ever added to another program's
  /// database.
  std::optional<std::string> foreign_content(int version);

  bool open(int flags);

  void close();

  /// -1 when the file cannot be read as a database.
  int user_version();

  /// Makes the table anew; `rebuild`: even when another process has just made it.
  bool create(bool rebuild);

  Statement prepare_statement(const std::string& sql);

  bool execute(const std::string& sql);

  static std::string_view view(sqlite3_stmt* statement, int column);

  static std::string text(sqlite3_stmt* statement, int column);

  static void bind(sqlite3_stmt* statement, int column, std::string_view value);

  static void bind_run(sqlite3_stmt* s, const Run& run);

  std::filesystem::path m_shown; // as the user named the archive
  std::filesystem::path m_file;
  sqlite3* m_db = nullptr;
  bool m_read_only = false;
};

} // namespace xrun::archive::index_file
