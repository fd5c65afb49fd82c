// The `--where` language: any text either parses or is a QueryError naming a column, and a
// parsed query is matched against a run whose values are of every JSON kind.
#include "archive/query.hpp"
#include "fuzz_support.hpp"
#include "xrun/error.hpp"

namespace {

// A run's values by name: each kind of value a run can hold, null for the rest.
nlohmann::json value_of(std::string_view name) {
  if (name == "LR" || name == "params.LR") {
    return 0.001;
  }
  if (name == "EPOCHS") {
    return 12;
  }
  if (name == "name" || name == "status") {
    return "done";
  }
  if (name == "tags") {
    return nlohmann::json::array({"best", "v2"});
  }
  if (name == "data.metrics") {
    return nlohmann::json{{"acc", 0.9}, {"loss", nullptr}};
  }
  if (name == "note") {
    return std::string(100, 'a'); // long enough for a glob that backtracks to show
  }
  if (name == "flag") {
    return true;
  }
  return nullptr;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto query = xrun::archive::Query::parse(xrun::fuzz::text_of(data, size));
    (void)query.names();
    (void)query.matches(value_of);
  } catch (const xrun::Error&) {
  }
  return 0;
}
