// What the viewer's server takes from a request before any handler runs: the query string
// (percent-decoding, parameters, comma lists), the run and sweep ids of `run=` and `sweep=`,
// the Host header and the token. The input's lines are, in order: a query string, a run id, a
// Host header, an Authorization header and a token. A run id that resolves must name the one
// run folder of the archive below; nothing throws.
#include "fuzz_support.hpp"
#include "ui/access.hpp"
#include "ui/http.hpp"
#include "ui/run_ref.hpp"

namespace {

const xrun::fuzz::TempFolder k_archive;

const bool k_prepared = [] {
  const auto run = k_archive.path() / "exp" / "20260101-000000-abcd";
  std::filesystem::create_directories(run);
  xrun::fuzz::write_file(run / "experiment_meta.json", "{}");
  std::filesystem::create_directories(k_archive.path() / "exp" / ".sweeps" / "s1");
  xrun::fuzz::write_file(k_archive.path() / "exp" / ".sweeps" / "s1" / "manifest.json", "{}");
  return true;
}();

void check_query(std::string_view query) {
  (void)xrun::ui::percent_decode(query, true);
  (void)xrun::ui::percent_decode(query, false);
  const auto parameters = xrun::ui::parse_query(query);
  if (!parameters) {
    return;
  }
  for (const auto& [name, value] : *parameters) {
    (void)xrun::ui::split_list(value);
  }
}

void check_run_id(std::string_view id) {
  xrun::ui::Response refusal;
  const auto problem = xrun::ui::run_id_problem(id);
  const auto run = xrun::ui::resolve_run(k_archive.path(), id, refusal);
  if (run) {
    if (!problem.empty() ||
        std::filesystem::weakly_canonical(*run) !=
            std::filesystem::weakly_canonical(k_archive.path() / "exp" / "20260101-000000-abcd")) {
      std::abort(); // a refused id, or one naming another folder, was resolved
    }
  } else if (refusal.status != 403 && refusal.status != 404) {
    std::abort();
  }
  xrun::ui::Response sweep_refusal;
  (void)xrun::ui::resolve_sweep_folder(k_archive.path(), id, sweep_refusal);
}

void check_access(std::string_view host, std::string_view authorization, std::string_view token) {
  (void)xrun::ui::is_loopback_address(host);
  (void)xrun::ui::host_allowed(host, {"example.org", "[fe80::1]"});
  if (const auto bearer = xrun::ui::bearer_token(authorization)) {
    (void)xrun::ui::token_matches(*bearer, token);
  }
  if (xrun::ui::token_problem(token).empty() && !xrun::ui::token_matches(token, token)) {
    std::abort();
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto lines = xrun::fuzz::split_input(xrun::fuzz::text_of(data, size), "\n", 5);
  const auto line = [&lines](std::size_t i) { return i < lines.size() ? lines[i] : ""; };
  check_query(line(0));
  check_run_id(line(1));
  check_access(line(2), line(3), line(4));
  return 0;
}
