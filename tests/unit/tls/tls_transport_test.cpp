// TlsTransport over a socketpair against an OpenSSL client in the test:
// the handshake driven from read/writev, data both ways, close_notify,
// broken ClientHellos, and the readiness mapping the connection relies on.
#include "tls/tls_transport.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <chrono>
#include <memory>
#include <string>

#include "test_certs.h"
#include "tls/server_context.h"

namespace pillar::tls {
namespace {

using namespace testing;

class TlsTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::signal(SIGPIPE, SIG_IGN);  // as the server: OpenSSL writes to a closed peer with write(2)
    EVP_PKEY* key = make_key(false);
    X509* cert = make_cert(key, "server.test", 30, nullptr, nullptr, false);
    write_pem(dir_.path("server.pem"), cert, key);
    X509_free(cert);
    EVP_PKEY_free(key);
    cfg_.main_server.ssl.engine = true;
    cfg_.main_server.ssl.certs.push_back({dir_.path("server.pem"), {"t.conf", 1}});
    std::vector<config::ConfigError> errors;
    std::vector<std::string> warnings;
    set_ = ContextSet::build(cfg_, errors, warnings);
    ASSERT_TRUE(set_) << (errors.empty() ? "" : errors[0].to_string());
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    server_ = std::make_unique<TlsTransport>(core::Fd(sv[0]), *set_->for_vhost(-1), local_, &counters_, nullptr);
    client_fd_ = core::Fd(sv[1]);
    cctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(cctx_, SSL_VERIFY_NONE, nullptr);
    client_ = SSL_new(cctx_);
    SSL_set_fd(client_, client_fd_.get());
    SSL_set_connect_state(client_);
    SSL_set_tlsext_host_name(client_, "server.test");
  }
  void TearDown() override {
    SSL_free(client_);
    SSL_CTX_free(cctx_);
  }

  // Steps client and server until both finished the handshake (bounded).
  bool handshake() {
    char buf[16];
    for (int i = 0; i < 100; ++i) {
      int c = SSL_do_handshake(client_);
      core::Io r = server_->read(buf, sizeof buf);
      EXPECT_FALSE(r.ok()) << "no application data yet";
      if (r.status == core::Io::Status::Error || r.status == core::Io::Status::Eof) return false;
      if (c == 1 && server_->handshake_done()) return true;
    }
    return false;
  }
  // Reads what the server transport has (bounded), letting the client write.
  std::string server_read_all(size_t want) {
    std::string got;
    char buf[4096];
    for (int i = 0; i < 1000 && got.size() < want; ++i) {
      core::Io r = server_->read(buf, sizeof buf);
      if (r.ok()) got.append(buf, r.n);
      else if (!r.again()) break;
    }
    return got;
  }

  TempDir dir_;
  config::ServerConfig cfg_;
  std::unique_ptr<ContextSet> set_;
  sockaddr_storage local_{};
  core::shm::TlsCounters counters_;
  std::unique_ptr<TlsTransport> server_;
  core::Fd client_fd_;
  SSL_CTX* cctx_ = nullptr;
  SSL* client_ = nullptr;
};

TEST_F(TlsTransportTest, HandshakeFromReadThenDataBothWays) {
  EXPECT_TRUE(server_->secure());
  EXPECT_FALSE(server_->can_zero_copy());
  ASSERT_TRUE(handshake());
  EXPECT_EQ(counters_.handshakes.load(), 1u);
  EXPECT_EQ(counters_.failures.load(), 0u);
  EXPECT_EQ(server_->sni_name(), "server.test");
  EXPECT_STREQ(server_->protocol(), "TLSv1.3");

  std::string req = "GET / HTTP/1.1\r\nHost: server.test\r\n\r\n";
  ASSERT_EQ(SSL_write(client_, req.data(), static_cast<int>(req.size())), static_cast<int>(req.size()));
  EXPECT_EQ(server_read_all(req.size()), req);

  // writev gathers several iovecs into records.
  std::string a = "HTTP/1.1 200 OK\r\n", b(40000, 'x');
  struct iovec iov[2] = {{a.data(), a.size()}, {b.data(), b.size()}};
  std::string want = a + b, got;
  size_t off = 0;
  char buf[8192];
  for (int i = 0; i < 10000 && got.size() < want.size(); ++i) {
    if (off < want.size()) {
      struct iovec rest[2];
      int k = 0;
      if (off < a.size()) rest[k++] = {a.data() + off, a.size() - off};
      size_t boff = off > a.size() ? off - a.size() : 0;
      rest[k++] = {b.data() + boff, b.size() - boff};
      core::Io w = server_->writev(off < a.size() ? iov : rest, k);
      if (w.ok()) off += w.n;
      else ASSERT_TRUE(w.again());
    }
    int n = SSL_read(client_, buf, sizeof buf);
    if (n > 0) got.append(buf, static_cast<size_t>(n));
  }
  EXPECT_EQ(got, want);
}

TEST_F(TlsTransportTest, ShutdownWriteSendsCloseNotify) {
  ASSERT_TRUE(handshake());
  server_->shutdown_write();
  char buf[64];
  int n = 0;
  for (int i = 0; i < 100; ++i) {
    n = SSL_read(client_, buf, sizeof buf);
    if (n <= 0 && SSL_get_error(client_, n) != SSL_ERROR_WANT_READ) break;
  }
  EXPECT_EQ(SSL_get_error(client_, n), SSL_ERROR_ZERO_RETURN) << "the client saw close_notify, not a bare EOF";
  // The client's own close_notify reads as the end of the stream.
  SSL_shutdown(client_);
  core::Io r{};
  for (int i = 0; i < 100; ++i) {
    r = server_->read(buf, sizeof buf);
    if (!r.again()) break;
  }
  EXPECT_EQ(r.status, core::Io::Status::Eof);
}

TEST_F(TlsTransportTest, ClosingSendsCloseNotify) {
  ASSERT_TRUE(handshake());
  server_.reset();  // the connection closes (a keep-alive timeout, say) without shutdown_write
  char buf[64];
  int n = 0;
  for (int i = 0; i < 100; ++i) {
    n = SSL_read(client_, buf, sizeof buf);
    if (n <= 0 && SSL_get_error(client_, n) != SSL_ERROR_WANT_READ) break;
  }
  EXPECT_EQ(SSL_get_error(client_, n), SSL_ERROR_ZERO_RETURN);
}

TEST_F(TlsTransportTest, GarbageClientHelloIsAnErrorAndCounted) {
  std::string junk(64, '\x16');  // a handshake record type with nonsense after it
  ASSERT_EQ(::send(client_fd_.get(), junk.data(), junk.size(), 0), static_cast<ssize_t>(junk.size()));
  char buf[16];
  core::Io r = server_->read(buf, sizeof buf);
  EXPECT_EQ(r.status, core::Io::Status::Error);
  EXPECT_FALSE(server_->handshake_done());
  EXPECT_EQ(counters_.failures.load(), 1u);
  EXPECT_EQ(server_->read(buf, sizeof buf).status, core::Io::Status::Error) << "stays failed";
  EXPECT_EQ(counters_.failures.load(), 1u) << "counted once";
}

TEST_F(TlsTransportTest, PlainHttpGetsAPlainAnswer) {
  std::string req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(::send(client_fd_.get(), req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
  char buf[512];
  EXPECT_EQ(server_->read(buf, sizeof buf).status, core::Io::Status::Error);
  ssize_t n = ::recv(client_fd_.get(), buf, sizeof buf, 0);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)).rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u);
  EXPECT_EQ(counters_.failures.load(), 1u);
}

TEST_F(TlsTransportTest, SilentProbeIsNoFailure) {
  client_fd_ = core::Fd();  // connects and leaves
  char buf[16];
  EXPECT_EQ(server_->read(buf, sizeof buf).status, core::Io::Status::Eof);
  server_.reset();
  EXPECT_EQ(counters_.failures.load(), 0u);
}

TEST_F(TlsTransportTest, AbandonedHandshakeCountsAsFailureWhenClosed) {
  SSL_do_handshake(client_);  // the ClientHello, then the client stops
  char buf[16];
  EXPECT_TRUE(server_->read(buf, sizeof buf).again());
  server_.reset();  // the connection's timeout closes it
  EXPECT_EQ(counters_.failures.load(), 1u);
  EXPECT_EQ(counters_.handshakes.load(), 0u);
}

// A write before the handshake waits for the client's bytes: an EPOLLIN
// edge must wake the writer. Reads and writes that wait on their own
// direction map nothing extra.
TEST_F(TlsTransportTest, ReadinessWakesTheDirectionTheHandshakeWaitsFor) {
  EXPECT_EQ(server_->readiness(EPOLLIN), static_cast<uint32_t>(EPOLLIN));
  core::Io w = server_->write("x", 1);
  ASSERT_TRUE(w.again());
  EXPECT_EQ(server_->readiness(EPOLLIN), static_cast<uint32_t>(EPOLLIN | EPOLLOUT));
  EXPECT_EQ(server_->readiness(EPOLLOUT), static_cast<uint32_t>(EPOLLOUT));
  core::PlainTransport plain{core::Fd()};
  EXPECT_EQ(plain.readiness(EPOLLIN), static_cast<uint32_t>(EPOLLIN));
  EXPECT_FALSE(plain.secure());
}

TEST_F(TlsTransportTest, SessionResumesWithTheSharedTicketKeys) {
  ASSERT_TRUE(handshake());
  // TLS 1.3 tickets arrive after the handshake: read them on the client.
  char buf[16];
  for (int i = 0; i < 20; ++i) SSL_read(client_, buf, sizeof buf);
  SSL_SESSION* sess = SSL_get1_session(client_);
  ASSERT_NE(sess, nullptr);
  ASSERT_TRUE(SSL_SESSION_is_resumable(sess));

  // A second connection (another transport, as another worker would hold).
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  SSL_shutdown(client_);  // an SSL freed without it marks its session not resumable
  SSL_free(client_);
  server_ = std::make_unique<TlsTransport>(core::Fd(sv[0]), *set_->for_vhost(-1), local_, &counters_, nullptr);
  client_fd_ = core::Fd(sv[1]);
  client_ = SSL_new(cctx_);
  SSL_set_fd(client_, client_fd_.get());
  SSL_set_connect_state(client_);
  SSL_set_tlsext_host_name(client_, "server.test");
  SSL_set_session(client_, sess);
  SSL_SESSION_free(sess);

  ASSERT_TRUE(handshake());
  EXPECT_TRUE(server_->resumed());
  EXPECT_EQ(counters_.resumed.load(), 1u);
  EXPECT_EQ(counters_.handshakes.load(), 2u);
}

}  // namespace
}  // namespace pillar::tls
