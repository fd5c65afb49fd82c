// SHA-256 (FIPS 180-4), for content hashes that must not collide by accident: nettle's.
#pragma once

#include <nettle/sha2.h>
#include <string>
#include <string_view>

namespace xrun::util {

/// A SHA-256 digest fed in parts.
class Sha256 {
public:
  Sha256();

  Sha256& update(std::string_view bytes);
  /// The digest as 64 lowercase hex digits; the object is spent afterwards.
  std::string hex();

private:
  sha256_ctx m_context{};
};

/// The SHA-256 of `bytes` as 64 lowercase hex digits.
std::string sha256_hex(std::string_view bytes);

} // namespace xrun::util
