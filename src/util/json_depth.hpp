// How deep JSON text nests, told without parsing it.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace xrun::util {

/// The byte offset of the first `[` or `{` of `text` that opens a level deeper than `limit`,
/// or nullopt when none does. Strings are skipped as JSON writes them (with `\` escapes);
/// nothing else of the text is checked. Parsing JSON is iterative, but copying, comparing and
/// printing a parsed value recurse once a level: text nested beyond any real need is refused
/// with this before it is parsed.
std::optional<std::size_t> json_nesting_beyond(std::string_view text, std::size_t limit);

} // namespace xrun::util
