#include "ui/access.hpp"

#include <doctest/doctest.h>
#include <string>
#include <vector>

using namespace xrun::ui;

TEST_CASE("loopback addresses are 127.0.0.0/8 and ::1") {
  CHECK(is_loopback_address("127.0.0.1"));
  CHECK(is_loopback_address("127.10.0.3"));
  CHECK(is_loopback_address("::1"));
  CHECK(is_loopback_address("::ffff:127.0.0.1"));
  CHECK_FALSE(is_loopback_address("0.0.0.0"));
  CHECK_FALSE(is_loopback_address("::"));
  CHECK_FALSE(is_loopback_address("10.0.0.1"));
  CHECK_FALSE(is_loopback_address("localhost")); // a name, not an address
}

TEST_CASE("a Host header must name this server, with any port") {
  const std::vector<std::string> none;
  CHECK(host_allowed("127.0.0.1", none));
  CHECK(host_allowed("127.0.0.1:8765", none));
  CHECK(host_allowed("LocalHost:1", none));
  CHECK(host_allowed("[::1]:8765", none));
  CHECK(host_allowed("[::1]", none));
  CHECK_FALSE(host_allowed("", none));
  CHECK_FALSE(host_allowed(":8765", none));
  CHECK_FALSE(host_allowed("evil.example", none));
  CHECK_FALSE(host_allowed("127.0.0.1.evil.example", none));
  CHECK_FALSE(host_allowed("localhost.evil.example:8765", none));
  CHECK_FALSE(host_allowed("127.0.0.1:", none));
  CHECK_FALSE(host_allowed("127.0.0.1:port", none));
  CHECK_FALSE(host_allowed("127.0.0.1:123456", none));
  CHECK_FALSE(host_allowed("::1", none)); // an IPv6 literal is bracketed in a Host header
  const std::vector<std::string> named{"box.lan", "[fd00::5]"};
  CHECK(host_allowed("BOX.lan:8765", named));
  CHECK(host_allowed("[fd00::5]:80", named));
  CHECK_FALSE(host_allowed("box.lan.evil.example", named));
}

TEST_CASE("bearer tokens and their comparison") {
  CHECK(bearer_token("Bearer abc") == "abc");
  CHECK(bearer_token("bearer  abc ") == "abc");
  CHECK_FALSE(bearer_token("Basic abc").has_value());
  CHECK_FALSE(bearer_token("Bearer").has_value());
  CHECK(token_matches("secret-token", "secret-token"));
  CHECK_FALSE(token_matches("secret-toke", "secret-token"));
  CHECK_FALSE(token_matches("secret-tokens", "secret-token"));
  CHECK_FALSE(token_matches("Secret-token", "secret-token"));
  CHECK_FALSE(token_matches("", ""));
}

TEST_CASE("tokens: 64 hex digits when made, URL-safe and long enough when given") {
  const auto token = new_token();
  CHECK(token.size() == 64);
  CHECK(token.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(new_token() != token);
  CHECK(token_problem(token).empty());
  CHECK(token_problem("given-token.0123~_").empty());
  CHECK_FALSE(token_problem("short").empty());
  CHECK_FALSE(token_problem("has space 0123456789").empty());
  CHECK_FALSE(token_problem("semi;colon0123456789").empty());
}
