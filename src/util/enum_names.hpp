// Enums that are written to files by name.
#pragma once

#include <array>
#include <optional>
#include <string_view>
#include <utility>

namespace xrun::util {

template <class Enum, std::size_t N>
using NameTable = std::array<std::pair<Enum, std::string_view>, N>;

/// The name `table` gives `value`, or `fallback` for a value it does not list.
template <class Enum, std::size_t N>
constexpr std::string_view name_of(const NameTable<Enum, N>& table, Enum value,
                                   std::string_view fallback) noexcept {
  for (const auto& [known, name] : table) {
    if (known == value) {
      return name;
    }
  }
  return fallback;
}

/// The value `table` names `name`, or nullopt.
template <class Enum, std::size_t N>
constexpr std::optional<Enum> value_of(const NameTable<Enum, N>& table,
                                       std::string_view name) noexcept {
  for (const auto& [value, known] : table) {
    if (known == name) {
      return value;
    }
  }
  return std::nullopt;
}

} // namespace xrun::util
