#include "server/tls_front.h"

#include "server/request/request.h"
#include "server/site.h"
#include "server/vhost_router.h"

namespace pillar::server {

const tls::ServerContext* TlsSites::select(const sockaddr_storage& local, std::string_view host) const {
  return rt_.site_for(local, host).tls;
}

const tls::ServerContext* TlsSites::default_for(const sockaddr_storage& local) const {
  if (const auto* c = rt_.site_for(local, {}).tls) return c;
  const auto& vhosts = rt_.config().vhosts;
  for (size_t i = 0; i < vhosts.size(); ++i) {
    for (const auto& a : vhosts[i].addresses) {
      bool exact = false;
      if (address_matches(a, local, exact)) {
        if (const auto* c = rt_.site(static_cast<int>(i)).tls) return c;
      }
    }
  }
  return rt_.main_site().tls;
}

std::unique_ptr<core::Transport> make_tls_transport(const Runtime& rt, core::Fd fd, const sockaddr_storage& local,
                                                    core::shm::TlsCounters* counters) {
  const tls::ServerContext* ctx = rt.tls_sites().default_for(local);
  if (!ctx) return nullptr;
  return std::make_unique<tls::TlsTransport>(std::move(fd), *ctx, local, counters, &rt.tls_sites());
}

int tls_request_check(const Runtime& rt, const core::Transport& t, const sockaddr_storage& local, Request& req) {
  const auto* tt = dynamic_cast<const tls::TlsTransport*>(&t);
  if (!tt) return 0;
  const std::string& sni = tt->sni_name();
  if (sni.empty()) {
    const Site& dflt = rt.site_for(local, {});
    bool strict = (req.site->tls && req.site->tls->strict_sni()) || (dflt.tls && dflt.tls->strict_sni());
    return strict ? 403 : 0;
  }
  if (req.host.empty()) {
    req.site = &rt.site_for(local, sni);
    return 0;
  }
  // The vhost Host chose may differ from the SNI one only if it answers
  // with the same TLS setup (one shared context): else the client would
  // get a vhost whose certificate it never checked.
  return req.site->tls == tt->context() ? 0 : 421;
}

}  // namespace pillar::server
