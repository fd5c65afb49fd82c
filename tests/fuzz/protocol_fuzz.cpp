// The messages the experiment process sends the C++ side ("prepare", "finish", "plugins",
// "plan"): a line is a known message, nothing xrun knows (nullopt), or a ProtocolError, never
// another exception or a crash.
#include "core/protocol.hpp"
#include "fuzz_support.hpp"
#include "xrun/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    (void)xrun::core::protocol::parse_message(xrun::fuzz::text_of(data, size));
  } catch (const xrun::Error&) {
  }
  return 0;
}
