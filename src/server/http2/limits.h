// The bounds an HTTP/2 connection lives within, from the configuration
// (H2MaxSessionStreams, H2WindowSize, H2StreamMaxMemSize, LimitRequestField*,
// Timeout, KeepAliveTimeout) and the fixed limits against hostile peers:
//
//   rapid reset (CVE-2023-44487)  RST_STREAMs from the client counted per
//                                 window; over the limit: GOAWAY
//                                 ENHANCE_YOUR_CALM and close
//   control-frame floods          SETTINGS, PING, PRIORITY, empty DATA and
//                                 WINDOW_UPDATEs beyond two per DATA frame of ours,
//                                 counted per window the same way; queued
//                                 SETTINGS/PING acks capped (nghttp2)
//   CONTINUATION flood, HPACK bomb  a header block of at most
//                                 kMaxContinuations CONTINUATIONs (nghttp2);
//                                 a decoded header list of at most
//                                 LimitRequestFields fields of
//                                 LimitRequestFieldSize bytes each (431)
//   zero-window stall             a stream that cannot send for Timeout is
//                                 reset (stream.cpp)
//   concurrent streams            H2MaxSessionStreams (REFUSED_STREAM)
//
// Memory per connection is then bounded: received body bytes by the
// connection window, response bytes by streams x H2StreamMaxMemSize, header
// lists by the limits above, frames queued for the socket by one write batch.
#pragma once
#include <cstdint>
#include <cstddef>

namespace pillar::config {
struct ServerConfig;
struct Http2Config;
}  // namespace pillar::config

namespace pillar::server::http2 {

struct Limits {
  uint32_t max_streams = 100;           // SETTINGS_MAX_CONCURRENT_STREAMS
  uint32_t stream_window = 65535;       // SETTINGS_INITIAL_WINDOW_SIZE: request body bytes buffered per stream
  uint32_t connection_window = 1 << 20; // request body bytes buffered per connection
  uint64_t stream_buffer = 65536;       // response bytes buffered per stream before back-pressure
  uint32_t field_count = 100;           // LimitRequestFields
  uint32_t field_size = 8190;           // LimitRequestFieldSize (name, ": ", value)
  uint32_t request_line = 8190;         // LimitRequestLine (method, :path)
  uint64_t header_list = 100 * 8190;    // SETTINGS_MAX_HEADER_LIST_SIZE: fields x field size
  uint32_t resets_per_window = 200;     // RST_STREAMs from the client per kWindowMs
  uint32_t control_per_window = 1000;   // control frames per kWindowMs
  uint64_t timeout_ms = 60000;          // Timeout: a stalled stream, a socket that does not drain
  uint64_t idle_ms = 5000;              // KeepAliveTimeout: a connection with no stream open

  static constexpr uint64_t kWindowMs = 10000;
  static constexpr size_t kMaxContinuations = 8;     // per header block
  static constexpr size_t kMaxOutboundAcks = 100;    // SETTINGS/PING acks waiting for the socket
  static constexpr size_t kMaxSettingsEntries = 32;  // per SETTINGS frame

  static Limits from(const config::ServerConfig& cfg, const config::Http2Config& h2);
};

// Events counted in fixed windows: note() answers whether the count in
// the current window went over `max`.
class WindowCounter {
 public:
  WindowCounter(uint32_t max, uint64_t window_ms) : max_(max), window_ms_(window_ms) {}
  bool note(uint64_t now_ms) {
    if (now_ms >= start_ms_ + window_ms_) {
      start_ms_ = now_ms;
      count_ = 0;
    }
    return ++count_ > max_;
  }
  uint32_t count() const { return count_; }

 private:
  uint32_t max_;
  uint64_t window_ms_;
  uint64_t start_ms_ = 0;
  uint32_t count_ = 0;
};

}  // namespace pillar::server::http2
