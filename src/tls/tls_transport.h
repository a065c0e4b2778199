// TLS over a non-blocking socket, accepted (the server side) or connected
// to a balancer member (the client side): a core::Transport whose reads
// and writes drive the handshake first (SSL_do_handshake inside read and
// writev), then move application data (SSL_read/SSL_write).
//
// Direction: a read may need the socket writable (the handshake's flight
// did not fit) and a write may need it readable. The connection registers
// edge-triggered IN|OUT once and keeps a "readable" and a "writable" flag;
// readiness() maps each epoll event to the directions it unblocks, so an
// EPOLLOUT resumes a read that waits for it and an EPOLLIN a write.
//
// OpenSSL's socket BIO writes with write(2): the process ignores SIGPIPE
// (the master does, and workers inherit it), so a closed peer is EPIPE.
//
// Never zero-copy: sendfile and splice would bypass the record layer
// (kTLS is not used yet), so can_zero_copy() is false and the output copies
// file bytes through a buffer.
#pragma once
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/shm/scoreboard.h"
#include "core/transport.h"

namespace pillar::tls {

class ClientContext;
class ServerContext;

// Picks the context for the SNI name of a connection to `local` (the
// server layer routes it as it routes Host). Null: keep the listener's.
class SniSelector {
 public:
  virtual ~SniSelector() = default;
  virtual const ServerContext* select(const sockaddr_storage& local, std::string_view host) const = 0;
  // The application protocols (ALPN names, "h2", "http/1.1") the vhost of
  // `host` (the SNI name; empty: the address's default) speaks, in its
  // order, and whether that order wins over the client's (Apache's
  // Protocols and ProtocolsHonorOrder). Default: HTTP/1.1 only.
  struct Protocols {
    std::vector<std::string_view> names{"http/1.1"};
    bool honor_order = true;
  };
  virtual Protocols protocols(const sockaddr_storage& local, std::string_view host) const {
    (void)local;
    (void)host;
    return {};
  }
};

// ALPN (RFC 7301): the protocol to select from the client's list (`offered`,
// in its wire format: length-prefixed names) given the server's, or empty
// when none is common (the handshake goes on without ALPN: HTTP/1.1).
std::string_view choose_alpn(std::span<const unsigned char> offered, const SniSelector::Protocols& ours);

class TlsTransport final : public core::Transport {
 public:
  // `ctx`: the listener's default context (its address's first SSL vhost).
  // `counters` (the scoreboard's; may be null) and `sni` outlive it.
  TlsTransport(core::Fd fd, const ServerContext& ctx, const sockaddr_storage& local, core::shm::TlsCounters* counters,
               const SniSelector* sni);
  // The client side, toward a balancer member: `ctx` the balancer's client
  // context, `name` the member's host (the SNI name unless it is an
  // address, and the name SSLProxyCheckPeerName checks).
  TlsTransport(core::Fd fd, const ClientContext& ctx, std::string name);
  ~TlsTransport() override;
  TlsTransport(const TlsTransport&) = delete;
  TlsTransport& operator=(const TlsTransport&) = delete;

  core::Io read(void* buf, size_t len) override;
  core::Io writev(const struct iovec* iov, int count) override;
  bool can_zero_copy() const override { return false; }
  // Copies through a buffer (never called while can_zero_copy() is false,
  // but correct if it is).
  core::Io sendfile(int file_fd, uint64_t& offset, size_t len) override;
  core::Io splice_from_pipe(int pipe_fd, size_t len) override;  // Error: not through TLS
  core::Io splice_to_pipe(int pipe_fd, size_t len) override;
  // close_notify (once the handshake is done), then the TCP half-close.
  void shutdown_write() override;
  int fd() const override { return fd_.get(); }
  bool secure() const override { return true; }
  uint32_t readiness(uint32_t events) const override;
  short wait_events(bool writing) const override;

  bool handshake_done() const { return done_; }
  // The SNI name the client sent (lower-case; empty: none).
  const std::string& sni_name() const { return sni_; }
  // The context that answered: the SNI-selected vhost's, or the listener's.
  const ServerContext* context() const { return selected_; }
  bool resumed() const { return done_ && SSL_session_reused(ssl_) == 1; }
  const char* protocol() const { return SSL_get_version(ssl_); }
  const char* cipher() const { return SSL_get_cipher_name(ssl_); }
  SSL* ssl() const { return ssl_; }
  // The protocol ALPN selected ("h2", "http/1.1"; empty: none).
  std::string_view alpn() const;

  // The callbacks every ServerContext installs. The vhost is chosen from
  // the raw ClientHello (as mod_ssl does), before OpenSSL looks at a
  // session to resume: a session is then only resumed under the session-id
  // context of the vhost the client named, so a session from a vhost
  // without client certificates never resumes into one that requires them.
  static int client_hello_callback(SSL* ssl, int* alert, void* arg);
  static int servername_callback(SSL* ssl, int* alert, void* arg);
  // ALPN: the SNI-selected vhost's Protocols (SniSelector::protocols).
  static int alpn_callback(SSL* ssl, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                           unsigned int inlen, void* arg);

 private:
  core::Io handshake();
  core::Io result(int ret, bool reading);
  void switch_to(const ServerContext& c);  // maps SSL_get_error after a call that returned `ret`
  void failed(const char* why);

  core::Fd fd_;
  SSL* ssl_ = nullptr;
  const ServerContext* selected_;
  sockaddr_storage local_;
  core::shm::TlsCounters* counters_;
  const SniSelector* sni_select_;
  const ClientContext* client_ = nullptr;  // the client side: its context (member_ its host)
  std::string member_;
  std::string who() const;  // "client ADDR" or "member NAME", for the log
  std::string sni_;
  bool done_ = false;
  bool failed_ = false;
  bool spoke_ = false;                 // the client sent something (a silent probe is no failure)
  bool read_wants_write_ = false;      // the last read stopped on WANT_WRITE
  bool write_wants_read_ = false;      // the last write stopped on WANT_READ
  bool shut_ = false;
};

}  // namespace pillar::tls
