#include "ui/assets.hpp"

#include "xrun/web_assets.hpp"

#include <algorithm>
#include <array>

namespace xrun::ui {

namespace {

constexpr std::string_view k_index_name = "index.html";

/// The type of a compiled-in file by its extension (the build embeds no other kinds).
std::string_view content_type(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 6> k_types = {{
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".html", "text/html; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".map", "application/json"},
  }};
  for (const auto& [extension, type] : k_types) {
    if (name.size() > extension.size() &&
        name.substr(name.size() - extension.size()) == extension) {
      return type;
    }
  }
  return "application/octet-stream";
}

std::optional<std::string_view> embedded(std::string_view name) {
  const auto found = std::lower_bound(
      k_web_assets.begin(), k_web_assets.end(), name,
      [](const auto& entry, std::string_view wanted) { return entry.first < wanted; });
  if (found == k_web_assets.end() || found->first != name) {
    return std::nullopt;
  }
  return found->second;
}

std::string rewrite_asset_references(std::string_view page) {
  const std::string target = "/assets/" + std::string(k_web_assets_hash) + "/";
  static constexpr std::array<std::string_view, 3> k_prefixes = {"/assets/", "./assets/",
                                                                 "assets/"};
  std::string out;
  out.reserve(page.size() + 256);
  std::size_t i = 0;
  while (i < page.size()) {
    const char c = page[i];
    out.push_back(c);
    ++i;
    if (c != '"' && c != '\'') {
      continue;
    }
    for (const auto prefix : k_prefixes) {
      if (page.substr(i, prefix.size()) == prefix) {
        out += target;
        i += prefix.size();
        break;
      }
    }
  }
  return out;
}

} // namespace

std::string_view assets_hash() {
  return k_web_assets_hash;
}

const std::string& index_page() {
  static const std::string page = rewrite_asset_references(embedded(k_index_name).value_or(""));
  return page;
}

std::optional<Asset> find_asset(std::string_view path) {
  const auto slash = path.find('/');
  if (slash == std::string_view::npos || path.substr(0, slash) != k_web_assets_hash) {
    return std::nullopt;
  }
  const auto name = path.substr(slash + 1);
  if (name == k_index_name) {
    return std::nullopt;
  }
  const auto text = embedded(name);
  if (!text) {
    return std::nullopt;
  }
  return Asset{*text, content_type(name)};
}

} // namespace xrun::ui
