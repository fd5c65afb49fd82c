#include "test_support.hpp"
#include "util/fs.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

using xrun::test::TempDir;

TEST_CASE("private folders are made for this user alone, and others' are refused") {
  TempDir dir;
  const auto root = dir.path() / "cache";
  CHECK_FALSE(xrun::util::make_private_directories(root, "xrun/python/v1"));
  struct stat info {};
  REQUIRE(::stat((root / "xrun" / "python" / "v1").c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0700);
  CHECK_FALSE(xrun::util::make_private_directories(root, "xrun/python/v1")); // as it is

  std::filesystem::permissions(root / "xrun" / "python", std::filesystem::perms::group_write,
                               std::filesystem::perm_options::add);
  const auto writable = xrun::util::make_private_directories(root, "xrun/python/v1");
  REQUIRE(writable);
  CHECK(*writable == (root / "xrun" / "python").string() + " is writable by other users");

  std::filesystem::create_directory(dir.path() / "elsewhere");
  std::filesystem::create_directory_symlink(dir.path() / "elsewhere", root / "linked");
  const auto linked = xrun::util::make_private_directories(root, "linked/v1");
  REQUIRE(linked);
  CHECK(linked->ends_with("linked is not a folder but a link"));
  // The root itself may be a link (to a larger disk), to a folder of the user's own.
  CHECK_FALSE(xrun::util::make_private_directories(root / "linked", "v1"));

  if (::geteuid() == 0) {
    REQUIRE(::chown((dir.path() / "elsewhere").c_str(), 65534, 65534) == 0);
    const auto foreign = xrun::util::make_private_directories(root / "linked", "v2");
    REQUIRE(foreign);
    CHECK(foreign->ends_with("elsewhere belongs to user 65534"));
  }
}
