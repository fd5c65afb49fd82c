// What compress and extract share of libarchive: owned reader and writer handles, the block
// size, entry names in UTF-8, opening an archive to read. Internal to archive/.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>

namespace xrun::archive::libarchive {

inline constexpr std::size_t k_block = 1 << 20;

struct ReaderDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
struct WriterDeleter {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
using Reader = std::unique_ptr<struct archive, ReaderDeleter>;
using Writer = std::unique_ptr<struct archive, WriterDeleter>;

/// Throws ArchiveError `what: <libarchive's error>`.
[[noreturn]] void fail_archive(struct archive* a, const std::string& what);

/// For a write to disk that failed (extracted files, a compressed file): throws SystemError
/// `what: <libarchive's error>: <the system's reason>`, not bad input but a full disk, an I/O
/// error or a refused permission, which may pass when run again; else as fail_archive().
[[noreturn]] void fail_disk(struct archive* a, const std::string& what);

/// The next entry's header: ARCHIVE_OK also for a warning (a name libarchive could not
/// translate is still read, as its bytes).
int next_header(struct archive* reader, archive_entry** entry);

/// Archives name their entries in UTF-8 (pax), and libarchive translates those names from and
/// to the locale's character set; the process starts in the "C" locale, which has none beyond
/// ASCII. Run folders' names are taken as UTF-8, as the rest of xrun takes them. Archive
/// commands start no Python, so changing the locale here changes nothing else.
void use_utf8_names();

/// A reader of the formats compress writes (tar and zip, any common compression), opened on
/// `file`; null with `problem` set when it cannot be opened (each caller decides what kind of
/// error that is).
Reader open_reader(const std::filesystem::path& file, std::string& problem);

} // namespace xrun::archive::libarchive
