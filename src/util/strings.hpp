// String helpers for messages.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace xrun::util {

/// Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of two
/// neighbouring characters each cost one (so `rnu` is one step from `run`).
std::size_t edit_distance(std::string_view a, std::string_view b);

/// `text` with its ASCII letters in lower case (other bytes as they are).
std::string lower_case(std::string_view text);

/// The candidate closest to `word` when it is close enough to be a likely typo (one that
/// differs in case only, else an edit distance of at most a third of the word's length, at
/// least 1, else the shortest that begins with a word of 3 or more characters, as a name cut
/// short), else nullopt. Ties go to the first candidate.
std::optional<std::string> closest_match(std::string_view word,
                                         std::span<const std::string> candidates);

/// `1 run`, `3 runs`, `0 entries`: a count with its noun, plural unless the count is one
/// (`plural` defaults to the noun with an `s`).
std::string count_of(std::size_t count, std::string_view noun, std::string_view plural = {});

/// The columns `text` takes on a terminal: one a character (UTF-8's continuation bytes take
/// none).
std::size_t display_width(std::string_view text);

/// `1.5 MB`, `340 B`: a size for people (powers of 1024).
std::string format_bytes(double bytes);

/// `text` split at every character of `separators` that is not inside square brackets:
/// ("a.b/c", "./") -> [a, b, c]; ("int|list[int|str]", "|") -> [int, list[int|str]].
std::vector<std::string> split_outside_brackets(std::string_view text,
                                                std::string_view separators);

/// The shortest text that reads back as `value`, written as Python's repr() writes a float
/// (`1.0`, `0.3`, `1e+16`, `nan`).
std::string float_repr(double value);

/// `text` without the spaces, tabs and line ends around it.
std::string trim(std::string_view text);

/// Whether `text` is well-formed UTF-8 (no overlong forms, surrogates or values past U+10FFFF).
bool valid_utf8(std::string_view text);

/// The offset of the first byte of `text` that is not part of well-formed UTF-8, or nullopt.
std::optional<std::size_t> invalid_utf8_at(std::string_view text);

/// `text` with bytes that are not UTF-8 written as `\xff` escapes (for a file name in a message).
std::string escape_non_utf8(std::string_view text);

/// `text` with each byte that is not part of well-formed UTF-8 replaced by U+FFFD.
std::string replace_invalid_utf8(std::string_view text);

/// `text` as a message may echo it: whole up to `limit` characters, else its first `limit`
/// characters, an ellipsis and its total length (`[[[[… (60000 characters)`), so that a huge
/// value never floods the terminal.
std::string shorten(std::string_view text, std::size_t limit = 200);

/// `text` with its control characters written as escapes (`\n`, `\t`, `\x1b`): a value from
/// a run folder stays on its row and sends nothing to the terminal.
std::string printable(std::string_view text);

/// `text` split at every `separator` (`a,,b` -> [a, "", b]; an empty text -> []).
std::vector<std::string> split(std::string_view text, char separator);

/// The words joined with `separator` between them.
std::string join(std::span<const std::string> words, std::string_view separator);

} // namespace xrun::util
