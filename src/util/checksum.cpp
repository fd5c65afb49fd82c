#include "util/checksum.hpp"

#include <new>
#include <xxhash.h>

namespace xrun::util {

struct Checksum::State {
  struct Free {
    void operator()(XXH3_state_t* state) const { XXH3_freeState(state); }
  };
  std::unique_ptr<XXH3_state_t, Free> xxh3{XXH3_createState()};
};

Checksum::Checksum() : m_state(std::make_unique<State>()) {
  if (!m_state->xxh3 || XXH3_64bits_reset(m_state->xxh3.get()) != XXH_OK) {
    throw std::bad_alloc();
  }
}

Checksum::Checksum(Checksum&&) noexcept = default;
Checksum& Checksum::operator=(Checksum&&) noexcept = default;
Checksum::~Checksum() = default;

void Checksum::add(const char* data, std::size_t size) {
  XXH3_64bits_update(m_state->xxh3.get(), data, size);
}

std::uint64_t Checksum::value() const {
  return XXH3_64bits_digest(m_state->xxh3.get());
}

} // namespace xrun::util
