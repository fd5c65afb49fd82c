// Who the viewer's server answers: the Host header a request must carry (against DNS
// rebinding: a page of another site whose name resolves to this machine) and the token a
// request must present when the server listens beyond loopback. Pure functions; ui/server.cpp
// applies them to every request.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xrun::ui {

/// The name of the cookie that carries the token once the URL's token was seen.
inline constexpr std::string_view k_token_cookie = "xrun_token";

/// Whether `address` (an IP literal, IPv6 without brackets) is a loopback address:
/// 127.0.0.0/8, ::1, or an IPv4-mapped 127.x address.
bool is_loopback_address(std::string_view address);

/// Whether a Host header names this server: `127.0.0.1`, `localhost` or `[::1]`, or one of
/// `names` (lower-case; IPv6 literals in brackets), each with an optional `:port` (any port:
/// an SSH tunnel forwards another one). Names compare without regard to case.
bool host_allowed(std::string_view host_header, const std::vector<std::string>& names);

/// The token of an `Authorization: Bearer TOKEN` header, if that is what it holds.
std::optional<std::string_view> bearer_token(std::string_view authorization);

/// Whether `given` equals `expected`, in a time that does not depend on where they differ.
bool token_matches(std::string_view given, std::string_view expected);

/// A token as `xrun ui` makes one: 32 random bytes from the kernel, in hex.
std::string new_token();

/// Why `token` cannot be used (empty when it can): it must be at least 16 characters of
/// letters, digits, `-`, `_`, `.` and `~`, so that it goes into a URL and a cookie unescaped.
std::string token_problem(std::string_view token);

} // namespace xrun::ui
