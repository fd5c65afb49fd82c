// A run's labels: tags and a note that a user gives a run (`--tag`, `--note`, a config's
// `tags:` and `note:`, `xrun archive modify`), recorded in the meta as `tags` (a list of
// strings) and `note` (a string).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xrun::core {

inline constexpr std::size_t k_most_tag_characters = 64;
inline constexpr std::size_t k_most_note_bytes = 4096;

/// Why `tag` cannot be a tag, or nullopt when it can: a tag is 1 to 64 characters of UTF-8
/// without control characters or commas, and no spaces around it.
std::optional<std::string> tag_problem(std::string_view tag);

/// Why `note` cannot be a note, or nullopt when it can: UTF-8 of at most 4096 bytes without
/// control characters other than line ends and tabs.
std::optional<std::string> note_problem(std::string_view note);

/// Adds `tag` to `tags` unless it is there already (a tag is given once, in the order given).
void add_tag(std::vector<std::string>& tags, std::string tag);

} // namespace xrun::core
