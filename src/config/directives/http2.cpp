// The http2 directive table: HTTP/2 at the front. Protocols and
// ProtocolsHonorOrder are Apache core directives and the H2* ones
// mod_http2's; they live together here because they configure one thing
// (src/server/http2). Server config and <VirtualHost>, as in Apache; a
// connection uses the settings of the vhost it starts with. Listed in
// directives/registry.cpp; docs/http2.md documents each directive.
#include "config/directives/tables.h"

#include <string>

#include "config/values.h"

namespace pillar::config {
namespace {

// Protocols PROTOCOL...: h2 (TLS, by ALPN), h2c (cleartext, by the client
// preface) and http/1.1. Apache's default is http/1.1 alone.
void d_protocols(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::vector<std::string> list;
  for (const auto& a : n.args) {
    std::string p = core::lowercase(a);
    if (p != "h2" && p != "h2c" && p != "http/1.1")
      return out.error(n, "Protocols: '" + a + "' is not a protocol Pillar speaks; write e.g. Protocols h2 http/1.1 "
                          "(h2: HTTP/2 over TLS, h2c: HTTP/2 over cleartext TCP)");
    bool dup = false;
    for (const auto& q : list) dup = dup || q == p;
    if (!dup) list.push_back(std::move(p));
  }
  s.vhost.h2.protocols = std::move(list);
  s.vhost.h2.protocols_where = {n.file, n.line};
}

void d_honor_order(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  set_on_off(out, n, "ProtocolsHonorOrder", s.vhost.h2.honor_order);
}

void d_direct(DirectiveSink& out, const ConfigNode& n, Scope& s) { set_on_off(out, n, "H2Direct", s.vhost.h2.direct); }

void d_max_session_streams(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  uint64_t v;
  std::string why;
  if (!parse_uint(n.args[0], 1, 65536, v, why)) return out.error(n, "H2MaxSessionStreams: " + why);
  s.vhost.h2.max_session_streams = static_cast<uint32_t>(v);
}

// The largest window HTTP/2 allows is 2^31-1 (RFC 9113 §6.9.1); a window
// under 1 KiB only slows uploads down to a crawl, so it is refused.
void d_window_size(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  uint64_t v;
  std::string why;
  if (!parse_uint(n.args[0], 1024, 2147483647, v, why)) return out.error(n, "H2WindowSize: " + why);
  s.vhost.h2.window_size = static_cast<uint32_t>(v);
}

void d_stream_max_mem(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  uint64_t v;
  std::string why;
  if (!parse_uint(n.args[0], 1024, 64ull * 1024 * 1024, v, why)) return out.error(n, "H2StreamMaxMemSize: " + why);
  s.vhost.h2.stream_max_mem = v;
}

// Server push is deprecated (browsers dropped it) and not built: Off is
// accepted so Apache configurations load; On is refused rather than ignored.
void d_push(DirectiveSink& out, const ConfigNode& n, Scope&) {
  bool on = false;
  std::string why;
  if (!parse_on_off(n.args[0], on, why)) return out.error(n, "H2Push: " + why);
  if (on) out.error(n, "H2Push on: HTTP/2 server push is not supported (browsers no longer use it); write H2Push off");
}

constexpr DirectiveSpec kTable[] = {
    {"H2Direct", 1, 1, kSV, false, d_direct, "H2Direct on|off"},
    {"H2MaxSessionStreams", 1, 1, kSV, false, d_max_session_streams, "H2MaxSessionStreams NUMBER"},
    {"H2Push", 1, 1, kSV | kPerDir, false, d_push, "H2Push off"},
    {"H2StreamMaxMemSize", 1, 1, kSV, false, d_stream_max_mem, "H2StreamMaxMemSize BYTES"},
    {"H2WindowSize", 1, 1, kSV, false, d_window_size, "H2WindowSize BYTES"},
    {"Protocols", 1, -1, kSV, false, d_protocols, "Protocols PROTOCOL ... (h2, h2c, http/1.1)"},
    {"ProtocolsHonorOrder", 1, 1, kSV, false, d_honor_order, "ProtocolsHonorOrder on|off"},
};

}  // namespace

std::span<const DirectiveSpec> http2_directives() { return kTable; }

}  // namespace pillar::config
