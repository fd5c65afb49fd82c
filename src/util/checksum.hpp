// Fast non-cryptographic checksums: telling a faithful copy of bytes from a damaged one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace xrun::util {

/// A 64-bit XXH3 checksum fed in parts. For values that live in memory only: never store one
/// (another version of the library may compute another value).
class Checksum {
public:
  Checksum();
  Checksum(Checksum&&) noexcept;
  Checksum& operator=(Checksum&&) noexcept;
  ~Checksum();

  void add(const char* data, std::size_t size);
  std::uint64_t value() const;

private:
  struct State;
  std::unique_ptr<State> m_state;
};

} // namespace xrun::util
