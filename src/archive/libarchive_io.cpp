#include "archive/libarchive_io.hpp"

#include "xrun/error.hpp"

#include <clocale>
#include <fmt/format.h>

namespace xrun::archive::libarchive {

[[noreturn]] void fail_archive(struct archive* a, const std::string& what) {
  throw ArchiveError(fmt::format("{}: {}", what, archive_error_string(a) ? archive_error_string(a)
                                                                          : "unknown error"));
}

int next_header(struct archive* reader, archive_entry** entry) {
  const int status = archive_read_next_header(reader, entry);
  return status == ARCHIVE_WARN ? ARCHIVE_OK : status;
}

void use_utf8_names() {
  if (!std::setlocale(LC_CTYPE, "C.UTF-8")) {
    std::setlocale(LC_CTYPE, "");
  }
}

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

} // namespace xrun::archive::libarchive
