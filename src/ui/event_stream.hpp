// The viewer's event streams (`/api/v1/events`): each a `text/event-stream` response whose body
// libmicrohttpd reads in the connection's thread, blocking there while a ChangeWatcher
// (ui/events.hpp) is polled every 250 ms; a ping every 15 s; at most 16 at once. Internal to
// ui/: server.cpp opens them and adds the headers every response carries.
#pragma once

#include "ui/http.hpp"

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <microhttpd.h>
#include <mutex>
#include <optional>

namespace xrun::ui {

class EventStreams {
public:
  static constexpr unsigned k_stream_limit = 16;
  static constexpr std::size_t k_runs_per_stream_limit = 256;

  /// `on_runs_changed` is called (from a stream's thread) when a stream saw runs added or
  /// removed or a run change status.
  EventStreams(std::filesystem::path root, std::function<void()> on_runs_changed)
      : m_root(std::move(root)), m_on_runs_changed(std::move(on_runs_changed)) {}

  /// What opening a stream gave: the stream, or what to answer instead.
  struct Opened {
    /// The response whose body is the stream; the caller adds its headers, queues it and
    /// releases it. Null with no refusal: libmicrohttpd could not make one.
    MHD_Response* response = nullptr;
    /// 400 for bad `runs`, 503 when k_stream_limit streams are open (`busy`), 500 when the
    /// watcher could not start.
    std::optional<Response> refusal;
    bool busy = false;
  };

  /// A stream of the changes to the runs named by `request`'s `runs` (and the archive's
  /// running runs), sent to the client on `socket` (-1: unknown), whose end is watched.
  Opened open(const Request& request, int socket);

  /// Wakes every stream so that it ends; the daemon is stopped after.
  void stop();

private:
  struct Stream;
  /// Fills `buffer` with the stream's next events, waiting for some (or a ping) if need be.
  ssize_t read(Stream& stream, char* buffer, std::size_t capacity);
  void end(Stream* stream);
  static ssize_t on_read(void* stream, std::uint64_t, char* buffer, std::size_t capacity);
  static void on_end(void* stream);

  std::filesystem::path m_root;
  std::function<void()> m_on_runs_changed;
  std::atomic<unsigned> m_open{0};
  std::mutex m_mutex;
  std::condition_variable m_wake;
  bool m_stopping = false;
};

} // namespace xrun::ui
