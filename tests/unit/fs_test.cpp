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

TEST_CASE("a file's folder is reached without a link below the folder given") {
  TempDir dir;
  const auto root = dir.path() / "archive";
  std::filesystem::create_directories(root / "ns" / "run" / ".track");
  std::filesystem::create_directories(dir.path() / "elsewhere" / "run" / ".track");
  std::filesystem::create_directory_symlink(dir.path() / "elsewhere", root / "swapped");

  auto place = xrun::util::open_folder_of(root, "ns/run/.track/loss.csv.m4");
  REQUIRE(place.at.valid());
  CHECK(place.name == "loss.csv.m4");
  struct stat at {};
  struct stat track {};
  REQUIRE(::fstat(place.at.get(), &at) == 0);
  REQUIRE(::stat((root / "ns" / "run" / ".track").c_str(), &track) == 0);
  CHECK(at.st_ino == track.st_ino);

  place = xrun::util::open_folder_of(root, "swapped/run/.track/loss.csv.m4");
  CHECK_FALSE(place.at.valid());
  CHECK(place.why == "goes through the symbolic link swapped");
  CHECK_FALSE(xrun::util::open_folder_of(root, "ns/../../x").at.valid());
  CHECK_FALSE(xrun::util::open_folder_of(root, "/etc/passwd").at.valid());
  CHECK(xrun::util::open_folder_of(root, "top.txt").at.valid()); // the folder given itself
}
