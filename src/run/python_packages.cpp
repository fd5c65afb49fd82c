#include "run/python_packages.hpp"

#include "util/strings.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <optional>
#include <set>

namespace xrun::run {

namespace {

struct Entry {
  std::string name;
  std::string version;          // empty: not in the entry's name
  std::filesystem::path path;   // the entry (a folder, or an old-style egg-info file)
};

/// `numpy-1.24.2.egg-info` -> {numpy, 1.24.2}; `foo-1.0-py3.11.egg-info` -> {foo, 1.0};
/// `cryptography.egg-info` -> {cryptography, ""}. Distribution names in these entries have
/// their `-` written as `_`, so the first `-` ends the name. Nullopt for other entries.
std::optional<Entry> parse_entry(const std::filesystem::path& path) {
  const auto file = path.filename().string();
  std::string_view stem = file;
  for (const std::string_view suffix : {".dist-info", ".egg-info"}) {
    if (stem.ends_with(suffix)) {
      stem.remove_suffix(suffix.size());
      const auto dash = stem.find('-');
      if (stem.empty() || dash == 0) {
        return std::nullopt;
      }
      Entry entry{std::string(stem.substr(0, dash)), {}, path};
      if (dash != std::string_view::npos) {
        const auto rest = stem.substr(dash + 1);
        entry.version = std::string(rest.substr(0, rest.find('-')));
      }
      return entry;
    }
  }
  return std::nullopt;
}

/// The `Version:` header of an entry's metadata (METADATA, PKG-INFO, or the entry itself
/// when it is a file); empty when there is none.
std::string version_from_metadata(const std::filesystem::path& entry) {
  std::error_code error;
  std::vector<std::filesystem::path> candidates{entry};
  if (std::filesystem::is_directory(entry, error)) {
    candidates = {entry / "METADATA", entry / "PKG-INFO"};
  }
  for (const auto& file : candidates) {
    std::ifstream in(file);
    std::string line;
    // The headers come first and are short; a body can be long and is not read.
    for (int lines = 0; lines < 200 && std::getline(in, line) && !util::trim(line).empty();
         ++lines) {
      if (line.starts_with("Version:")) {
        return util::trim(std::string_view(line).substr(8));
      }
    }
  }
  return {};
}

} // namespace

std::string normalized_package_name(std::string_view name) {
  std::string normalized;
  normalized.reserve(name.size());
  for (const char c : name) {
    if (c == '-' || c == '_' || c == '.') {
      if (normalized.empty() || normalized.back() != '-') {
        normalized.push_back('-');
      }
    } else {
      normalized.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  }
  return normalized;
}

std::map<std::string, std::string>
installed_packages(const std::vector<std::filesystem::path>& folders) {
  std::map<std::string, std::string> packages;
  std::set<std::filesystem::path> seen;
  for (const auto& folder : folders) {
    std::error_code error;
    if (!seen.insert(folder.empty() ? "." : folder).second) {
      continue;
    }
    std::vector<Entry> entries;
    for (std::filesystem::directory_iterator it(folder.empty() ? "." : folder, error), end;
         !error && it != end; it.increment(error)) {
      if (auto entry = parse_entry(it->path())) {
        entries.push_back(std::move(*entry));
      }
    }
    // Within a folder, an entry that names its version goes before one that does not (a
    // leftover of another install of the same distribution); then in a fixed order.
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
      if (a.version.empty() != b.version.empty()) {
        return b.version.empty();
      }
      return a.path < b.path;
    });
    std::map<std::string, std::string> here;
    for (auto& entry : entries) {
      auto name = normalized_package_name(entry.name);
      if (packages.contains(name) || here.contains(name)) {
        continue;
      }
      if (entry.version.empty()) {
        entry.version = version_from_metadata(entry.path);
      }
      if (!entry.version.empty()) {
        here.emplace(std::move(name), std::move(entry.version));
      }
    }
    packages.merge(here);
  }
  return packages;
}

} // namespace xrun::run
