// The viewer's page, compiled into the binary (web/ and the chart library; see CMakeLists.txt):
// served at `/` (index.html) and `/assets/<hash>/<name>`, where the hash is one over every file
// of the build, so a browser that cached a file forever never meets a stale one.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace xrun::ui {

/// One compiled-in file and the Content-Type it is served with.
struct Asset {
  std::string_view text;
  std::string_view content_type;
};

/// The hash over every compiled-in file, as it appears in the assets' URLs.
std::string_view assets_hash();

/// index.html, its references to `assets/NAME` (quoted, optionally starting with `/` or `./`)
/// pointing at `/assets/<hash>/NAME`.
const std::string& index_page();

/// The file `/assets/<hash>/<name>` names, given the part of the path after `/assets/`;
/// nullopt for another hash, an unknown name or index.html.
std::optional<Asset> find_asset(std::string_view path);

} // namespace xrun::ui
