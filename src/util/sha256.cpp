#include "util/sha256.hpp"

#include <openssl/evp.h>
#include <stdexcept>

namespace xrun::util {

struct Sha256::Context {
  struct Free {
    void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
  };
  std::unique_ptr<EVP_MD_CTX, Free> digest{EVP_MD_CTX_new()};
};

namespace {

[[noreturn]] void fail() {
  throw std::runtime_error("cannot compute a SHA-256 digest (libcrypto failed)");
}

} // namespace

Sha256::Sha256() : m_context(std::make_unique<Context>()) {
  if (!m_context->digest ||
      EVP_DigestInit_ex(m_context->digest.get(), EVP_sha256(), nullptr) != 1) {
    fail();
  }
}

Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;
Sha256::~Sha256() = default;

Sha256& Sha256::update(std::string_view bytes) {
  if (EVP_DigestUpdate(m_context->digest.get(), bytes.data(), bytes.size()) != 1) {
    fail();
  }
  return *this;
}

std::string Sha256::hex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_DigestFinal_ex(m_context->digest.get(), digest, &size) != 1) {
    fail();
  }
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string text;
  text.reserve(2 * size);
  for (unsigned int i = 0; i < size; ++i) {
    text += k_digits[digest[i] >> 4];
    text += k_digits[digest[i] & 0xf];
  }
  return text;
}

std::string sha256_hex(std::string_view bytes) {
  return Sha256().update(bytes).hex();
}

} // namespace xrun::util
