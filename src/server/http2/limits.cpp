#include "server/http2/limits.h"

#include <algorithm>

#include "config/model.h"

namespace pillar::server::http2 {

Limits Limits::from(const config::ServerConfig& cfg, const config::Http2Config& h2) {
  Limits l;
  l.max_streams = h2.max_session_streams;
  l.stream_window = h2.window_size;
  // Room for a few streams' windows at once, so one slow reader does not
  // stall the others' uploads; never less than one stream's.
  l.connection_window = std::max<uint32_t>(h2.window_size, std::min<uint64_t>(4ull * h2.window_size, 1u << 24));
  l.connection_window = std::max<uint32_t>(l.connection_window, 1u << 20);
  l.stream_buffer = h2.stream_max_mem;
  l.field_count = cfg.limit_request_fields;
  l.field_size = cfg.limit_request_field_size;
  l.request_line = cfg.limit_request_line;
  l.header_list = static_cast<uint64_t>(std::max<uint32_t>(l.field_count, 1)) * l.field_size;
  // A browser cancels a page's requests when the user navigates away: up
  // to two full sets of streams per window is ordinary, more is an attack.
  l.resets_per_window = std::max<uint32_t>(2 * h2.max_session_streams, 100);
  l.timeout_ms = static_cast<uint64_t>(cfg.timeout.count());
  l.idle_ms = static_cast<uint64_t>(cfg.keep_alive_timeout.count());
  return l;
}

}  // namespace pillar::server::http2
