#include "run/python_packages.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>
#include <fstream>

using xrun::run::installed_packages;
using xrun::run::normalized_package_name;

namespace {

void write(const std::filesystem::path& file, const std::string& text) {
  std::filesystem::create_directories(file.parent_path());
  std::ofstream(file) << text;
}

} // namespace

TEST_CASE("package names are compared as pip compares them") {
  CHECK(normalized_package_name("PyYAML") == "pyyaml");
  CHECK(normalized_package_name("lazr.restfulclient") == "lazr-restfulclient");
  CHECK(normalized_package_name("python_dateutil") == "python-dateutil");
  CHECK(normalized_package_name("a-_.b") == "a-b");
}

TEST_CASE("installed packages come from the names of their metadata entries") {
  xrun::test::TempDir dir;
  const auto site = dir.path() / "site";
  const auto later = dir.path() / "later";
  std::filesystem::create_directories(site / "numpy-1.24.2.egg-info");
  write(site / "lz4-4.0.2+dfsg.egg-info", "Version: not read: the name has it\n");
  std::filesystem::create_directories(site / "foo_bar-1.0-py3.11.egg-info");
  std::filesystem::create_directories(site / "cryptography-38.0.4.dist-info");
  write(site / "cryptography.egg-info" / "PKG-INFO", "Name: cryptography\nVersion: 3.0\n");
  write(site / "Legacy.egg-info" / "PKG-INFO", "Name: Legacy\nVersion: 0.3\n\nVersion: 9\n");
  std::filesystem::create_directories(site / "nothing.egg-info"); // no version anywhere
  std::filesystem::create_directories(site / "numpy");            // a package, not metadata
  std::filesystem::create_directories(later / "numpy-2.0.0.dist-info");
  std::filesystem::create_directories(later / "Other-1.dist-info");
  const auto packages = installed_packages(
      {site, dir.path() / "missing", site / "numpy-1.24.2.egg-info" / "x.zip", later});
  const std::map<std::string, std::string> expected{
      {"cryptography", "38.0.4"}, {"foo-bar", "1.0"}, {"legacy", "0.3"},
      {"lz4", "4.0.2+dfsg"},      {"numpy", "1.24.2"}, {"other", "1"}};
  CHECK(packages == expected);
}
