#include "tls/tls_transport.h"

#include <openssl/err.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/assert.h"
#include "core/log.h"
#include "core/socket_address.h"
#include "core/text.h"
#include "tls/client_context.h"
#include "tls/server_context.h"

namespace pillar::tls {

namespace {

constexpr size_t kRecord = 16 * 1024;  // one TLS record of plaintext: what one SSL_write sends at most

// Apache's answer to plain HTTP on a TLS port (mod_ssl: "speaking plain HTTP").
constexpr std::string_view kPlainHttp400 =
    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 65\r\nConnection: close\r\n\r\n"
    "This server speaks HTTPS on this port; use https:// in the URL.\r\n";
static_assert(kPlainHttp400.size() - kPlainHttp400.find("\r\n\r\n") - 4 == 65);

std::string first_error_text() {
  unsigned long e = ERR_peek_error();
  if (!e) return "connection closed";
  const char* r = ERR_reason_error_string(e);
  return r ? r : "OpenSSL error " + std::to_string(e);
}

std::string peer_of(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "?";
  return core::address_text(ss);
}

}  // namespace

TlsTransport::TlsTransport(core::Fd fd, const ServerContext& ctx, const sockaddr_storage& local,
                           core::shm::TlsCounters* counters, const SniSelector* sni)
    : fd_(std::move(fd)), selected_(&ctx), local_(local), counters_(counters), sni_select_(sni) {
  ssl_ = SSL_new(ctx.get());
  PILLAR_ASSERT(ssl_ != nullptr);
  SSL_set_fd(ssl_, fd_.get());  // a socket BIO that does not close the fd (fd_ owns it)
  SSL_set_accept_state(ssl_);
  SSL_set_app_data(ssl_, this);
}

TlsTransport::TlsTransport(core::Fd fd, const ClientContext& ctx, std::string name)
    : fd_(std::move(fd)), selected_(nullptr), local_{}, counters_(nullptr), sni_select_(nullptr), client_(&ctx),
      member_(std::move(name)) {
  ssl_ = SSL_new(ctx.get());
  PILLAR_ASSERT(ssl_ != nullptr);
  SSL_set_fd(ssl_, fd_.get());
  SSL_set_connect_state(ssl_);
  SSL_set_app_data(ssl_, this);
  in6_addr a6;
  in_addr a4;
  const bool address = inet_pton(AF_INET, member_.c_str(), &a4) == 1 || inet_pton(AF_INET6, member_.c_str(), &a6) == 1;
  if (!address && !member_.empty()) SSL_set_tlsext_host_name(ssl_, member_.c_str());  // SNI: never an address (RFC 6066 3)
}

std::string TlsTransport::who() const { return client_ ? "member " + member_ : "client " + peer_of(fd_.get()); }

TlsTransport::~TlsTransport() {
  // A handshake the client began and never finished (a timeout, or it went
  // away) is a failure too; a connection that never sent a byte is not.
  if (!done_ && !failed_ && BIO_number_read(SSL_get_rbio(ssl_)) > 0) {
    if (counters_) counters_->failures.fetch_add(1, std::memory_order_relaxed);
    core::log(core::LogLevel::Info, "ssl", "[{}] TLS handshake not finished (timeout or peer gone)", who());
  }
  // Every close says close_notify (an idle keep-alive connection timed out
  // included), so the client can tell it from a truncation. Best effort:
  // the socket is non-blocking and about to close.
  if (done_ && !failed_ && !shut_) {
    ERR_clear_error();
    (void)SSL_shutdown(ssl_);
    ERR_clear_error();
  }
  SSL_free(ssl_);
}

void TlsTransport::failed(const char* why) {
  failed_ = true;
  if (counters_) counters_->failures.fetch_add(1, std::memory_order_relaxed);
  core::log(client_ ? core::LogLevel::Error : core::LogLevel::Info, "ssl", "[{}] TLS handshake failed: {}", who(), why);
}

core::Io TlsTransport::handshake() {
  PILLAR_ASSERT(!done_);
  if (failed_) return {core::Io::Status::Error, 0, EPROTO};
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    if (client_) {
      std::string bad = check_member_certificate(ssl_, *client_, member_);
      if (!bad.empty()) {
        failed(bad.c_str());
        return {core::Io::Status::Error, 0, EPROTO};
      }
    }
    done_ = true;
    if (counters_) {
      counters_->handshakes.fetch_add(1, std::memory_order_relaxed);
      if (SSL_session_reused(ssl_)) counters_->resumed.fetch_add(1, std::memory_order_relaxed);
    }
    return core::Io::moved(0);
  }
  int e = SSL_get_error(ssl_, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return {core::Io::Status::Again, 0, 0};
  const bool spoke = BIO_number_read(SSL_get_rbio(ssl_)) > 0;
  if (!client_ && ERR_GET_REASON(ERR_peek_error()) == SSL_R_HTTP_REQUEST) {
    // Plain HTTP on the TLS port: say so in plain HTTP, as Apache does.
    (void)::send(fd_.get(), kPlainHttp400.data(), kPlainHttp400.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    failed("plain HTTP request on the TLS port");
  } else if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) {
    if (client_) failed("the member closed the connection during the handshake");
    else if (spoke) failed("the client closed the connection during the handshake");
    else failed_ = true;  // a probe that connected and left: not counted
    ERR_clear_error();
    return {core::Io::Status::Eof, 0, 0};
  } else {
    std::string why = first_error_text();
    long v = SSL_get_verify_result(ssl_);
    if (client_ && v != X509_V_OK)
      why += std::string(" (") + X509_verify_cert_error_string(v) +
             "; give SSLProxyCACertificateFile the CA that signed it, or SSLProxyVerify none)";
    failed(why.c_str());
  }
  ERR_clear_error();
  return {core::Io::Status::Error, 0, EPROTO};
}

core::Io TlsTransport::result(int ret, bool reading) {
  int e = SSL_get_error(ssl_, ret);
  switch (e) {
    case SSL_ERROR_WANT_READ:
      if (reading) read_wants_write_ = false;
      else write_wants_read_ = true;
      return {core::Io::Status::Again, 0, 0};
    case SSL_ERROR_WANT_WRITE:
      if (reading) read_wants_write_ = true;
      else write_wants_read_ = false;
      return {core::Io::Status::Again, 0, 0};
    case SSL_ERROR_ZERO_RETURN:  // close_notify, or (IGNORE_UNEXPECTED_EOF) a plain TCP close
      return {core::Io::Status::Eof, 0, 0};
    case SSL_ERROR_SYSCALL: {
      int err = errno;
      ERR_clear_error();
      if (err == 0) return {core::Io::Status::Eof, 0, 0};
      return {core::Io::Status::Error, 0, err};
    }
    default:
      core::log(core::LogLevel::Debug, "ssl", "[{}] TLS error: {}", who(), first_error_text());
      ERR_clear_error();
      return {core::Io::Status::Error, 0, EPROTO};
  }
}

core::Io TlsTransport::read(void* buf, size_t len) {
  if (!done_) {
    core::Io h = handshake();
    if (!done_) {
      if (h.again()) read_wants_write_ = SSL_want_write(ssl_);
      return h;
    }
  }
  if (len == 0) return core::Io::moved(0);
  ERR_clear_error();
  size_t n = 0;
  int r = SSL_read_ex(ssl_, buf, len, &n);
  if (r == 1) {
    read_wants_write_ = false;
    return core::Io::moved(n);
  }
  return result(r, true);
}

core::Io TlsTransport::writev(const struct iovec* iov, int count) {
  if (!done_) {
    core::Io h = handshake();
    if (!done_) {
      if (h.again()) write_wants_read_ = SSL_want_read(ssl_);
      return h;
    }
  }
  // SSL_write takes one buffer and sends one record per call (partial
  // writes): the first iovec when it fills a record, else the iovecs
  // gathered into one record's worth. A retry after WANT_WRITE sees the
  // same bytes first and at least as many, as OpenSSL requires.
  const void* data = nullptr;
  size_t len = 0;
  int first = 0;
  while (first < count && iov[first].iov_len == 0) ++first;
  if (first == count) return core::Io::moved(0);
  if (first == count - 1 || iov[first].iov_len >= kRecord) {
    data = iov[first].iov_base;
    len = iov[first].iov_len;
  } else {
    thread_local char gather[kRecord];
    for (int i = first; i < count && len < kRecord; ++i) {
      size_t take = std::min(iov[i].iov_len, kRecord - len);
      if (take) std::memcpy(gather + len, iov[i].iov_base, take);
      len += take;
    }
    data = gather;
  }
  ERR_clear_error();
  size_t n = 0;
  int r = SSL_write_ex(ssl_, data, len, &n);
  if (r == 1) {
    write_wants_read_ = false;
    return core::Io::moved(n);
  }
  return result(r, false);
}

core::Io TlsTransport::sendfile(int file_fd, uint64_t& offset, size_t len) {
  char buf[kRecord];
  ssize_t got = ::pread(file_fd, buf, std::min(len, sizeof buf), static_cast<off_t>(offset));
  if (got < 0) return {core::Io::Status::Error, 0, errno};
  if (got == 0) return {core::Io::Status::Eof, 0, 0};
  core::Io r = write(buf, static_cast<size_t>(got));
  if (r.ok()) offset += r.n;
  return r;
}

core::Io TlsTransport::splice_from_pipe(int, size_t) { return {core::Io::Status::Error, 0, EOPNOTSUPP}; }
core::Io TlsTransport::splice_to_pipe(int, size_t) { return {core::Io::Status::Error, 0, EOPNOTSUPP}; }

void TlsTransport::shutdown_write() {
  if (shut_) return;
  shut_ = true;
  if (done_ && !failed_) {
    ERR_clear_error();
    (void)SSL_shutdown(ssl_);  // sends close_notify; the peer's is not waited for
    ERR_clear_error();
  }
  ::shutdown(fd_.get(), SHUT_WR);
}

short TlsTransport::wait_events(bool writing) const {
  if (SSL_want_read(ssl_)) return POLLIN;
  if (SSL_want_write(ssl_)) return POLLOUT;
  return writing ? POLLOUT : POLLIN;
}

uint32_t TlsTransport::readiness(uint32_t events) const {
  uint32_t out = events;
  if ((events & EPOLLOUT) && read_wants_write_) out |= EPOLLIN;
  if ((events & EPOLLIN) && write_wants_read_) out |= EPOLLOUT;
  return out;
}

namespace {

// The host_name of a server_name extension (RFC 6066 3): a 2-byte list
// length, then entries of a 1-byte type, a 2-byte length and the name.
bool sni_host_name(const unsigned char* p, size_t len, std::string_view& name) {
  if (len < 2) return false;
  size_t list = (static_cast<size_t>(p[0]) << 8) | p[1];
  if (list + 2 != len) return false;
  p += 2;
  len -= 2;
  while (len >= 3) {
    uint8_t type = p[0];
    size_t n = (static_cast<size_t>(p[1]) << 8) | p[2];
    if (n + 3 > len) return false;
    if (type == TLSEXT_NAMETYPE_host_name) {
      name = std::string_view(reinterpret_cast<const char*>(p + 3), n);
      return !name.empty();
    }
    p += 3 + n;
    len -= 3 + n;
  }
  return false;
}

}  // namespace

int TlsTransport::client_hello_callback(SSL* ssl, int*, void*) {
  auto* t = static_cast<TlsTransport*>(SSL_get_app_data(ssl));
  const unsigned char* ext = nullptr;
  size_t len = 0;
  std::string_view n;
  if (!t || !SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &ext, &len) || !sni_host_name(ext, len, n))
    return SSL_CLIENT_HELLO_SUCCESS;  // no SNI: the listener's context
  if (!n.empty() && n.back() == '.') n.remove_suffix(1);
  t->sni_ = core::lowercase(n);
  const ServerContext* c = t->sni_select_ ? t->sni_select_->select(t->local_, t->sni_) : nullptr;
  if (c && c != t->selected_) t->switch_to(*c);
  return SSL_CLIENT_HELLO_SUCCESS;
}

// As mod_ssl: the vhost's certificates and session-id context come with
// SSL_set_SSL_CTX; its verification, ticket and cipher settings are copied
// by hand. The protocol versions are the listener's context's.
void TlsTransport::switch_to(const ServerContext& c) {
  SSL_CTX* ctx = c.get();
  SSL_set_SSL_CTX(ssl_, ctx);
  SSL_set_verify(ssl_, SSL_CTX_get_verify_mode(ctx), SSL_CTX_get_verify_callback(ctx));
  SSL_set_verify_depth(ssl_, SSL_CTX_get_verify_depth(ctx));
  if (STACK_OF(X509_NAME)* cas = SSL_CTX_get_client_CA_list(ctx)) SSL_set_client_CA_list(ssl_, SSL_dup_CA_list(cas));
  constexpr uint64_t kPerVhost = SSL_OP_NO_TICKET | SSL_OP_CIPHER_SERVER_PREFERENCE;
  SSL_clear_options(ssl_, kPerVhost);
  SSL_set_options(ssl_, SSL_CTX_get_options(ctx) & kPerVhost);
  SSL_set_cipher_list(ssl_, c.ciphers().c_str());
  SSL_set_ciphersuites(ssl_, c.ciphersuites().c_str());
  selected_ = &c;
}

// The context was chosen from the ClientHello already; this only
// acknowledges the name (the server then answers with an empty SNI).
int TlsTransport::servername_callback(SSL*, int*, void*) { return SSL_TLSEXT_ERR_OK; }

std::string_view choose_alpn(std::span<const unsigned char> offered, const SniSelector::Protocols& ours) {
  // The client's names, checked as they are walked (a bad length ends the list).
  auto client_offers = [&](std::string_view name) {
    for (size_t i = 0; i < offered.size();) {
      size_t n = offered[i];
      if (n == 0 || i + 1 + n > offered.size()) return false;
      std::string_view p(reinterpret_cast<const char*>(offered.data() + i + 1), n);
      if (p == name) return true;
      i += 1 + n;
    }
    return false;
  };
  if (ours.honor_order) {
    for (std::string_view name : ours.names)
      if (client_offers(name)) return name;
    return {};
  }
  for (size_t i = 0; i < offered.size();) {
    size_t n = offered[i];
    if (n == 0 || i + 1 + n > offered.size()) break;
    std::string_view p(reinterpret_cast<const char*>(offered.data() + i + 1), n);
    for (std::string_view name : ours.names)
      if (p == name) return name;
    i += 1 + n;
  }
  return {};
}

// The selected name must outlive the handshake: it points into the
// vhost's configuration (SniSelector::protocols' views), which does.
int TlsTransport::alpn_callback(SSL* ssl, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                                unsigned int inlen, void*) {
  auto* t = static_cast<TlsTransport*>(SSL_get_app_data(ssl));
  if (!t || !t->sni_select_) return SSL_TLSEXT_ERR_NOACK;
  std::string_view p = choose_alpn({in, inlen}, t->sni_select_->protocols(t->local_, t->sni_));
  if (p.empty()) return SSL_TLSEXT_ERR_NOACK;  // nothing in common: HTTP/1.1 without ALPN, as mod_ssl
  *out = reinterpret_cast<const unsigned char*>(p.data());
  *outlen = static_cast<unsigned char>(p.size());
  return SSL_TLSEXT_ERR_OK;
}

std::string_view TlsTransport::alpn() const {
  const unsigned char* p = nullptr;
  unsigned int n = 0;
  SSL_get0_alpn_selected(ssl_, &p, &n);
  return p ? std::string_view(reinterpret_cast<const char*>(p), n) : std::string_view();
}

}  // namespace pillar::tls
