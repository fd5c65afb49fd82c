#include "core/atomic_file.hpp"
#include "test_support.hpp"
#include "xrun/error.hpp"

#include <csignal>
#include <doctest/doctest.h>
#include <string>
#include <sys/resource.h>
#include <sys/stat.h>

using xrun::ArchiveError;
using xrun::core::AtomicFile;
using xrun::core::write_file_atomic;
using xrun::test::list_dir;
using xrun::test::slurp;
using xrun::test::TempDir;

TEST_CASE("an atomic file appears whole on commit and leaves no temp file") {
  TempDir dir;
  const auto target = dir.path() / "data.json";
  {
    AtomicFile file(target);
    file.write("{\"a\": ");
    CHECK_FALSE(std::filesystem::exists(target));
    file.write("1}");
    file.commit();
  }
  CHECK(slurp(target) == "{\"a\": 1}");
  CHECK(list_dir(dir.path()) == std::vector<std::string>{"data.json"});
}

TEST_CASE("an atomic file told not to replace keeps a target made while it was written") {
  TempDir dir;
  const auto target = dir.path() / "runs.tar.zst";
  {
    AtomicFile file(target);
    file.write("new");
    write_file_atomic(target, "made meanwhile");
    CHECK_THROWS_WITH_AS(file.commit(false),
                         doctest::Contains("it exists already (made while this was written)"),
                         ArchiveError);
  }
  CHECK(slurp(target) == "made meanwhile");
  CHECK(list_dir(dir.path()) == std::vector<std::string>{"runs.tar.zst"});
  AtomicFile fresh(dir.path() / "other.tar.zst");
  fresh.write("whole");
  fresh.commit(false);
  CHECK(slurp(dir.path() / "other.tar.zst") == "whole");
}

TEST_CASE("an atomic file replaces existing content") {
  TempDir dir;
  const auto target = dir.path() / "meta.json";
  write_file_atomic(target, "old");
  write_file_atomic(target, "new content");
  CHECK(slurp(target) == "new content");
  CHECK(list_dir(dir.path()) == std::vector<std::string>{"meta.json"});
}

TEST_CASE("an uncommitted atomic file leaves the target untouched and removes its temp") {
  TempDir dir;
  const auto target = dir.path() / "meta.json";
  write_file_atomic(target, "keep me");
  {
    AtomicFile file(target);
    file.write("half a fi");
    // Being written, it has no name (a process killed now would leave nothing behind).
    CHECK(list_dir(dir.path()) == std::vector<std::string>{"meta.json"});
  }
  CHECK(slurp(target) == "keep me");
  CHECK(list_dir(dir.path()) == std::vector<std::string>{"meta.json"});
}

TEST_CASE("an atomic file gets the usual permissions, not mkstemp's 0600") {
  TempDir dir;
  const auto target = dir.path() / "out.txt";
  write_file_atomic(target, "x");
  struct stat info {};
  REQUIRE(::stat(target.c_str(), &info) == 0);
  CHECK((info.st_mode & 0044) == 0044);
}

TEST_CASE("an atomic file in a missing folder fails naming the target") {
  TempDir dir;
  const auto target = dir.path() / "missing" / "meta.json";
  try {
    write_file_atomic(target, "x");
    FAIL("expected an error");
  } catch (const ArchiveError& error) {
    CHECK(std::string(error.what()).find(target.string()) != std::string::npos);
  }
}

TEST_CASE("a failed write removes the temp file and keeps the old content") {
  TempDir dir;
  const auto target = dir.path() / "data.json";
  write_file_atomic(target, "previous");

  // A file size limit makes write(2) fail with EFBIG part-way through, as a full disk would.
  rlimit saved{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
  auto* previous_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = saved;
  small.rlim_cur = 4096;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  bool threw = false;
  try {
    write_file_atomic(target, std::string(100000, 'x'));
  } catch (const ArchiveError& error) {
    threw = std::string(error.what()).find("data.json") != std::string::npos;
  }
  ::setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, previous_handler);

  CHECK(threw);
  CHECK(slurp(target) == "previous");
  CHECK(list_dir(dir.path()) == std::vector<std::string>{"data.json"});
}

TEST_CASE("writing after commit is an error, not a silent no-op") {
  TempDir dir;
  AtomicFile file(dir.path() / "a.txt");
  file.write("a");
  file.commit();
  CHECK_THROWS_AS(file.write("b"), ArchiveError);
  CHECK_THROWS_AS(file.commit(), ArchiveError);
  CHECK(slurp(dir.path() / "a.txt") == "a");
}
