#include "util/sha256.hpp"

namespace xrun::util {

Sha256::Sha256() {
  sha256_init(&m_context);
}

Sha256& Sha256::update(std::string_view bytes) {
  sha256_update(&m_context, bytes.size(), reinterpret_cast<const uint8_t*>(bytes.data()));
  return *this;
}

std::string Sha256::hex() {
  uint8_t digest[SHA256_DIGEST_SIZE];
  sha256_digest(&m_context, sizeof digest, digest);
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string text;
  text.reserve(2 * sizeof digest);
  for (const auto byte : digest) {
    text += k_digits[byte >> 4];
    text += k_digits[byte & 0xf];
  }
  return text;
}

std::string sha256_hex(std::string_view bytes) {
  return Sha256().update(bytes).hex();
}

} // namespace xrun::util
