#include "archive/pack.hpp"

#include "archive/runs.hpp"
#include "core/atomic_file.hpp"
#include "util/progress.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"
#include "xrun/error.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <iostream>
#include <map>
#include <memory>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace xrun::archive {

namespace {

constexpr std::size_t k_block = 1 << 20;

struct ReaderDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
struct WriterDeleter {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
using Reader = std::unique_ptr<struct archive, ReaderDeleter>;
using Writer = std::unique_ptr<struct archive, WriterDeleter>;

enum class Format { tar_zst, tar_gz, zip };

Format format_of(const std::filesystem::path& output) {
  const auto name = output.filename().string();
  if (name.ends_with(".tar.zst") || name.ends_with(".tzst")) {
    return Format::tar_zst;
  }
  if (name.ends_with(".tar.gz") || name.ends_with(".tgz")) {
    return Format::tar_gz;
  }
  if (name.ends_with(".zip")) {
    return Format::zip;
  }
  throw UsageError(fmt::format("cannot tell the archive format of {}", output.string()),
                   "name it .tar.zst, .tar.gz or .zip");
}

/// FNV-1a over a file's bytes: enough to tell a faithful copy from a damaged one.
struct Checksum {
  std::uint64_t value = 14695981039346656037ULL;
  void add(const char* data, std::size_t size) {
    for (std::size_t i = 0; i < size; ++i) {
      value = (value ^ static_cast<unsigned char>(data[i])) * 1099511628211ULL;
    }
  }
};

struct Expected {
  std::int64_t size;
  std::uint64_t checksum;
};

[[noreturn]] void fail_archive(struct archive* a, const std::string& what) {
  throw ArchiveError(fmt::format("{}: {}", what, archive_error_string(a) ? archive_error_string(a)
                                                                          : "unknown error"));
}

/// What went into an archive.
struct Added {
  std::size_t files = 0;
  std::uint64_t bytes = 0;
};

/// Adds one file, folder or link to the archive under `name`, and what a folder holds (in
/// name order). With `written`, records each file's size and checksum for verify().
/// `buffer` is reused across files.
void add_tree(struct archive* writer, const std::string& path, const std::string& name,
              std::vector<char>& buffer, std::map<std::string, Expected>* written,
              Added& added) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) {
    throw ArchiveError(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  }
  std::unique_ptr<archive_entry, decltype(&archive_entry_free)> entry(archive_entry_new(),
                                                                      archive_entry_free);
  archive_entry_copy_stat(entry.get(), &info);
  archive_entry_set_pathname(entry.get(), name.c_str());
  if (S_ISLNK(info.st_mode)) {
    std::error_code error;
    const auto target = std::filesystem::read_symlink(path, error);
    archive_entry_set_symlink(entry.get(), target.c_str());
  }
  if (archive_write_header(writer, entry.get()) != ARCHIVE_OK) {
    fail_archive(writer, fmt::format("cannot add {}", path));
  }
  if (S_ISDIR(info.st_mode)) {
    std::vector<std::string> names;
    if (DIR* dir = ::opendir(path.c_str())) {
      while (const dirent* item = ::readdir(dir)) {
        const std::string_view child = item->d_name;
        if (child != "." && child != "..") {
          names.emplace_back(child);
        }
      }
      ::closedir(dir);
    } else {
      throw ArchiveError(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
    }
    std::sort(names.begin(), names.end());
    for (const auto& child : names) {
      add_tree(writer, path + "/" + child, name + "/" + child, buffer, written, added);
    }
    return;
  }
  if (!S_ISREG(info.st_mode)) {
    return;
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw ArchiveError(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  }
  Checksum checksum;
  std::int64_t total = 0;
  for (;;) {
    const ssize_t got = ::read(fd, buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got <= 0) {
      break;
    }
    if (written) {
      checksum.add(buffer.data(), static_cast<std::size_t>(got));
    }
    total += got;
    if (archive_write_data(writer, buffer.data(), static_cast<std::size_t>(got)) < 0) {
      ::close(fd);
      fail_archive(writer, fmt::format("cannot add {}", path));
    }
    if (total >= info.st_size) {
      break; // the whole file as it was when its header was written; spares one read
    }
  }
  ::close(fd);
  ++added.files;
  added.bytes += static_cast<std::uint64_t>(total);
  if (written) {
    (*written)[name] = {total, checksum.value};
  }
}

/// A reader of the formats compress writes (tar and zip, any common compression), opened on
/// `file`; null with `problem` set when it cannot be opened (each caller decides what kind of
/// error that is).
Reader open_reader(const std::filesystem::path& file, std::string& problem) {
  Reader reader(archive_read_new());
  for (const auto support : {archive_read_support_filter_zstd, archive_read_support_filter_gzip,
                             archive_read_support_filter_xz, archive_read_support_filter_bzip2,
                             archive_read_support_filter_lz4, archive_read_support_format_tar,
                             archive_read_support_format_zip}) {
    support(reader.get());
  }
  if (archive_read_open_filename(reader.get(), file.c_str(), k_block) != ARCHIVE_OK) {
    const char* why = archive_error_string(reader.get());
    problem = why ? why : "unknown error";
    reader.reset();
  }
  return reader;
}

/// Reads the archive back; every file written must be there with its size and checksum.
void verify(const std::filesystem::path& file, const std::map<std::string, Expected>& written) {
  std::string problem;
  const auto reader = open_reader(file, problem);
  if (!reader) {
    throw ArchiveError(fmt::format("cannot read back {}: {}", file.string(), problem));
  }
  std::map<std::string, Expected> found;
  archive_entry* entry = nullptr;
  std::vector<char> buffer(k_block);
  util::Progress progress("verify", written.size(), "files");
  int status = ARCHIVE_OK;
  while ((status = archive_read_next_header(reader.get(), &entry)) == ARCHIVE_OK) {
    if (archive_entry_filetype(entry) != AE_IFREG) {
      continue;
    }
    Checksum checksum;
    std::int64_t total = 0;
    la_ssize_t got = 0;
    while ((got = archive_read_data(reader.get(), buffer.data(), buffer.size())) > 0) {
      checksum.add(buffer.data(), static_cast<std::size_t>(got));
      total += got;
    }
    if (got < 0) {
      fail_archive(reader.get(), fmt::format("{} is damaged", file.string()));
    }
    found[archive_entry_pathname(entry)] = {total, checksum.value};
    progress.advance(1, static_cast<std::uint64_t>(total));
  }
  progress.finish();
  if (status != ARCHIVE_EOF) {
    fail_archive(reader.get(), fmt::format("{} is damaged", file.string()));
  }
  for (const auto& [name, expected] : written) {
    const auto it = found.find(name);
    if (it == found.end() || it->second.size != expected.size ||
        it->second.checksum != expected.checksum) {
      throw ArchiveError(fmt::format("{}: {} did not read back intact; nothing was removed",
                                     file.string(), name));
    }
  }
}


/// Whether `path` (relative, already without `..`) stays inside the folder when resolved
/// lexically from `base` (a relative folder inside the target).
bool stays_inside(const std::filesystem::path& base, const std::filesystem::path& path) {
  if (path.is_absolute()) {
    return false;
  }
  int depth = 0;
  for (const auto& part : base / path) {
    if (part == "..") {
      if (--depth < 0) {
        return false;
      }
    } else if (part != "." && !part.empty()) {
      ++depth;
    }
  }
  return true;
}

} // namespace

int compress_runs(const CompressOptions& options, std::ostream& out) {
  const auto format = format_of(options.output);
  if (!options.all && !options.where) {
    throw UsageError("compress needs --where EXPR or --all", "choose the runs to compress");
  }
  const double now = util::to_epoch_seconds(util::Clock::now());
  auto selected = select_runs(options.root, options.where, now);
  if (selected.empty()) {
    throw UsageError(fmt::format("no runs {}in {}", options.where ? "match " : "",
                                 options.root.string()));
  }
  for (const auto& run : selected) {
    // A stale heartbeat may be a suspended or unreachable supervisor: only a run recorded as
    // ended (or marked lost by reconcile) is ever removed.
    if (options.remove && run.readable() && run.summary.status == RunStatus::running) {
      throw UsageError(fmt::format("{} is still running; it cannot be removed",
                                   run.path),
                       "a run whose supervisor died is removable after `xrun archive reconcile`");
    }
  }

  core::AtomicFile file(options.output);
  Writer writer(archive_write_new());
  switch (format) {
  case Format::tar_zst:
    archive_write_set_format_pax_restricted(writer.get());
    archive_write_add_filter_zstd(writer.get());
    archive_write_set_filter_option(writer.get(), "zstd", "compression-level", "3");
    archive_write_set_filter_option(writer.get(), "zstd", "threads",
                                    std::to_string(options.threads).c_str());
    break;
  case Format::tar_gz:
    archive_write_set_format_pax_restricted(writer.get());
    archive_write_add_filter_gzip(writer.get());
    break;
  case Format::zip:
    archive_write_set_format_zip(writer.get());
    break;
  }
  archive_write_set_bytes_in_last_block(writer.get(), 1);
  if (archive_write_open_fd(writer.get(), file.fd()) != ARCHIVE_OK) {
    fail_archive(writer.get(), fmt::format("cannot write {}", options.output.string()));
  }
  std::map<std::string, Expected> written;
  std::vector<char> buffer(k_block);
  const auto top = std::filesystem::absolute(options.root).lexically_normal();
  const auto prefix =
      (top.filename().empty() ? top.parent_path().filename() : top.filename()).string();
  Added added;
  util::Progress progress("compress", selected.size(), "runs");
  for (const auto& run : selected) {
    const auto before = added.bytes;
    add_tree(writer.get(), run.path, prefix + "/" + std::string(run.relative()), buffer,
             options.remove ? &written : nullptr, added);
    progress.advance(1, added.bytes - before);
  }
  if (archive_write_close(writer.get()) != ARCHIVE_OK) {
    fail_archive(writer.get(), fmt::format("cannot write {}", options.output.string()));
  }
  file.commit();

  std::error_code error;
  const auto size = std::filesystem::file_size(options.output, error);
  progress.finish();
  out << fmt::format("{}: {} runs, {} in {} files -> {}\n", options.output.string(),
                     selected.size(), util::format_bytes(static_cast<double>(added.bytes)),
                     added.files, util::format_bytes(static_cast<double>(size)));
  if (options.remove) {
    verify(options.output, written);
    util::Progress removing("remove", selected.size(), "runs");
    for (const auto& run : selected) {
      std::filesystem::remove_all(run.folder());
      removing.advance(1);
    }
    removing.finish();
    out << fmt::format("verified; removed {} run folders\n", selected.size());
  }
  return 0;
}

int extract_archive(const std::filesystem::path& file, const std::filesystem::path& target,
                    std::ostream& out) {
  const auto open = [&file] {
    std::string problem;
    auto reader = open_reader(file, problem);
    if (!reader) {
      throw UsageError(fmt::format("cannot read archive {}: {}", file.string(), problem));
    }
    return reader;
  };

  std::filesystem::create_directories(target);
  // Entries are placed under the target's real path: libarchive refuses to write through a
  // symbolic link, and a target given as a link is the user's choice, not the archive's.
  const auto root = std::filesystem::canonical(target);

  // First pass: refuse the whole archive for one entry that would land outside the target, or
  // on a file that is already there. Nothing is written before every entry is known good.
  std::size_t entries = 0;
  {
    auto reader = open();
    archive_entry* entry = nullptr;
    int status = ARCHIVE_OK;
    while ((status = archive_read_next_header(reader.get(), &entry)) == ARCHIVE_OK) {
      const std::filesystem::path name = archive_entry_pathname(entry);
      const auto refuse = [&](const std::string& why) {
        throw UsageError(fmt::format("{}: refusing entry '{}': {}", file.string(),
                                     name.string(), why),
                         "nothing was extracted");
      };
      if (name.is_absolute()) {
        refuse("an absolute path");
      }
      for (const auto& part : name) {
        if (part == "..") {
          refuse("it climbs out with '..'");
        }
      }
      if (const char* link = archive_entry_symlink(entry)) {
        if (!stays_inside(name.parent_path(), link)) {
          refuse(fmt::format("a link to '{}' outside the target folder", link));
        }
      }
      if (const char* link = archive_entry_hardlink(entry)) {
        if (!stays_inside({}, link)) {
          refuse(fmt::format("a hard link to '{}' outside the target folder", link));
        }
      }
      const auto type = archive_entry_filetype(entry);
      if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK) {
        refuse("not a file, folder or link");
      }
      std::error_code error;
      if (type != AE_IFDIR && std::filesystem::exists(std::filesystem::symlink_status(
                                  root / name, error))) {
        refuse(fmt::format("{} exists already", (root / name).string()));
      }
      ++entries;
    }
    if (status != ARCHIVE_EOF) {
      throw UsageError(fmt::format("{} is damaged: {}", file.string(),
                                   archive_error_string(reader.get())));
    }
  }

  auto reader = open();
  Writer disk(archive_write_disk_new());
  archive_write_disk_set_options(
      // Entries were checked above and are placed under `target` by an absolute path, so
      // libarchive's own refusal of absolute paths cannot be used; its other guards still are.
      disk.get(), ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                      ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_NO_OVERWRITE);
  archive_entry* entry = nullptr;
  std::size_t count = 0;
  std::vector<char> buffer(k_block);
  util::Progress progress("extract", entries, "entries");
  while (archive_read_next_header(reader.get(), &entry) == ARCHIVE_OK) {
    const auto destination = root / archive_entry_pathname(entry);
    archive_entry_set_pathname(entry, destination.c_str());
    if (const char* link = archive_entry_hardlink(entry)) {
      archive_entry_set_hardlink(entry, (root / link).c_str());
    }
    if (archive_write_header(disk.get(), entry) != ARCHIVE_OK) {
      fail_archive(disk.get(), fmt::format("cannot extract {}", destination.string()));
    }
    la_ssize_t got = 0;
    std::uint64_t bytes = 0;
    while ((got = archive_read_data(reader.get(), buffer.data(), buffer.size())) > 0) {
      if (archive_write_data(disk.get(), buffer.data(), static_cast<std::size_t>(got)) < 0) {
        fail_archive(disk.get(), fmt::format("cannot extract {}", destination.string()));
      }
      bytes += static_cast<std::uint64_t>(got);
    }
    if (got < 0) {
      fail_archive(reader.get(), fmt::format("{} is damaged at {}", file.string(),
                                             archive_entry_pathname(entry)));
    }
    if (archive_write_finish_entry(disk.get()) != ARCHIVE_OK) {
      fail_archive(disk.get(), fmt::format("cannot extract {}", destination.string()));
    }
    ++count;
    progress.advance(1, bytes);
  }
  progress.finish();
  if (archive_write_close(disk.get()) != ARCHIVE_OK) {
    fail_archive(disk.get(), fmt::format("cannot finish extracting into {}", root.string()));
  }
  out << fmt::format("{}: {} entries extracted into {}\n", file.string(), count, target.string());
  return 0;
}

} // namespace xrun::archive
