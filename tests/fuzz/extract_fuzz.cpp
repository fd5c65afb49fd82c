// `xrun archive extract`: whatever the archive's bytes (any format libarchive reads), every
// entry is checked before anything is written, so nothing lands outside the target folder. The
// target sits three folders deep in a sandbox; after each input the sandbox must hold nothing
// but the archive and the target's folders, and the target is emptied for the next input.
#include "archive/pack.hpp"
#include "fuzz_support.hpp"
#include "xrun/error.hpp"

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

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto outer = k_sandbox.path() / "outer";
  const auto inner = outer / "inner";
  const auto target = inner / "target";
  std::filesystem::create_directories(inner);
  const auto archive = outer / "input.tar";
  xrun::fuzz::write_file(archive, xrun::fuzz::text_of(data, size));
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
