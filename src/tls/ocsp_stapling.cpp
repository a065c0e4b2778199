#include "tls/ocsp_stapling.h"

#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "core/clock.h"
#include "core/fd.h"
#include "tls/server_context.h"

namespace pillar::tls {

namespace {

struct Url {
  std::string host, port = "80", path = "/";
};

bool parse_http_url(std::string_view u, Url& out) {
  if (u.substr(0, 7) != "http://") return false;
  u.remove_prefix(7);
  size_t slash = u.find('/');
  std::string_view hostport = u.substr(0, slash);
  if (slash != std::string_view::npos) out.path = std::string(u.substr(slash));
  size_t colon = hostport.rfind(':');
  if (colon != std::string_view::npos && hostport.find(']') == std::string_view::npos) {
    out.port = std::string(hostport.substr(colon + 1));
    hostport = hostport.substr(0, colon);
  }
  if (hostport.size() > 2 && hostport.front() == '[' && hostport.back() == ']') hostport = hostport.substr(1, hostport.size() - 2);
  out.host = std::string(hostport);
  return !out.host.empty();
}

// Waits for `events` on fd until `deadline_ms` (monotonic); false on timeout.
bool wait_for(int fd, short events, uint64_t deadline_ms) {
  for (;;) {
    uint64_t now = core::mono_ms();
    if (now >= deadline_ms) return false;
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, static_cast<int>(deadline_ms - now));
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) return false;
  }
}

// One HTTP/1.0 POST, the answer read until the responder closes.
bool http_post(const Url& url, const std::string& body, uint64_t deadline_ms, std::string& response, std::string& why) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int e = ::getaddrinfo(url.host.c_str(), url.port.c_str(), &hints, &res); e != 0) {
    why = "cannot resolve " + url.host + ": " + gai_strerror(e);
    return false;
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(res, ::freeaddrinfo);
  core::Fd fd(::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    why = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  if (::connect(fd.get(), res->ai_addr, res->ai_addrlen) != 0 && errno != EINPROGRESS) {
    why = "connect to " + url.host + ":" + url.port + ": " + std::strerror(errno);
    return false;
  }
  if (!wait_for(fd.get(), POLLOUT, deadline_ms)) {
    why = "connect to " + url.host + ":" + url.port + " timed out";
    return false;
  }
  int err = 0;
  socklen_t elen = sizeof err;
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &elen);
  if (err != 0) {
    why = "connect to " + url.host + ":" + url.port + ": " + std::strerror(err);
    return false;
  }
  std::string req = "POST " + url.path + " HTTP/1.0\r\nHost: " + url.host +
                    "\r\nContent-Type: application/ocsp-request\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\nConnection: close\r\n\r\n" + body;
  for (size_t off = 0; off < req.size();) {
    ssize_t n = ::send(fd.get(), req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_for(fd.get(), POLLOUT, deadline_ms)) {
        why = "sending to the responder timed out";
        return false;
      }
    } else {
      why = std::string("send: ") + std::strerror(errno);
      return false;
    }
  }
  constexpr size_t kMaxResponse = 1 << 20;
  char buf[16384];
  for (;;) {
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n > 0) {
      response.append(buf, static_cast<size_t>(n));
      if (response.size() > kMaxResponse) {
        why = "the responder's answer exceeds 1 MiB";
        return false;
      }
    } else if (n == 0) {
      return true;
    } else if (errno == EAGAIN || errno == EINTR) {
      if (!wait_for(fd.get(), POLLIN, deadline_ms)) {
        why = "the responder did not answer in time";
        return false;
      }
    } else {
      why = std::string("recv: ") + std::strerror(errno);
      return false;
    }
  }
}

}  // namespace

std::string ocsp_url(X509* cert, const std::string& force_url) {
  if (!force_url.empty()) return force_url;
  STACK_OF(OPENSSL_STRING)* urls = X509_get1_ocsp(cert);
  std::string out;
  if (urls && sk_OPENSSL_STRING_num(urls) > 0) out = sk_OPENSSL_STRING_value(urls, 0);
  X509_email_free(urls);
  return out;
}

bool fetch_ocsp_response(X509* cert, X509* issuer, const std::string& url, std::chrono::milliseconds timeout,
                         std::string& der, bool& revoked, std::string& why) {
  Url u;
  if (!parse_http_url(url, u)) {
    why = "'" + url + "' is not an http:// URL";
    return false;
  }
  std::unique_ptr<OCSP_CERTID, decltype(&OCSP_CERTID_free)> id(OCSP_cert_to_id(nullptr, cert, issuer), OCSP_CERTID_free);
  std::unique_ptr<OCSP_REQUEST, decltype(&OCSP_REQUEST_free)> req(OCSP_REQUEST_new(), OCSP_REQUEST_free);
  if (!id || !req || !OCSP_request_add0_id(req.get(), OCSP_CERTID_dup(id.get()))) {
    why = "cannot build the OCSP request";
    return false;
  }
  unsigned char* reqder = nullptr;
  int reqlen = i2d_OCSP_REQUEST(req.get(), &reqder);
  if (reqlen <= 0) {
    why = "cannot encode the OCSP request";
    return false;
  }
  std::string body(reinterpret_cast<char*>(reqder), static_cast<size_t>(reqlen));
  OPENSSL_free(reqder);
  std::string http;
  if (!http_post(u, body, core::mono_ms() + static_cast<uint64_t>(timeout.count()), http, why)) return false;
  if (http.rfind("HTTP/1.", 0) != 0 || http.size() < 12 || http.compare(9, 3, "200") != 0) {
    why = "the responder answered '" + http.substr(0, http.find('\r')) + "'";
    return false;
  }
  size_t start = http.find("\r\n\r\n");
  if (start == std::string::npos) {
    why = "the responder's answer has no body";
    return false;
  }
  der = http.substr(start + 4);
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<OCSP_RESPONSE, decltype(&OCSP_RESPONSE_free)> resp(
      d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())), OCSP_RESPONSE_free);
  if (!resp) {
    why = "the responder's answer is not an OCSP response";
    return false;
  }
  if (int st = OCSP_response_status(resp.get()); st != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    why = std::string("the responder says ") + OCSP_response_status_str(st);
    return false;
  }
  std::unique_ptr<OCSP_BASICRESP, decltype(&OCSP_BASICRESP_free)> bs(OCSP_response_get1_basic(resp.get()),
                                                                     OCSP_BASICRESP_free);
  if (!bs) {
    why = "the OCSP response has no basic response";
    return false;
  }
  // Signed by the issuer, or by a responder certificate the issuer signed.
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), X509_STORE_free);
  X509_STORE_add_cert(store.get(), issuer);
  STACK_OF(X509)* certs = sk_X509_new_null();
  sk_X509_push(certs, issuer);
  int ok = OCSP_basic_verify(bs.get(), certs, store.get(), OCSP_TRUSTOTHER);
  sk_X509_free(certs);
  if (ok <= 0) {
    ERR_clear_error();
    why = "the OCSP response's signature does not verify against the issuer";
    return false;
  }
  int status = 0, reason = 0;
  ASN1_GENERALIZEDTIME *rev = nullptr, *thisupd = nullptr, *nextupd = nullptr;
  if (!OCSP_resp_find_status(bs.get(), id.get(), &status, &reason, &rev, &thisupd, &nextupd)) {
    why = "the OCSP response is not about this certificate";
    return false;
  }
  if (!OCSP_check_validity(thisupd, nextupd, 300, -1)) {
    ERR_clear_error();
    why = "the OCSP response is not current (thisUpdate/nextUpdate)";
    return false;
  }
  if (status == V_OCSP_CERTSTATUS_UNKNOWN) {
    why = "the responder does not know the certificate";
    return false;
  }
  revoked = status == V_OCSP_CERTSTATUS_REVOKED;
  return true;
}

int ocsp_status_callback(SSL* ssl, void* arg) {
  const auto* sc = static_cast<const ServerContext*>(arg);
  const std::string* der = sc ? sc->staple_for(SSL_get_certificate(ssl)) : nullptr;
  if (!der) return SSL_TLSEXT_ERR_NOACK;
  auto* copy = static_cast<unsigned char*>(OPENSSL_memdup(der->data(), der->size()));
  if (!copy) return SSL_TLSEXT_ERR_NOACK;
  SSL_set_tlsext_status_ocsp_resp(ssl, copy, static_cast<long>(der->size()));  // OpenSSL frees it
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace pillar::tls
