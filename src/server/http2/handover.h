// Where a connection becomes HTTP/2 (RFC 9113 §3): over TLS when ALPN
// selected "h2" (tls::TlsTransport, the SNI vhost's Protocols), over
// cleartext when the client's first bytes are the HTTP/2 connection preface
// and the address's default vhost lists h2c (with H2Direct on: "prior
// knowledge"). The HTTP/1.1 Upgrade: h2c dance is not offered. The
// Connection asks Connection::start_http2 (defined in handover.cpp) before
// it parses its first request; the Session takes the socket from there.
#pragma once
#include <cstdint>
#include <string_view>

namespace pillar::server::http2 {

// The 24 bytes every HTTP/2 client sends first (RFC 9113 §3.4).
inline constexpr std::string_view kClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

enum class FirstBytes : uint8_t {
  Http1,     // not the preface: an HTTP/1.x request (or garbage the parser refuses)
  Http2,     // the whole preface
  Undecided, // a prefix of the preface so far: read more
};
FirstBytes classify_first_bytes(std::string_view received);

}  // namespace pillar::server::http2
