// Helpers shared by the unit tests.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace xrun::test {

/// A fresh temporary folder, removed with everything in it when the object goes away.
class TempDir {
public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::filesystem::path& path() const { return m_path; }

private:
  std::filesystem::path m_path;
};

/// The names of the entries of `dir`, sorted.
std::vector<std::string> list_dir(const std::filesystem::path& dir);

/// The content of a file ("" when missing).
std::string slurp(const std::filesystem::path& file);

} // namespace xrun::test
