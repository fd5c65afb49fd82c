#include "archive/pack.hpp"

#include "archive/libarchive_io.hpp"
#include "archive/runs.hpp"
#include "core/atomic_file.hpp"
#include "core/diagnostics.hpp"
#include "core/run_files.hpp"
#include "util/checksum.hpp"
#include "util/fs.hpp"
#include "util/progress.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"
#include "xrun/error.hpp"

#include <algorithm>
#include <archive.h>
#include <archive_entry.h>
#include <cerrno>
#include <clocale>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <utility>
#include <vector>

namespace xrun::archive {

using namespace libarchive;

namespace {

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

struct Expected {
  std::int64_t size;
  std::uint64_t checksum;
};

/// What went into an archive.
struct Added {
  std::size_t files = 0;
  std::uint64_t bytes = 0;
  /// The name each file with more than one hard link was first added under (tar only): a
  /// blob linked into many runs goes in once, its other names as links to that one.
  std::map<std::pair<dev_t, ino_t>, std::string>* first_names = nullptr;
};

/// The checksum that stands for a hard link entry in verify(): that of its target's name.
std::uint64_t link_checksum(const std::string& target) {
  util::Checksum checksum;
  checksum.add(target.data(), target.size());
  return checksum.value();
}

/// Makes `entry` a hard link to the name its file was first added under, when it was (and
/// records this name as the first otherwise). Returns whether it now is a link.
bool link_to_first(archive_entry* entry, const struct stat& info, const std::string& name,
                   std::map<std::string, Expected>* written, Added& added) {
  if (!added.first_names || !S_ISREG(info.st_mode) || info.st_nlink < 2) {
    return false;
  }
  const auto [first, fresh] = added.first_names->try_emplace({info.st_dev, info.st_ino}, name);
  if (fresh) {
    return false;
  }
  archive_entry_set_hardlink(entry, first->second.c_str());
  archive_entry_set_size(entry, 0);
  if (written) {
    (*written)[name] = {-1, link_checksum(first->second)};
  }
  return true;
}

/// Adds one file, folder or link to the archive under `name`, and what a folder holds (in
/// name order). With `written`, records each file's size and checksum for verify().
/// `buffer` is reused across files. `byte_names`: the format can hold a name that is not
/// UTF-8 as its bytes (tar can, zip cannot).
/// Whether `name` (a path in the archive) is the viewer's summary of a series,
/// `.track/<name>.csv.m4`.
bool is_series_summary(std::string_view name) {
  const std::string suffix = std::string(".csv") + std::string(core::k_series_summary_suffix);
  const std::string track = std::string("/") + core::k_track_folder + "/";
  return name.ends_with(suffix) && name.find(track) != std::string_view::npos;
}

void add_tree(struct archive* writer, const std::string& path, const std::string& name,
              bool byte_names, std::vector<char>& buffer,
              std::map<std::string, Expected>* written, Added& added) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) {
    throw ArchiveError(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  }
  if (S_ISREG(info.st_mode) && is_series_summary(name)) {
    return; // derived from the series beside it, and made again by the viewer when needed
  }
  if (!S_ISREG(info.st_mode) && !S_ISDIR(info.st_mode) && !S_ISLNK(info.st_mode)) {
    // A FIFO, socket or device holds no data of the run, and `extract` refuses such entries.
    core::print_warning(fmt::format("{} is not a file, folder or link; it is left out", path));
    return;
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
  const bool linked = link_to_first(entry.get(), info, name, written, added);
  if (!byte_names && !util::valid_utf8(name)) {
    throw ArchiveError(fmt::format("cannot add {}: its name is not UTF-8, which zip needs",
                                   path),
                       "a .tar.zst or .tar.gz archive keeps such names as they are");
  }
  // A warning is a name that is not UTF-8: tar stores it as it is (pax hdrcharset=BINARY).
  if (const int status = archive_write_header(writer, entry.get());
      status != ARCHIVE_OK && (status != ARCHIVE_WARN || !byte_names)) {
    fail_disk(writer, fmt::format("cannot add {}", path));
  }
  if (S_ISDIR(info.st_mode)) {
    std::vector<std::string> names;
    // Not through a link put in the folder's place since it was looked at.
    const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (DIR* dir = fd >= 0 ? ::fdopendir(fd) : nullptr) {
      while (const dirent* item = ::readdir(dir)) {
        const std::string_view child = item->d_name;
        if (child != "." && child != "..") {
          names.emplace_back(child);
        }
      }
      ::closedir(dir);
    } else {
      const int error = errno;
      if (fd >= 0) {
        ::close(fd);
      }
      throw ArchiveError(fmt::format("cannot read {}: {}", path, std::strerror(error)));
    }
    std::sort(names.begin(), names.end());
    for (const auto& child : names) {
      add_tree(writer, path + "/" + child, name + "/" + child, byte_names, buffer, written,
               added);
    }
    return;
  }
  if (!S_ISREG(info.st_mode) || linked) {
    return; // a link: archived as a link, never followed; a hard link holds no data
  }
  // The file the header describes: not a link or FIFO put in its place since.
  const std::filesystem::path file = path;
  auto opened = util::open_regular_file(file.parent_path(), file.filename().string());
  if (!opened.ok()) {
    throw ArchiveError(fmt::format("cannot add {}: it {}", path, opened.why));
  }
  const int fd = opened.fd.get();
  util::Checksum checksum;
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
      fail_disk(writer, fmt::format("cannot add {}", path));
    }
    if (total >= info.st_size) {
      break; // the whole file as it was when its header was written; spares one read
    }
  }
  ++added.files;
  added.bytes += static_cast<std::uint64_t>(total);
  if (written) {
    (*written)[name] = {total, checksum.value()};
  }
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
  while ((status = next_header(reader.get(), &entry)) == ARCHIVE_OK) {
    if (const char* target = archive_entry_hardlink(entry)) {
      found[archive_entry_pathname(entry)] = {-1, link_checksum(target)};
      continue;
    }
    if (archive_entry_filetype(entry) != AE_IFREG) {
      continue;
    }
    util::Checksum checksum;
    std::int64_t total = 0;
    la_ssize_t got = 0;
    while ((got = archive_read_data(reader.get(), buffer.data(), buffer.size())) > 0) {
      checksum.add(buffer.data(), static_cast<std::size_t>(got));
      total += got;
    }
    if (got < 0) {
      fail_archive(reader.get(), fmt::format("{} is damaged", file.string()));
    }
    found[archive_entry_pathname(entry)] = {total, checksum.value()};
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

/// Refuses a selection that compress must not take: an output inside one of the runs, or
/// (with --remove) a run still recorded as running.
void check_selection(const CompressOptions& options, const std::vector<Run>& selected) {
  std::error_code error;
  // Real paths (links resolved), as the folders will be walked and removed.
  const auto output = std::filesystem::weakly_canonical(options.output, error);
  for (const auto& run : selected) {
    // Inside a run folder, the archive would pack itself, and --remove would delete it.
    const auto folder = std::filesystem::weakly_canonical(run.path, error);
    const auto inside = output.lexically_relative(folder);
    if (!inside.empty() && *inside.begin() != "..") {
      throw UsageError(fmt::format("{} is inside the selected run {}", options.output.string(),
                                   run.path),
                       "write the archive outside the runs it holds");
    }
    // A stale heartbeat may be a suspended or unreachable supervisor: only a run recorded as
    // ended (or marked lost by reconcile) is ever removed.
    if (options.remove && run.readable() && run.summary.status == RunStatus::running) {
      throw UsageError(fmt::format("{} is recorded as running (its supervisor may be alive or "
                                   "lost); it cannot be removed",
                                   run.path),
                       "a run whose supervisor died is removable after `xrun archive reconcile`");
    }
  }
}

/// A writer of `format`: pax tar (zstd with `threads`, or gzip) or zip.
Writer new_writer(Format format, int threads) {
  Writer writer(archive_write_new());
  switch (format) {
  case Format::tar_zst:
    archive_write_set_format_pax_restricted(writer.get());
    archive_write_add_filter_zstd(writer.get());
    archive_write_set_filter_option(writer.get(), "zstd", "compression-level", "3");
    archive_write_set_filter_option(writer.get(), "zstd", "threads",
                                    std::to_string(threads).c_str());
    break;
  case Format::tar_gz:
    archive_write_set_format_pax_restricted(writer.get());
    archive_write_add_filter_gzip(writer.get());
    break;
  case Format::zip:
    archive_write_set_format_zip(writer.get());
    break;
  }
  return writer;
}

} // namespace

int compress_runs(const CompressOptions& options, std::ostream& out) {
  use_utf8_names();
  const auto format = format_of(options.output);
  // AtomicFile renames over its target: an existing file (perhaps the only copy of runs an
  // earlier `--remove` deleted) would be lost without a word.
  std::error_code error;
  if (std::filesystem::exists(std::filesystem::symlink_status(options.output, error))) {
    throw UsageError(fmt::format("{} exists already", options.output.string()),
                     "choose another name, or remove it first");
  }
  if (!options.all && !options.where) {
    throw UsageError("compress needs --where EXPR or --all", "choose the runs to compress");
  }
  const double now = util::to_epoch_seconds(util::Clock::now());
  auto selected = select_runs(options.root, options.where, now);
  if (selected.empty()) {
    throw UsageError(fmt::format("no runs {}in {}", options.where ? "match " : "",
                                 options.root.string()));
  }
  check_selection(options, selected);

  core::AtomicFile file(options.output);
  auto writer = new_writer(format, options.threads);
  archive_write_set_bytes_in_last_block(writer.get(), 1);
  if (archive_write_open_fd(writer.get(), file.fd()) != ARCHIVE_OK) {
    fail_disk(writer.get(), fmt::format("cannot write {}", options.output.string()));
  }
  std::map<std::string, Expected> written;
  std::vector<char> buffer(k_block);
  const auto top = std::filesystem::absolute(options.root).lexically_normal();
  const auto prefix =
      (top.filename().empty() ? top.parent_path().filename() : top.filename()).string();
  Added added;
  std::map<std::pair<dev_t, ino_t>, std::string> first_names;
  if (format != Format::zip) { // zip has no hard links: each name keeps its bytes
    added.first_names = &first_names;
  }
  util::Progress progress("compress", selected.size(), "runs");
  for (const auto& run : selected) {
    const auto before = added.bytes;
    add_tree(writer.get(), run.path, prefix + "/" + std::string(run.relative()),
             format != Format::zip, buffer,
             options.remove ? &written : nullptr, added);
    progress.advance(1, added.bytes - before);
  }
  if (archive_write_close(writer.get()) != ARCHIVE_OK) {
    fail_disk(writer.get(), fmt::format("cannot write {}", options.output.string()));
  }
  try {
    // A file made under that name meanwhile is not replaced either.
    file.commit(false, core::FolderSync::by_caller);
  } catch (const ArchiveError& failed) { // a full disk, say: no bad input, and nothing removed
    throw SystemError(failed.what());
  }
  try {
    const auto folder = options.output.parent_path();
    util::fsync_directory(folder.empty() ? std::filesystem::path(".") : folder);
  } catch (const std::system_error& failed) {
    // Its name may not survive a crash: the file is not kept, as when its writing failed.
    std::filesystem::remove(options.output, error);
    throw SystemError(
        fmt::format("cannot write {}: {}", options.output.string(), failed.code().message()));
  }

  const auto size = std::filesystem::file_size(options.output, error);
  progress.finish();
  out << fmt::format(
      "{}: {}, {} in {} -> {}\n", options.output.string(), util::count_of(selected.size(), "run"),
      util::format_bytes(static_cast<double>(added.bytes)), util::count_of(added.files, "file"),
      util::format_bytes(static_cast<double>(size)));
  if (options.remove) {
    verify(options.output, written);
    util::Progress removing("remove", selected.size(), "runs");
    for (const auto& run : selected) {
      std::filesystem::remove_all(run.folder());
      removing.advance(1);
    }
    removing.finish();
    out << fmt::format("verified; removed {}\n", util::count_of(selected.size(), "run folder"));
  }
  return 0;
}

} // namespace xrun::archive
