// TLS at the front, the server side of it: which context a connection to an
// https listener starts with, which one its SNI name switches to (the vhost
// the name routes to, as Host would), and the per-request checks mod_ssl
// makes (421 Misdirected Request, SSLStrictSNIVHostCheck). The TLS itself
// is src/tls; this file only knows vhosts.
#pragma once
#include <sys/socket.h>

#include <memory>
#include <string_view>

#include "core/fd.h"
#include "core/shm/scoreboard.h"
#include "core/transport.h"
#include "tls/server_context.h"
#include "tls/tls_transport.h"

namespace pillar::server {

class Runtime;
struct Site;
struct Request;

// The SNI selector of one Runtime: the SNI name routes like a Host header
// among the vhosts of the connection's address.
class TlsSites final : public tls::SniSelector {
 public:
  explicit TlsSites(const Runtime& rt) : rt_(rt) {}
  const tls::ServerContext* select(const sockaddr_storage& local, std::string_view host) const override;
  // The vhost's Protocols that TLS can carry (h2, http/1.1; h2c is cleartext only).
  Protocols protocols(const sockaddr_storage& local, std::string_view host) const override;
  // The context a connection to `local` starts with: its address's default
  // vhost's, else the first SSL vhost serving that address (Apache); null
  // when none (the listener is refused at load, so only a race of reloads).
  const tls::ServerContext* default_for(const sockaddr_storage& local) const;

 private:
  const Runtime& rt_;
};

// The transport of a connection accepted on an https listener; null when no
// context serves its address (the caller closes the connection).
std::unique_ptr<core::Transport> make_tls_transport(const Runtime& rt, core::Fd fd, const sockaddr_storage& local,
                                                    core::shm::TlsCounters* counters);

// mod_ssl's checks of a request on a TLS connection, once its vhost is
// known (req.site, by Host). Returns 0 to go on, or the status to answer:
// 421 when Host names a vhost with another TLS setup than the SNI name
// chose, 403 for a client without SNI to a vhost with SSLStrictSNIVHostCheck
// (or any vhost of an address whose default vhost has it). Without Host
// (HTTP/1.0) the SNI name routes the request.
// mod_ssl's variables for the access log (%{NAME}x): HTTPS, SSL_PROTOCOL,
// SSL_CIPHER, SSL_TLS_SNI, SSL_SESSION_RESUMED, SSL_CLIENT_VERIFY,
// SSL_CLIENT_S_DN, SSL_CLIENT_I_DN, SSL_CLIENT_M_SERIAL. Empty when unset
// (a plain connection, no client certificate).
bool ssl_var_known(std::string_view name);
std::string_view ssl_var_names();
std::string ssl_var(const core::Transport& t, std::string_view name);

int tls_request_check(const Runtime& rt, const core::Transport& t, const sockaddr_storage& local, Request& req);

}  // namespace pillar::server
