// The readers of a run folder's files: experiment_meta.json (parse_meta) and the bounded JSON
// of data, summary and manifest files. Whatever the text, a meta parses or is an ArchiveError,
// a meta that parsed is written and read back the same, and the bounded parser and
// json_problem agree on whether the text can be used.
#include "core/run_files.hpp"
#include "fuzz_support.hpp"
#include "xrun/error.hpp"
#include "xrun/meta.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = xrun::fuzz::text_of(data, size);
  try {
    const auto meta = xrun::parse_meta(text, "experiment_meta.json");
    const auto written = xrun::serialize_meta(meta);
    if (xrun::serialize_meta(xrun::parse_meta(written, "experiment_meta.json")) != written) {
      std::abort(); // a meta xrun wrote reads back differently
    }
  } catch (const xrun::Error&) {
  }

  const auto values = xrun::core::parse_bounded_json<nlohmann::json>(text);
  const auto ordered = xrun::core::parse_bounded_json<nlohmann::ordered_json>(text);
  const auto problem = xrun::core::json_problem(text);
  if (values.is_discarded() != !problem.empty() ||
      ordered.is_discarded() != values.is_discarded()) {
    std::abort(); // the reader and the message of its refusal disagree
  }
  if (!values.is_discarded()) {
    (void)values.dump();
    (void)ordered.dump();
  }
  return 0;
}
