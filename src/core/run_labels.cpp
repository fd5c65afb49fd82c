#include "core/run_labels.hpp"

#include "util/strings.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace xrun::core {

namespace {

bool is_control(unsigned char c) {
  return c < 0x20 || c == 0x7f;
}

/// The number of characters of well-formed UTF-8 `text`.
std::size_t characters(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

} // namespace

std::optional<std::string> tag_problem(std::string_view tag) {
  if (tag.empty()) {
    return "a tag cannot be empty";
  }
  if (!util::valid_utf8(tag)) {
    return "a tag is UTF-8 text";
  }
  if (std::any_of(tag.begin(), tag.end(), [](char c) { return is_control(c); })) {
    return "a tag has no control characters";
  }
  if (tag.find(',') != std::string_view::npos) {
    return "a tag has no commas (give each tag on its own)";
  }
  if (util::trim(tag).size() != tag.size()) {
    return "a tag has no spaces around it";
  }
  if (characters(tag) > k_most_tag_characters) {
    return fmt::format("a tag has at most {} characters", k_most_tag_characters);
  }
  return std::nullopt;
}

std::optional<std::string> note_problem(std::string_view note) {
  if (!util::valid_utf8(note)) {
    return "a note is UTF-8 text";
  }
  if (std::any_of(note.begin(), note.end(), [](char c) {
        return is_control(c) && c != '\n' && c != '\t' && c != '\r';
      })) {
    return "a note has no control characters other than line ends and tabs";
  }
  if (note.size() > k_most_note_bytes) {
    return fmt::format("a note has at most {} bytes", k_most_note_bytes);
  }
  return std::nullopt;
}

void add_tag(std::vector<std::string>& tags, std::string tag) {
  if (std::find(tags.begin(), tags.end(), tag) == tags.end()) {
    tags.push_back(std::move(tag));
  }
}

} // namespace xrun::core
