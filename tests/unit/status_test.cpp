#include "xrun/status.hpp"

#include <doctest/doctest.h>

using namespace xrun;

TEST_CASE("statuses round-trip through their names") {
  for (auto status : {RunStatus::running, RunStatus::done, RunStatus::failed,
                      RunStatus::interrupted, RunStatus::killed, RunStatus::lost}) {
    CHECK(parse_status(to_string(status)) == status);
  }
  CHECK(to_string(RunStatus::done) == "done");
  CHECK_FALSE(parse_status("finished").has_value());
  CHECK_FALSE(is_final(RunStatus::running));
  CHECK(is_final(RunStatus::killed));
}

TEST_CASE("exit codes follow the documented convention") {
  CHECK(exit_code_for(RunStatus::done) == 0);
  CHECK(exit_code_for(RunStatus::failed) == 1);
  CHECK(exit_code_for(RunStatus::interrupted) == 130);
  CHECK(exit_code_for(RunStatus::killed, 9) == 137);
}
