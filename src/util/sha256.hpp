// SHA-256 (FIPS 180-4), for content hashes that must not collide by accident.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace xrun::util {

class Sha256 {
public:
  Sha256();
  Sha256& update(std::string_view bytes);
  /// The digest as 64 lowercase hex digits; the object is spent afterwards.
  std::string hex();

private:
  void block(const unsigned char* data);

  std::array<std::uint32_t, 8> m_state;
  std::array<unsigned char, 64> m_buffer{};
  std::size_t m_buffered = 0;
  std::uint64_t m_length = 0; // bytes
};

/// The SHA-256 of `bytes` as 64 lowercase hex digits.
std::string sha256_hex(std::string_view bytes);

} // namespace xrun::util
