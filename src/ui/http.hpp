// What the viewer's handlers see of an HTTP request and give back: no HTTP library types, so
// the API is a set of functions tested without a server (ui/server.cpp adapts libmicrohttpd).
#pragma once

#include "util/fs.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xrun::ui {

/// A GET request as the handlers see it: the path (percent-decoded, without the query) and the
/// query's parameters (decoded; a name given twice keeps its last value).
struct Request {
  std::string path;
  std::map<std::string, std::string, std::less<>> query;

  /// The parameter `name`, or nullopt.
  std::optional<std::string_view> get(std::string_view name) const;
};

/// A response before the server adds its own headers (security headers, length).
struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  /// Set: sent as `Content-Disposition: attachment; filename="..."` (user files that a
  /// browser would otherwise render: HTML, SVG, anything not known to be safe).
  std::optional<std::string> attachment;
  /// Set: the body is the first `file_size` bytes of this open file, streamed from it rather
  /// than held in memory (a run's large files).
  std::shared_ptr<util::FileDescriptor> file;
  std::uint64_t file_size = 0;
  /// `Cache-Control` value; empty: `no-store`.
  std::string cache_control;

  /// A JSON error body `{"error": message}` (and the extra fields of `details`, a JSON object
  /// text, when given) with `status`.
  static Response error(int status, std::string_view message, std::string_view details = {});
};

/// Decodes %XX escapes (and '+' as a space in a query). Returns nullopt for a malformed
/// escape or a decoded NUL byte.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

/// Splits `a=1&b=x%20y` into decoded parameters. Returns nullopt when any part is malformed.
std::optional<std::map<std::string, std::string, std::less<>>> parse_query(std::string_view query);

/// A comma-separated parameter split into its non-empty parts.
std::vector<std::string> split_list(std::string_view text);

} // namespace xrun::ui
