#include "ui/server.hpp"

#include "core/diagnostics.hpp"
#include "ui/access.hpp"
#include "ui/api.hpp"
#include "ui/assets.hpp"
#include "ui/event_stream.hpp"
#include "ui/http.hpp"
#include "util/process.hpp"
#include "util/signal_pipe.hpp"
#include "util/strings.hpp"
#include "xrun/error.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fmt/format.h>
#include <memory>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace xrun::ui {

namespace {

using Clock = std::chrono::steady_clock;

constexpr unsigned k_connection_limit = 64;
constexpr unsigned k_connections_per_address = 32;
constexpr unsigned k_connection_timeout_seconds = 30;
// Each connection's buffer for the request line and headers (and the response's headers):
// what a request can make the server hold.
constexpr std::size_t k_connection_memory = 64 * 1024;
// Headers beyond this are refused with the server's own 431 (with the security headers);
// those beyond the connection's memory get libmicrohttpd's.
constexpr std::size_t k_header_bytes_limit = 16 * 1024;

constexpr std::string_view k_api_prefix = "/api/v1/";
constexpr std::string_view k_events_path = "/api/v1/events";
constexpr std::string_view k_assets_prefix = "/assets/";

/// Sent with every response, errors included: the page runs only its own scripts and styles,
/// talks only to this server, and is never framed.
constexpr std::array<std::pair<const char*, const char*>, 4> k_security_headers = {{
    {"X-Content-Type-Options", "nosniff"},
    {"Content-Security-Policy",
     "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
     "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
     "frame-ancestors 'none'"},
    {"X-Frame-Options", "DENY"},
    {"Referrer-Policy", "no-referrer"},
}};

// --- the listening socket -------------------------------------------------------------------

struct Listener {
  int fd = -1;
  int port = 0;
  bool loopback = false;
  bool wildcard = false; // 0.0.0.0 or ::, every address of the machine
  std::string address;   // the bound address as text (IPv6 in brackets)
};

std::string address_text(const sockaddr* address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
    return fmt::format("[{}]", text);
  }
  const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
  ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
  return text;
}

bool is_wildcard(const sockaddr* address) {
  if (address->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    return IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr);
  }
  return reinterpret_cast<const sockaddr_in*>(address)->sin_addr.s_addr == htonl(INADDR_ANY);
}

/// The address `host` names (a literal or a name the resolver knows).
std::pair<sockaddr_storage, socklen_t> resolve(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (const int status = ::getaddrinfo(host.c_str(), nullptr, &hints, &found); status != 0) {
    throw UsageError(fmt::format("cannot listen on '{}': {}", host, ::gai_strerror(status)),
                     "give --host an address of this machine, such as 127.0.0.1");
  }
  std::pair<sockaddr_storage, socklen_t> address{};
  std::memcpy(&address.first, found->ai_addr, found->ai_addrlen);
  address.second = found->ai_addrlen;
  ::freeaddrinfo(found);
  return address;
}

/// A socket listening on `address` at `port`, or the errno of the bind that failed.
std::pair<int, int> listen_on(std::pair<sockaddr_storage, socklen_t> address, int port) {
  auto* generic = reinterpret_cast<sockaddr*>(&address.first);
  if (generic->sa_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(generic)->sin6_port = htons(static_cast<std::uint16_t>(port));
  } else {
    reinterpret_cast<sockaddr_in*>(generic)->sin_port = htons(static_cast<std::uint16_t>(port));
  }
  const int fd = ::socket(generic->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw SystemError(fmt::format("cannot create a socket: {}", std::strerror(errno)));
  }
  // A server stopped a moment ago leaves connections in TIME_WAIT on its port; they must
  // not keep a new one from listening there (Linux still refuses a second listener).
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (::bind(fd, generic, address.second) != 0 || ::listen(fd, 64) != 0) {
    const int error = errno;
    ::close(fd);
    return {-1, error};
  }
  return {fd, 0};
}

Listener open_listener(const std::string& host, std::optional<int> port) {
  const auto address = resolve(host);
  const auto* generic = reinterpret_cast<const sockaddr*>(&address.first);
  auto [fd, error] = listen_on(address, port.value_or(k_default_port));
  if (fd < 0 && error == EADDRINUSE && !port) {
    core::print_warning(fmt::format("port {} is in use; serving on a free port", k_default_port));
    std::tie(fd, error) = listen_on(address, 0);
  }
  if (fd < 0) {
    const auto hint = error == EADDRINUSE ? "--port 0 picks a free port"
                                          : "give --host an address of this machine";
    throw UsageError(fmt::format("cannot listen on {} port {}: {}", address_text(generic),
                                 port.value_or(k_default_port), std::strerror(error)),
                     hint);
  }
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
  Listener listener;
  listener.fd = fd;
  listener.port =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);
  listener.address = address_text(generic);
  listener.wildcard = is_wildcard(generic);
  std::string bare = listener.address;
  if (bare.front() == '[') {
    bare = bare.substr(1, bare.size() - 2);
  }
  listener.loopback = is_loopback_address(bare);
  return listener;
}

std::string machine_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) {
    return {};
  }
  return name;
}

/// The names a Host header may carry beside the loopback ones: the --host name and the
/// address it resolved to; listening on every address, the machine's name and addresses.
std::vector<std::string> host_names(const std::string& host, const Listener& listener) {
  std::vector<std::string> names;
  if (listener.loopback) {
    return names; // only the loopback names: a page reached otherwise is another site's
  }
  const bool ipv6_literal = host.find(':') != std::string::npos;
  names.push_back(util::lower_case(ipv6_literal ? "[" + host + "]" : host));
  names.push_back(listener.address);
  if (listener.wildcard) {
    if (auto name = machine_name(); !name.empty()) {
      names.push_back(util::lower_case(name));
    }
    ifaddrs* interfaces = nullptr;
    if (::getifaddrs(&interfaces) == 0) {
      for (auto* entry = interfaces; entry != nullptr; entry = entry->ifa_next) {
        if (entry->ifa_addr != nullptr &&
            (entry->ifa_addr->sa_family == AF_INET || entry->ifa_addr->sa_family == AF_INET6)) {
          names.push_back(address_text(entry->ifa_addr));
        }
      }
      ::freeifaddrs(interfaces);
    }
  }
  return names;
}

// --- requests ---------------------------------------------------------------------------------

/// What the server keeps of one request between libmicrohttpd's calls.
struct RequestState {
  std::string uri; // as sent: path and query, still percent-encoded
  bool headers_seen = false;
  bool answered = false;
};

/// A response with what the server adds to it.
struct Reply {
  Response response;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view static_body; // set: the body is compiled-in text, not response.body
  std::optional<double> handler_milliseconds; // set: sent as Server-Timing
};

Reply error_reply(int status, std::string_view message) {
  return Reply{Response::error(status, message), {}, {}, {}};
}

void delete_string(void* text) {
  delete static_cast<std::string*>(text);
}

/// A file name for Content-Disposition: quotes, backslashes, controls and bytes outside
/// ASCII become `_` (the header is not a place for anything a client could misread).
std::string attachment_name(std::string_view name) {
  std::string safe;
  for (const char c : name) {
    const auto byte = static_cast<unsigned char>(c);
    safe.push_back(byte < 0x20 || byte >= 0x7f || c == '"' || c == '\\' ? '_' : c);
  }
  return safe;
}

void add_headers(MHD_Response* response, const Reply& reply) {
  for (const auto& [name, value] : k_security_headers) {
    MHD_add_response_header(response, name, value);
  }
  const auto& cache = reply.response.cache_control;
  MHD_add_response_header(response, "Cache-Control", cache.empty() ? "no-store" : cache.c_str());
  MHD_add_response_header(response, "Content-Type", reply.response.content_type.c_str());
  if (reply.response.attachment) {
    MHD_add_response_header(
        response, "Content-Disposition",
        fmt::format("attachment; filename=\"{}\"", attachment_name(*reply.response.attachment))
            .c_str());
  }
  if (reply.handler_milliseconds) {
    MHD_add_response_header(response, "Server-Timing",
                            fmt::format("app;dur={:.3f}", *reply.handler_milliseconds).c_str());
  }
  for (const auto& [name, value] : reply.headers) {
    MHD_add_response_header(response, name.c_str(), value.c_str());
  }
}

MHD_Result queue(MHD_Connection* connection, Reply reply) {
  MHD_Response* response = nullptr;
  if (const auto& file = reply.response.file) {
    // libmicrohttpd closes the descriptor it is given: its own copy.
    const int fd = ::fcntl(file->get(), F_DUPFD_CLOEXEC, 0);
    response = fd < 0 ? nullptr : MHD_create_response_from_fd64(reply.response.file_size, fd);
    if (response == nullptr && fd >= 0) {
      ::close(fd);
    }
  } else if (reply.static_body.data() != nullptr) {
    response = MHD_create_response_from_buffer(reply.static_body.size(),
                                               const_cast<char*>(reply.static_body.data()),
                                               MHD_RESPMEM_PERSISTENT);
  } else {
    auto* body = new std::string(std::move(reply.response.body));
    response = MHD_create_response_from_buffer_with_free_callback_cls(body->size(), body->data(),
                                                                      &delete_string, body);
    if (response == nullptr) {
      delete body;
    }
  }
  if (response == nullptr) {
    return MHD_NO;
  }
  add_headers(response, reply);
  const auto result =
      MHD_queue_response(connection, static_cast<unsigned>(reply.response.status), response);
  MHD_destroy_response(response);
  return result;
}

std::optional<std::string_view> header(MHD_Connection* connection, MHD_ValueKind kind,
                                       const char* name) {
  const char* value = MHD_lookup_connection_value(connection, kind, name);
  if (value == nullptr) {
    return std::nullopt;
  }
  return std::string_view(value);
}

MHD_Result add_header_size(void* total, MHD_ValueKind, const char* key, const char* value) {
  *static_cast<std::size_t*>(total) += std::strlen(key) + (value ? std::strlen(value) : 0) + 4;
  return MHD_YES;
}

std::size_t header_bytes(MHD_Connection* connection) {
  std::size_t total = 0;
  MHD_get_connection_values(connection, MHD_HEADER_KIND, &add_header_size, &total);
  return total;
}

bool has_body(MHD_Connection* connection) {
  const auto length = header(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
  return header(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING) ||
         (length && *length != "0");
}

// --- the server -------------------------------------------------------------------------------

class Server {
public:
  Server(std::filesystem::path root, std::string token, std::vector<std::string> host_names,
         int port)
      : m_api(root), m_token(std::move(token)),
        // Browsers keep cookies by host, not by port: each server's its own name.
        m_cookie_name(fmt::format("{}_{}", k_token_cookie, port)),
        m_host_names(std::move(host_names)),
        m_streams(std::move(root), [this] { m_api.runs_changed(); }) {}

  MHD_Result answer(MHD_Connection* connection, std::string_view method, RequestState& state,
                    std::size_t* upload_size) {
    if (state.answered) {
      *upload_size = 0; // the body of a request already refused: dropped
      return MHD_YES;
    }
    if (!state.headers_seen) {
      // Refusals are sent at once (the connection is then closed, a body left unread); a
      // request that passes is answered at the next call, which keeps the connection open.
      state.headers_seen = true;
      if (auto refused = refusal(connection, method)) {
        state.answered = true;
        return queue(connection, std::move(*refused));
      }
      return MHD_YES;
    }
    state.answered = true;
    return route(connection, state.uri);
  }

  /// Wakes the event streams so that they end; the daemon is stopped after.
  void stop() { m_streams.stop(); }

private:
  /// Why a request is refused before its path is looked at, if it is: headers too large, a
  /// Host that is not this server's, a method other than GET and HEAD, a body.
  std::optional<Reply> refusal(MHD_Connection* connection, std::string_view method) {
    if (header_bytes(connection) > k_header_bytes_limit) {
      return error_reply(431, "request headers too large");
    }
    // The Host before the method: a page of another site learns nothing, not even a 405.
    const auto host = header(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (!host || !host_allowed(*host, m_host_names)) {
      // The value is not repeated: request headers are never echoed.
      return error_reply(421, "this server answers only to its own address (Host header)");
    }
    if (method != MHD_HTTP_METHOD_GET && method != MHD_HTTP_METHOD_HEAD) {
      auto reply = error_reply(405, "only GET and HEAD are served");
      reply.headers.emplace_back("Allow", "GET, HEAD");
      return reply;
    }
    if (has_body(connection)) {
      return error_reply(400, "request bodies are not accepted");
    }
    return std::nullopt;
  }

  /// Whether the request presents the token (when one is needed); `from_query` is set when
  /// only the URL's `token=` did, so that the reply sets the cookie.
  bool authorized(MHD_Connection* connection, const Request& request, bool& from_query) const {
    if (m_token.empty()) {
      return true;
    }
    if (const auto authorization = header(connection, MHD_HEADER_KIND, "Authorization")) {
      if (const auto bearer = bearer_token(*authorization);
          bearer && token_matches(*bearer, m_token)) {
        return true;
      }
    }
    if (const auto cookie = header(connection, MHD_COOKIE_KIND, m_cookie_name.c_str());
        cookie && token_matches(*cookie, m_token)) {
      return true;
    }
    if (const auto query = request.get("token"); query && token_matches(*query, m_token)) {
      from_query = true;
      return true;
    }
    return false;
  }

  MHD_Result route(MHD_Connection* connection, std::string_view uri) {
    const auto question = uri.find('?');
    auto path = percent_decode(uri.substr(0, question), false);
    auto query = parse_query(question == std::string_view::npos ? std::string_view()
                                                                : uri.substr(question + 1));
    if (!path || !query || path->empty() || path->front() != '/') {
      return queue(connection, error_reply(400, "malformed request path or query"));
    }
    Request request{std::move(*path), std::move(*query)};
    bool token_from_query = false;
    if (!authorized(connection, request, token_from_query)) {
      auto reply = error_reply(401, "a token is needed: open the URL that 'xrun ui' printed");
      reply.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"xrun\"");
      return queue(connection, std::move(reply));
    }
    request.query.erase("token"); // the secret goes no further than this check
    if (request.path == k_events_path) {
      return stream_events(connection, request);
    }
    Reply reply = respond(request);
    if (token_from_query) {
      reply.headers.emplace_back(
          "Set-Cookie",
          fmt::format("{}={}; Path=/; HttpOnly; SameSite=Strict", m_cookie_name, m_token));
    }
    return queue(connection, std::move(reply));
  }

  Reply respond(const Request& request) {
    if (request.path == "/") {
      Reply reply;
      reply.response.content_type = "text/html; charset=utf-8";
      reply.static_body = index_page();
      return reply;
    }
    if (request.path.starts_with(k_assets_prefix)) {
      const auto asset = find_asset(std::string_view(request.path).substr(k_assets_prefix.size()));
      if (!asset) {
        return error_reply(404, "no such file");
      }
      Reply reply;
      reply.response.content_type = std::string(asset->content_type);
      reply.response.cache_control = "public, max-age=31536000, immutable";
      reply.static_body = asset->text;
      return reply;
    }
    if (request.path.starts_with(k_api_prefix)) {
      const auto start = Clock::now();
      Reply reply;
      try {
        reply.response = m_api.handle(request);
      } catch (const std::exception& error) {
        reply.response = Response::error(500, error.what());
      }
      reply.handler_milliseconds = milliseconds_since(start);
      return reply;
    }
    return error_reply(404, "no such page");
  }

  MHD_Result stream_events(MHD_Connection* connection, const Request& request) {
    const auto start = Clock::now();
    const auto* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    auto opened = m_streams.open(request, info ? info->connect_fd : -1);
    if (opened.refusal) {
      Reply reply{std::move(*opened.refusal), {}, {}, {}};
      if (opened.busy) {
        reply.headers.emplace_back("Retry-After", "5");
      }
      return queue(connection, std::move(reply));
    }
    if (opened.response == nullptr) {
      return MHD_NO;
    }
    Reply reply;
    reply.response.content_type = "text/event-stream; charset=utf-8";
    reply.handler_milliseconds = milliseconds_since(start);
    add_headers(opened.response, reply);
    // A stream is idle between events by design; its pings keep it from looking dead.
    MHD_set_connection_option(connection, MHD_CONNECTION_OPTION_TIMEOUT, 0U);
    const auto result = MHD_queue_response(connection, MHD_HTTP_OK, opened.response);
    MHD_destroy_response(opened.response);
    return result;
  }

  static double milliseconds_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  }

  Api m_api;
  std::string m_token;
  std::string m_cookie_name; // xrun_token_<port>
  std::vector<std::string> m_host_names;
  EventStreams m_streams;
};

// --- libmicrohttpd's callbacks ----------------------------------------------------------------

void* on_uri(void*, const char* uri, MHD_Connection*) {
  return new (std::nothrow) RequestState{uri ? uri : "", false, false};
}

void on_completed(void*, MHD_Connection*, void** state, MHD_RequestTerminationCode) {
  delete static_cast<RequestState*>(*state);
  *state = nullptr;
}

MHD_Result on_request(void* server, MHD_Connection* connection, const char*, const char* method,
                      const char*, const char*, std::size_t* upload_size, void** state) {
  if (*state == nullptr) {
    return MHD_NO;
  }
  try {
    return static_cast<Server*>(server)->answer(connection, method,
                                                *static_cast<RequestState*>(*state), upload_size);
  } catch (const std::exception&) {
    return MHD_NO; // closes the connection: nothing half-sent is passed off as an answer
  }
}

// --- the command ------------------------------------------------------------------------------

/// `xdg-open URL` in the background, its output dropped; a warning when it cannot start.
void open_in_browser(const std::string& url) {
  if (!util::on_path("xdg-open")) {
    core::print_warning("xdg-open is not installed: open the URL in a browser yourself");
    return;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  for (const int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) {
    posix_spawn_file_actions_addopen(&actions, fd, "/dev/null",
                                     fd == STDIN_FILENO ? O_RDONLY : O_WRONLY, 0);
  }
  std::string program = "xdg-open";
  std::string argument = url;
  char* argv[] = {program.data(), argument.data(), nullptr};
  pid_t pid = -1;
  const int error = ::posix_spawnp(&pid, "xdg-open", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) {
    core::print_warning(fmt::format("cannot start xdg-open: {}", std::strerror(error)));
    return;
  }
  // Reaped when it ends (a browser it starts may keep it waiting), never waited for here.
  util::start_thread_without_signals([pid] { ::waitpid(pid, nullptr, 0); }).detach();
}

/// Waits for SIGINT or SIGTERM on `signals`.
void wait_for_stop(util::SignalPipe& signals) {
  while (true) {
    pollfd watched{signals.fd(), POLLIN, 0};
    if (::poll(&watched, 1, -1) < 0 && errno != EINTR) {
      throw SystemError(fmt::format("poll: {}", std::strerror(errno)));
    }
    if (signals.next()) {
      return;
    }
  }
}

} // namespace

int serve(const ServeOptions& options, std::ostream& out) {
  std::error_code error;
  if (!std::filesystem::is_directory(options.root, error)) {
    throw ArchiveError(fmt::format("{} is not an archive folder", options.root.string()),
                       "give the folder that holds the runs with --path");
  }
  if (!options.token.empty()) {
    if (const auto problem = token_problem(options.token); !problem.empty()) {
      throw UsageError(fmt::format("the token cannot be used: {}", problem),
                       "leave --token (and XRUN_UI_TOKEN) out to get a random one");
    }
  }
  auto listener = open_listener(options.host, options.port);
  const auto token = !options.token.empty() ? options.token
                     : listener.loopback    ? std::string()
                                            : new_token();
  std::string url_host = listener.address;
  if (!listener.loopback) {
    url_host = listener.wildcard ? machine_name() : options.host;
    if (url_host.find(':') != std::string::npos) {
      url_host = "[" + url_host + "]";
    }
    core::print_warning(fmt::format(
        "listening on {}: other machines can reach this server; every request must carry the "
        "token of the URL below (an SSH tunnel to 127.0.0.1 is safer: ssh -L {}:127.0.0.1:{} "
        "THIS_HOST)",
        listener.address, listener.port, listener.port));
  }
  const auto url = fmt::format("http://{}:{}/{}", url_host, listener.port,
                               token.empty() ? "" : "?token=" + token);

  Server server(options.root, token, host_names(options.host, listener), listener.port);
  util::SignalPipe signals{SIGINT, SIGTERM};
  MHD_Daemon* daemon = nullptr;
  {
    // The server's threads inherit a mask without these: the signals reach this thread.
    util::BlockedSignals blocked{SIGINT, SIGTERM};
    daemon = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, nullptr, nullptr,
        &on_request, &server, MHD_OPTION_LISTEN_SOCKET, static_cast<MHD_socket>(listener.fd),
        MHD_OPTION_CONNECTION_LIMIT, k_connection_limit, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        k_connections_per_address, MHD_OPTION_CONNECTION_TIMEOUT, k_connection_timeout_seconds,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, k_connection_memory, MHD_OPTION_STRICT_FOR_CLIENT, 1,
        MHD_OPTION_URI_LOG_CALLBACK, &on_uri, nullptr, MHD_OPTION_NOTIFY_COMPLETED, &on_completed,
        nullptr, MHD_OPTION_END);
  }
  if (daemon == nullptr) {
    ::close(listener.fd);
    throw SystemError("cannot start the HTTP server (libmicrohttpd)");
  }
  // However this ends, the streams are woken and every connection's thread joined.
  const auto stop = [&server](MHD_Daemon* running) {
    server.stop();
    MHD_stop_daemon(running);
  };
  std::unique_ptr<MHD_Daemon, decltype(stop)> running(daemon, stop);
  out << fmt::format("xrun ui: serving {} at {}", options.root.string(), url) << std::endl;
  if (options.open_browser) {
    open_in_browser(url);
  }
  wait_for_stop(signals);
  return 0;
}

} // namespace xrun::ui
