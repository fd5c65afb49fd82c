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
  CHECK(round_trip<protocol::Invocation>(fixture("invocation_function.json")) ==
        fixture("invocation_function.json"));
  CHECK(round_trip<protocol::PrepareRequest>(fixture("prepare.json")) == fixture("prepare.json"));
  CHECK(round_trip<protocol::PrepareRequest>(fixture("prepare_function.json")) ==
        fixture("prepare_function.json"));
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

TEST_CASE("a function run's invocation and prepare carry its function") {
  const auto module = protocol::Invocation::from_json(fixture("invocation.json"));
  CHECK(module.function.empty());
  CHECK_FALSE(module.cache.has_value());
  CHECK_FALSE(module.rerun);
  CHECK(module.config->function.empty());
  const auto function = protocol::Invocation::from_json(fixture("invocation_function.json"));
  CHECK(function.function == "train");
  CHECK(function.cache == true);
  CHECK(function.to_json()["cache"] == true);

  const auto prepare = protocol::parse_message(fixture("prepare_function.json").dump());
  REQUIRE(prepare);
  const auto& request = std::get<protocol::PrepareRequest>(*prepare);
  CHECK(request.function["qualified_name"] == "mod.train");
  CHECK(request.function["inputs"][0]["run"] == "2026-12-01_17-02-44-120_ab12");
  CHECK(request.meta_extra["sweep"]["index"] == 1);
  const auto plain = protocol::PrepareRequest::from_json(fixture("prepare.json"));
  CHECK(plain.function.is_null());
  CHECK(plain.meta_extra.is_null());
  CHECK_FALSE(plain.to_json().contains("function"));
}

TEST_CASE("a prepare message may set the sweep and batch meta fields, no others") {
  auto message = fixture("prepare_function.json");
  message["meta_extra"]["batch"] = {{"name", "example"}};
  CHECK(std::get<protocol::PrepareRequest>(*protocol::parse_message(message.dump()))
            .meta_extra.size() == 2);
  message["meta_extra"]["status"] = "done";
  CHECK_THROWS_WITH_AS(protocol::parse_message(message.dump()),
                       doctest::Contains("sets the meta field \"status\", which is the "
                                         "supervisor's"),
                       protocol::ProtocolError);
  message["meta_extra"] = {1, 2};
  CHECK_THROWS_WITH_AS(protocol::parse_message(message.dump()),
                       doctest::Contains("\"meta_extra\" that is not an object"),
                       protocol::ProtocolError);
  message.erase("meta_extra");
  message["function"] = "train";
  CHECK_THROWS_AS(protocol::parse_message(message.dump()), protocol::ProtocolError);
  message["function"] = nullptr;
  CHECK(std::get<protocol::PrepareRequest>(*protocol::parse_message(message.dump()))
            .function.is_null());
}

TEST_CASE("the run's status by the experiment's report") {
  protocol::FinishReport report;
  CHECK(report.status() == xrun::RunStatus::done);
  report.error_type = "ValueError";
  CHECK(report.status() == xrun::RunStatus::failed);
  report.interrupted = true;
  CHECK(report.status() == xrun::RunStatus::interrupted);
}
