#include "util/sha256.hpp"

#include <nettle/sha2.h>

namespace xrun::util {

struct Sha256::Context {
  sha256_ctx digest{};
};

Sha256::Sha256() : m_context(std::make_unique<Context>()) {
  sha256_init(&m_context->digest);
}

Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;
Sha256::~Sha256() = default;

Sha256& Sha256::update(std::string_view bytes) {
  sha256_update(&m_context->digest, bytes.size(), reinterpret_cast<const uint8_t*>(bytes.data()));
  return *this;
}

std::string Sha256::hex() {
  uint8_t digest[SHA256_DIGEST_SIZE];
  sha256_digest(&m_context->digest, sizeof digest, digest);
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
