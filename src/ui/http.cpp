#include "ui/http.hpp"

#include <nlohmann/json.hpp>

namespace xrun::ui {

std::optional<std::string_view> Request::get(std::string_view name) const {
  const auto found = query.find(name);
  if (found == query.end()) {
    return std::nullopt;
  }
  return std::string_view(found->second);
}

Response Response::error(int status, std::string_view message, std::string_view details) {
  nlohmann::json body = nlohmann::json::object();
  if (!details.empty()) {
    body = nlohmann::json::parse(details, nullptr, false);
    if (!body.is_object()) {
      body = nlohmann::json::object();
    }
  }
  body["error"] = std::string(message);
  Response response;
  response.status = status;
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

} // namespace

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) {
        return std::nullopt;
      }
      const int high = hex_value(text[i + 1]);
      const int low = hex_value(text[i + 2]);
      if (high < 0 || low < 0) {
        return std::nullopt;
      }
      c = static_cast<char>(high * 16 + low);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    }
    if (c == '\0') {
      return std::nullopt;
    }
    out.push_back(c);
  }
  return out;
}

std::optional<std::map<std::string, std::string, std::less<>>> parse_query(std::string_view query) {
  std::map<std::string, std::string, std::less<>> parameters;
  while (!query.empty()) {
    const auto end = query.find('&');
    const std::string_view part = query.substr(0, end);
    query = end == std::string_view::npos ? std::string_view() : query.substr(end + 1);
    if (part.empty()) {
      continue;
    }
    const auto equals = part.find('=');
    auto name = percent_decode(part.substr(0, equals), true);
    auto value = percent_decode(
        equals == std::string_view::npos ? std::string_view() : part.substr(equals + 1), true);
    if (!name || !value) {
      return std::nullopt;
    }
    parameters[std::move(*name)] = std::move(*value);
  }
  return parameters;
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> parts;
  while (!text.empty()) {
    const auto end = text.find(',');
    if (const auto part = text.substr(0, end); !part.empty()) {
      parts.emplace_back(part);
    }
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
  }
  return parts;
}

} // namespace xrun::ui
