// Randomness for names that must not collide across processes and hosts.
#pragma once

#include <cstddef>
#include <string>

namespace xrun::util {

/// `length` characters from a lower-case, unambiguous base-32 alphabet (no i, l, o, u),
/// drawn from the kernel's random source, so that processes started in the same instant on
/// different hosts draw independently.
std::string random_token(std::size_t length);

} // namespace xrun::util
