#include "archive/libarchive_io.hpp"

#include "xrun/error.hpp"

#include <cerrno>
#include <clocale>
#include <cstring>
#include <fmt/format.h>

namespace xrun::archive::libarchive {

[[noreturn]] void fail_archive(struct archive* a, const std::string& what) {
  throw ArchiveError(fmt::format(
      "{}: {}", what, archive_error_string(a) ? archive_error_string(a) : "unknown error"));
}

[[noreturn]] void fail_disk(struct archive* a, const std::string& what) {
  // libarchive's own codes: its file-format and misuse errors (EILSEQ, EINVAL) and others (-1).
  const int error = archive_errno(a);
  if (error <= 0 || error == EILSEQ || error == EINVAL) {
    fail_archive(a, what);
  }
  // libarchive's own text ("Can't create '...'") leaves the reason out.
  const char* text = archive_error_string(a);
  throw SystemError(
      fmt::format("{}: {}{}", what, text ? std::string(text) + ": " : "", std::strerror(error)));
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
