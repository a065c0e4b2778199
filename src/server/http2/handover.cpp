// The hand-over of an accepted connection to an HTTP/2 session (handover.h).
// Connection::start_http2 is a member of the Connection (server/connection.h)
// kept here, with the HTTP/2 code it starts: it reads the Connection's
// first bytes and moves them, the socket and the slot to a Session.
#include "server/http2/handover.h"

#include "server/connection.h"
#include "server/http2/session.h"
#include "server/site.h"
#include "server/worker_loop.h"
#include "tls/tls_transport.h"

namespace pillar::server {

namespace http2 {

FirstBytes classify_first_bytes(std::string_view received) {
  if (received.size() >= kClientPreface.size())
    return received.substr(0, kClientPreface.size()) == kClientPreface ? FirstBytes::Http2 : FirstBytes::Http1;
  return kClientPreface.substr(0, received.size()) == received ? FirstBytes::Undecided : FirstBytes::Http1;
}

}  // namespace http2

bool Connection::start_http2() {
  const Runtime& rt = w_.runtime();
  const config::VirtualHost* vhost = nullptr;
  if (const auto* tls = dynamic_cast<const tls::TlsTransport*>(transport_.get())) {
    if (tls->alpn() != "h2") return false;
    vhost = rt.site_for(local_, tls->sni_name()).cfg;
  } else {
    vhost = rt.site_for(local_, {}).cfg;
    if (!vhost->h2.direct || !vhost->h2.offers("h2c")) return false;
    for (;;) {
      auto k = http2::classify_first_bytes({rbuf_.get() + rbegin_, rend_ - rbegin_});
      if (k == http2::FirstBytes::Http1) return false;
      if (k == http2::FirstBytes::Http2) break;
      if (!readable_) return true;  // the rest of the preface: on_io drives again
      if (!fill()) {
        if (peer_eof_) close_now();
        return true;
      }
    }
  }
  core::TimerWheel::cancel(*this);  // the session keeps the time from here
  h2_ = std::make_unique<http2::Session>(w_, *transport_, *slot_, w_.slots_.board.header().h2, conn_peer_,
                                         conn_peer_ip_, local_, *vhost, [this] { close_now(); });
  h2_->over_client_limit = over_client_limit_;
  std::string_view received(rbuf_.get() + rbegin_, rend_ - rbegin_);
  h2_->start(received);  // copies what it keeps
  rbegin_ = rend_ = 0;
  if (rbuf_ && rcap_ == WorkerLoop::kBufferSize) w_.give_buffer(std::move(rbuf_));
  else rbuf_.reset();
  rcap_ = 0;
  return true;
}

}  // namespace pillar::server
