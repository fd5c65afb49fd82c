// What the fuzz targets share: a private temp folder for the targets that read files, and the
// split of one input into the several texts a target needs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace xrun::fuzz {

/// The input as text (the targets' parsers take text; NUL bytes are kept).
inline std::string_view text_of(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// `text` cut at every `separator` (at most `most` parts; the last one keeps the rest).
inline std::vector<std::string_view> split_input(std::string_view text, std::string_view separator,
                                                 std::size_t most) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < most) {
    const auto at = text.find(separator);
    if (at == std::string_view::npos) {
      break;
    }
    parts.push_back(text.substr(0, at));
    text.remove_prefix(at + separator.size());
  }
  parts.push_back(text);
  return parts;
}

/// A folder of this process's own under the system's temp folder, made once and removed at
/// exit (libFuzzer returns from main when it ends normally).
class TempFolder {
public:
  TempFolder() {
    std::string pattern = (std::filesystem::temp_directory_path() / "xrun-fuzz-XXXXXX").string();
    if (!mkdtemp(pattern.data())) {
      std::abort();
    }
    m_path = pattern;
  }
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;
  ~TempFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(m_path, ignored);
  }
  const std::filesystem::path& path() const { return m_path; }

private:
  std::filesystem::path m_path;
};

/// Replaces `file` with `text`.
inline void write_file(const std::filesystem::path& file, std::string_view text) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!out.flush()) {
    std::abort();
  }
}

} // namespace xrun::fuzz
