#include "ui/event_stream.hpp"

#include "ui/events.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fmt/format.h>
#include <poll.h>
#include <string>
#include <string_view>
#include <vector>

namespace xrun::ui {

namespace {

using Clock = std::chrono::steady_clock;

constexpr auto k_poll_interval = std::chrono::milliseconds(250);
constexpr auto k_ping_interval = std::chrono::seconds(15);

/// A run id as the API takes them: relative, without `..`, and none of the characters that
/// separate lists or paths on other systems.
bool valid_run_id(std::string_view run) {
  return !run.empty() && run.front() != '/' && run.find("..") == std::string_view::npos &&
         run.find_first_of(std::string_view(",\\;\0", 4)) == std::string_view::npos;
}

/// Whether the peer of `socket` closed it: a stream waiting for events would otherwise learn
/// it only when its next write fails (a ping, up to 15 s later), holding a place meanwhile.
bool client_left(int socket) {
  if (socket < 0) {
    return false;
  }
  pollfd watched{socket, POLLRDHUP, 0};
  return ::poll(&watched, 1, 0) > 0 && (watched.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

} // namespace

/// One `text/event-stream` response: blocks in libmicrohttpd's connection thread (one per
/// connection), polling its watcher.
struct EventStreams::Stream {
  EventStreams* streams;
  int socket; // the client's connection, watched for its end while no event is due
  ChangeWatcher watcher;
  std::string pending;
  std::size_t sent = 0;
  bool started = false;
  Clock::time_point last_output = Clock::now();
};

EventStreams::Opened EventStreams::open(const Request& request, int socket) {
  Opened opened;
  const auto runs = split_list(request.get("runs").value_or(""));
  if (runs.size() > k_runs_per_stream_limit ||
      !std::all_of(runs.begin(), runs.end(), [](const auto& run) { return valid_run_id(run); })) {
    opened.refusal = Response::error(400, "bad 'runs': run ids separated by commas");
    return opened;
  }
  if (++m_open > k_stream_limit) {
    --m_open;
    opened.refusal =
        Response::error(503, fmt::format("at most {} event streams at once", k_stream_limit));
    opened.busy = true;
    return opened;
  }
  Stream* stream = nullptr;
  try {
    stream = new Stream{this, socket, ChangeWatcher(m_root, runs), {}, 0, false, Clock::now()};
  } catch (const std::exception& error) {
    --m_open;
    opened.refusal = Response::error(500, error.what());
    return opened;
  }
  opened.response = MHD_create_response_from_callback(
      MHD_SIZE_UNKNOWN, 4096, &EventStreams::on_read, stream, &EventStreams::on_end);
  if (opened.response == nullptr) {
    end(stream);
  }
  return opened;
}

void EventStreams::stop() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_wake.notify_all();
}

ssize_t EventStreams::read(Stream& stream, char* buffer, std::size_t capacity) {
  while (stream.sent == stream.pending.size()) {
    stream.pending.clear();
    stream.sent = 0;
    if (!stream.started) {
      stream.started = true;
      stream.pending = "retry: 2000\n\n"; // at once, so the client knows the stream is open
      break;
    }
    {
      std::unique_lock lock(m_mutex);
      if (m_wake.wait_for(lock, k_poll_interval, [this] { return m_stopping; })) {
        return MHD_CONTENT_READER_END_OF_STREAM;
      }
    }
    if (client_left(stream.socket)) {
      return MHD_CONTENT_READER_END_WITH_ERROR; // frees the stream's place at once
    }
    bool runs_changed = false;
    for (const auto& event : stream.watcher.poll()) {
      stream.pending += fmt::format("event: {}\ndata: {}\n\n", event.type, event.data_json);
      runs_changed = runs_changed || event.type == "runs" || event.type == "run";
    }
    if (runs_changed && m_on_runs_changed) {
      m_on_runs_changed(); // before the client hears of it, so its next list shows the change
    }
    if (stream.pending.empty() && Clock::now() - stream.last_output >= k_ping_interval) {
      stream.pending = ": ping\n\n";
    }
  }
  const auto count = std::min(capacity, stream.pending.size() - stream.sent);
  std::memcpy(buffer, stream.pending.data() + stream.sent, count);
  stream.sent += count;
  stream.last_output = Clock::now();
  return static_cast<ssize_t>(count);
}

void EventStreams::end(Stream* stream) {
  delete stream;
  --m_open;
}

ssize_t EventStreams::on_read(void* stream, std::uint64_t, char* buffer, std::size_t capacity) {
  auto& opened = *static_cast<Stream*>(stream);
  try {
    return opened.streams->read(opened, buffer, capacity);
  } catch (const std::exception&) {
    return MHD_CONTENT_READER_END_WITH_ERROR;
  }
}

void EventStreams::on_end(void* stream) {
  auto* opened = static_cast<Stream*>(stream);
  opened->streams->end(opened);
}

} // namespace xrun::ui
