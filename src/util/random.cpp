#include "util/random.hpp"

#include <cerrno>
#include <sys/random.h>
#include <system_error>
#include <vector>

namespace xrun::util {

std::string random_token(std::size_t length) {
  static constexpr char k_alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";
  std::vector<unsigned char> bytes(length);
  std::size_t filled = 0;
  while (filled < length) {
    const ssize_t got = ::getrandom(bytes.data() + filled, length - filled, 0);
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw std::system_error(errno, std::generic_category(), "getrandom");
    }
    filled += static_cast<std::size_t>(got);
  }
  std::string token(length, '0');
  for (std::size_t i = 0; i < length; ++i) {
    token[i] = k_alphabet[bytes[i] % 32];
  }
  return token;
}

} // namespace xrun::util
