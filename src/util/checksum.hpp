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

/// 64-bit FNV-1a of `bytes`. Kept only where a value is already on disk: the folder a user's
/// exported Python package is cached in is named by this hash of the package, so the same
/// package must keep giving the same name (`xrun python-path` prints it, and another hash
/// would leave every cache behind). Anything new takes Checksum or SHA-256.
/// `hash` goes on from an earlier part's hash, so that several parts hash as one.
inline constexpr std::uint64_t k_fnv1a_offset = 14695981039346656037ULL;
constexpr std::uint64_t fnv1a(std::string_view bytes, std::uint64_t hash = k_fnv1a_offset) {
  for (const char c : bytes) {
    hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  }
  return hash;
}

} // namespace xrun::util
