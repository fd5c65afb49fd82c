// The messages between the C++ side and the Python package: each example of tests/protocol/
// reads into its struct and writes back as it was (tests/python/test_protocol.py checks the
// Python side against the same files).
#include "core/protocol.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <string>

namespace protocol = xrun::core::protocol;
using Json = nlohmann::json;

namespace {

Json fixture(const std::string& name) {
  return Json::parse(xrun::test::slurp(std::filesystem::path(XRUN_PROTOCOL_FIXTURES) / name));
}

template <class Struct> Json round_trip(const Json& message) {
  return Struct::from_json(message).to_json();
}

} // namespace

TEST_CASE("every message example reads into its struct and writes back unchanged") {
  CHECK(round_trip<protocol::Invocation>(fixture("invocation.json")) == fixture("invocation.json"));
  CHECK(round_trip<protocol::PrepareRequest>(fixture("prepare.json")) == fixture("prepare.json"));
  CHECK(round_trip<protocol::PrepareReply>(fixture("prepare_reply.json")) ==
        fixture("prepare_reply.json"));
  CHECK(round_trip<protocol::PrepareReply>(fixture("prepare_reply_error.json")) ==
        fixture("prepare_reply_error.json"));
  CHECK(round_trip<protocol::FinishReport>(fixture("finish.json")) == fixture("finish.json"));
  CHECK(round_trip<protocol::PluginsReport>(fixture("plugins.json")) == fixture("plugins.json"));
  CHECK(round_trip<protocol::PlanReport>(fixture("plan.json")) == fixture("plan.json"));
}

TEST_CASE("a line from the experiment process is the message its type names") {
  const auto prepare = protocol::parse_message(fixture("prepare.json").dump());
  REQUIRE(prepare);
  const auto& request = std::get<protocol::PrepareRequest>(*prepare);
  CHECK(request.namespace_name == "train");
  REQUIRE(request.parameters.size() == 5);
  CHECK(request.parameters[1].source == xrun::ValueSource::config);
  CHECK(protocol::stated_value(request.parameters[1]) == "nan");
  CHECK(protocol::stated_value(request.parameters[0]) == 20);
  CHECK(request.sys_path->size() == 3);

  const auto finish = protocol::parse_message(fixture("finish.json").dump());
  REQUIRE(finish);
  CHECK(std::get<protocol::FinishReport>(*finish).status() == xrun::RunStatus::interrupted);
  CHECK(std::holds_alternative<protocol::PluginsReport>(
      *protocol::parse_message(fixture("plugins.json").dump())));
  CHECK(
      std::get<protocol::PlanReport>(*protocol::parse_message(fixture("plan.json").dump())).index ==
      3);

  CHECK_FALSE(protocol::parse_message("not json"));
  CHECK_FALSE(protocol::parse_message("[1, 2]"));
  CHECK_FALSE(protocol::parse_message(R"({"type": "hello", "protocol": 1})"));
}

TEST_CASE("a message of another protocol version is refused, naming both versions") {
  auto message = fixture("finish.json");
  message["protocol"] = 2;
  CHECK_THROWS_WITH_AS(protocol::parse_message(message.dump()),
                       doctest::Contains("protocol version 2, this xrun speaks version 1"),
                       protocol::ProtocolError);
  message.erase("protocol");
  CHECK_THROWS_WITH_AS(protocol::parse_message(message.dump()),
                       doctest::Contains("has no protocol version"), protocol::ProtocolError);
  auto invocation = fixture("invocation.json");
  invocation["protocol"] = "1";
  CHECK_THROWS_AS(protocol::Invocation::from_json(invocation), protocol::ProtocolError);
}

TEST_CASE("a field of the wrong kind is a protocol error") {
  auto message = fixture("prepare.json");
  message["debug"] = "yes";
  CHECK_THROWS_AS(protocol::parse_message(message.dump()), protocol::ProtocolError);
}

TEST_CASE("the run's status by the experiment's report") {
  protocol::FinishReport report;
  CHECK(report.status() == xrun::RunStatus::done);
  report.error_type = "ValueError";
  CHECK(report.status() == xrun::RunStatus::failed);
  report.interrupted = true;
  CHECK(report.status() == xrun::RunStatus::interrupted);
}
