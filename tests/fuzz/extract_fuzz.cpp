// `xrun archive extract`: whatever the archive's bytes (any format libarchive reads), every
// entry is checked before anything is written, so nothing lands outside the target folder. The
// target sits three folders deep in a sandbox; after each input the sandbox must hold nothing
// but the archive and the target's folders, and the target is emptied for the next input.
//
// An input starting with the line `entries` is a list of entries made into a tar here (a
// mutated tar rarely keeps its header checksums right, so the checks of names and links would
// be seldom reached): one a line, `f NAME`, `d NAME`, `l NAME TARGET` (a symbolic link) or
// `h NAME TARGET` (a hard link).
#include "archive/pack.hpp"
#include "fuzz_support.hpp"
#include "xrun/error.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <memory>
#include <set>
#include <sstream>

namespace {

const xrun::fuzz::TempFolder k_sandbox;

// Aborts unless every name in `folder` is one of `expected`.
void expect_only(const std::filesystem::path& folder, const std::set<std::string>& expected) {
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    if (!expected.contains(entry.path().filename().string())) {
      std::abort(); // the extraction wrote outside its target
    }
  }
}

// Removes `folder`, whose entries may carry any mode the archive gave them (a folder without
// write permission cannot be emptied by a user other than root).
void remove_extracted(const std::filesystem::path& folder) {
  std::error_code ignored;
  if (std::filesystem::is_directory(std::filesystem::symlink_status(folder, ignored))) {
    std::filesystem::permissions(folder, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::add, ignored);
    for (const auto& entry : std::filesystem::directory_iterator(folder, ignored)) {
      remove_extracted(entry.path());
    }
  }
  std::filesystem::remove_all(folder, ignored);
}

// The tar of the entries listed in `lines` (see the top of the file).
std::string tar_of(std::string_view lines) {
  std::string buffer(1 << 20, '\0');
  std::size_t used = 0;
  const std::unique_ptr<struct archive, decltype(&archive_write_free)> writer(archive_write_new(),
                                                                              archive_write_free);
  archive_write_set_format_pax_restricted(writer.get());
  archive_write_set_bytes_in_last_block(writer.get(), 1);
  if (archive_write_open_memory(writer.get(), buffer.data(), buffer.size(), &used) != ARCHIVE_OK) {
    return {};
  }
  for (const auto line : xrun::fuzz::split_input(lines, "\n", 64)) {
    if (line.size() < 3 || line[1] != ' ') {
      continue;
    }
    const auto words = xrun::fuzz::split_input(line.substr(2), " ", 2);
    const std::string name(words[0]);
    const std::string link(words.size() > 1 ? words[1] : "");
    const std::unique_ptr<archive_entry, decltype(&archive_entry_free)> entry(archive_entry_new(),
                                                                              archive_entry_free);
    archive_entry_set_pathname(entry.get(), name.c_str());
    archive_entry_set_perm(entry.get(), line[0] == 'd' ? 0755 : 0644);
    std::string_view content;
    switch (line[0]) {
    case 'd':
      archive_entry_set_filetype(entry.get(), AE_IFDIR);
      break;
    case 'l':
      archive_entry_set_filetype(entry.get(), AE_IFLNK);
      archive_entry_set_symlink(entry.get(), link.c_str());
      break;
    case 'h':
      archive_entry_set_filetype(entry.get(), AE_IFREG);
      archive_entry_set_hardlink(entry.get(), link.c_str());
      break;
    default:
      archive_entry_set_filetype(entry.get(), AE_IFREG);
      content = "data\n";
      archive_entry_set_size(entry.get(), static_cast<la_int64_t>(content.size()));
    }
    if (archive_write_header(writer.get(), entry.get()) == ARCHIVE_OK && !content.empty()) {
      archive_write_data(writer.get(), content.data(), content.size());
    }
  }
  archive_write_close(writer.get());
  buffer.resize(used);
  return buffer;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto outer = k_sandbox.path() / "outer";
  const auto inner = outer / "inner";
  const auto target = inner / "target";
  std::filesystem::create_directories(inner);
  const auto archive = outer / "input.tar";
  const auto input = xrun::fuzz::text_of(data, size);
  const std::string_view listed = "entries\n";
  xrun::fuzz::write_file(archive, input.starts_with(listed) ? tar_of(input.substr(listed.size()))
                                                            : std::string(input));
  std::ostringstream out;
  try {
    (void)xrun::archive::extract_archive(archive, target, out);
  } catch (const xrun::Error&) {
  }
  expect_only(k_sandbox.path(), {"outer"});
  expect_only(outer, {"inner", "input.tar"});
  expect_only(inner, {"target"});
  remove_extracted(target);
  return 0;
}
