#include "ui/access.hpp"

#include "util/strings.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <fmt/format.h>
#include <system_error>

#include <arpa/inet.h>
#include <sys/random.h>

namespace xrun::ui {

namespace {

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && util::lower_case(a) == util::lower_case(b);
}

/// `name` without its `:port` suffix; nullopt when the port is not 1 to 5 digits. An IPv6
/// literal keeps its brackets (`[::1]:8765` -> `[::1]`).
std::optional<std::string_view> without_port(std::string_view host) {
  const auto bracket = host.rfind(']');
  const auto colon = host.rfind(':');
  if (colon == std::string_view::npos || (bracket != std::string_view::npos && colon < bracket)) {
    return host;
  }
  const auto port = host.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return host.substr(0, colon);
}

} // namespace

bool is_loopback_address(std::string_view address) {
  const std::string text(address);
  in_addr v4{};
  if (::inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) {
      return true;
    }
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

bool host_allowed(std::string_view host_header, const std::vector<std::string>& names) {
  const auto name = without_port(host_header);
  if (!name || name->empty()) {
    return false;
  }
  static constexpr std::array<std::string_view, 3> k_loopback_names = {"127.0.0.1", "localhost",
                                                                       "[::1]"};
  const auto matches = [&](std::string_view allowed) {
    return equal_ignoring_case(*name, allowed);
  };
  return std::any_of(k_loopback_names.begin(), k_loopback_names.end(), matches) ||
         std::any_of(names.begin(), names.end(), matches);
}

std::optional<std::string_view> bearer_token(std::string_view authorization) {
  constexpr std::string_view k_scheme = "bearer ";
  if (authorization.size() <= k_scheme.size() ||
      !equal_ignoring_case(authorization.substr(0, k_scheme.size()), k_scheme)) {
    return std::nullopt;
  }
  auto token = authorization.substr(k_scheme.size());
  while (!token.empty() && token.front() == ' ') {
    token.remove_prefix(1);
  }
  while (!token.empty() && token.back() == ' ') {
    token.remove_suffix(1);
  }
  return token;
}

bool token_matches(std::string_view given, std::string_view expected) {
  // Every byte of the expected token is compared whatever the given one holds, so the time
  // taken tells nothing of how much of a guess was right.
  unsigned char difference = given.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const char other = i < given.size() ? given[i] : '\0';
    difference |= static_cast<unsigned char>(other ^ expected[i]);
  }
  return difference == 0 && !expected.empty();
}

std::string new_token() {
  std::array<unsigned char, 32> bytes{};
  std::size_t filled = 0;
  while (filled < bytes.size()) {
    const auto got = ::getrandom(bytes.data() + filled, bytes.size() - filled, 0);
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw std::system_error(errno, std::generic_category(), "getrandom");
    }
    filled += static_cast<std::size_t>(got);
  }
  std::string hex;
  for (const auto byte : bytes) {
    hex += fmt::format("{:02x}", byte);
  }
  return hex;
}

std::string token_problem(std::string_view token) {
  if (token.size() < 16) {
    return "it is shorter than 16 characters";
  }
  const auto allowed = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
  };
  if (!std::all_of(token.begin(), token.end(), allowed)) {
    return "it holds characters other than letters, digits, '-', '_', '.' and '~'";
  }
  return {};
}

} // namespace xrun::ui
