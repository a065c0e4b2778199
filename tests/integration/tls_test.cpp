// TLS termination at the front: libcurl over TLS 1.2 and 1.3, SNI choosing
// between two vhosts' certificates, RSA and ECDSA side by side on one vhost,
// 421 for a Host another certificate answers, client certificates, session
// resumption across workers and a graceful reload, and hostile or broken
// clients (plain HTTP, a malformed ClientHello, a client that stops
// mid-handshake). Certificates are made with the `openssl` CLI into a
// temporary directory once for the suite.
#include <curl/curl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "backend.h"
#include "load_generator.h"
#include "test_common.h"

namespace itest {
namespace {

// What a TLS request saw: the response, and the TLS session it ran on.
struct TlsResult {
  int curl_code = -1;
  std::string curl_error;
  int status = 0;
  std::string body;
  std::string headers;
  std::string protocol;   // "TLSv1.2", "TLSv1.3"
  std::string cert_cn;    // the server certificate's CN
  std::string cert_org;   // its O (which of a vhost's certificates)
  int cert_type = 0;      // EVP_PKEY_RSA / EVP_PKEY_EC
  bool resumed = false;
};

struct TlsOptions {
  long version = CURL_SSLVERSION_TLSv1_2;  // minimum (and maximum with max)
  long max_version = CURL_SSLVERSION_MAX_DEFAULT;
  std::string ciphers;       // TLS 1.2 list
  std::string post_body;     // non-empty: a POST with this body
  std::string host_header;   // a Host different from the URL's (SNI) name
  std::string client_cert, client_key;
  bool fresh_connect = false;
};

size_t on_data(char* p, size_t s, size_t n, void* ud) {
  static_cast<std::string*>(ud)->append(p, s * n);
  return s * n;
}

std::string name_entry(X509_NAME* name, int nid) {
  char buf[256] = {0};
  if (X509_NAME_get_text_by_NID(name, nid, buf, sizeof buf) < 0) return "";
  return buf;
}

// The TLS session of the transfer, read while it runs (from the header
// callback): libcurl gives its SSL* only while the connection is attached.
struct HeaderSink {
  CURL* h;
  TlsResult* r;
};

size_t on_header(char* p, size_t s, size_t n, void* ud) {
  auto* hs = static_cast<HeaderSink*>(ud);
  TlsResult& r = *hs->r;
  r.headers.append(p, s * n);
  curl_tlssessioninfo* info = nullptr;
  if (r.protocol.empty() && curl_easy_getinfo(hs->h, CURLINFO_TLS_SSL_PTR, &info) == CURLE_OK && info &&
      info->backend == CURLSSLBACKEND_OPENSSL && info->internals) {
    SSL* ssl = static_cast<SSL*>(info->internals);
    r.protocol = SSL_get_version(ssl);
    r.resumed = SSL_session_reused(ssl) == 1;
    if (X509* peer = SSL_get1_peer_certificate(ssl)) {
      r.cert_cn = name_entry(X509_get_subject_name(peer), NID_commonName);
      r.cert_org = name_entry(X509_get_subject_name(peer), NID_organizationName);
      r.cert_type = EVP_PKEY_base_id(X509_get0_pubkey(peer));
      X509_free(peer);
    }
  }
  return s * n;
}

// A client that keeps its handle (so libcurl's session cache resumes).
class TlsClient {
 public:
  explicit TlsClient(std::string ca) : ca_(std::move(ca)), h_(curl_easy_init()) {}
  ~TlsClient() { curl_easy_cleanup(h_); }

  TlsResult get(uint16_t port, const std::string& host, const std::string& path, const TlsOptions& o = {}) {
    TlsResult r;
    curl_easy_reset(h_);
    std::string url = "https://" + host + ":" + std::to_string(port) + path;
    curl_slist* resolve = curl_slist_append(nullptr, (host + ":" + std::to_string(port) + ":127.0.0.1").c_str());
    curl_slist* hdrs = nullptr;
    if (!o.host_header.empty()) hdrs = curl_slist_append(hdrs, ("Host: " + o.host_header).c_str());
    char err[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(h_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h_, CURLOPT_RESOLVE, resolve);
    curl_easy_setopt(h_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h_, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h_, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(h_, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(h_, CURLOPT_CAINFO, ca_.c_str());
    curl_easy_setopt(h_, CURLOPT_SSLVERSION, o.version | o.max_version);
    if (!o.ciphers.empty()) curl_easy_setopt(h_, CURLOPT_SSL_CIPHER_LIST, o.ciphers.c_str());
    if (!o.client_cert.empty()) {
      curl_easy_setopt(h_, CURLOPT_SSLCERT, o.client_cert.c_str());
      curl_easy_setopt(h_, CURLOPT_SSLKEY, o.client_key.c_str());
    }
    if (hdrs) curl_easy_setopt(h_, CURLOPT_HTTPHEADER, hdrs);
    if (o.fresh_connect) curl_easy_setopt(h_, CURLOPT_FRESH_CONNECT, 1L);
    if (!o.post_body.empty()) {
      curl_easy_setopt(h_, CURLOPT_POST, 1L);
      curl_easy_setopt(h_, CURLOPT_POSTFIELDS, o.post_body.data());
      curl_easy_setopt(h_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(o.post_body.size()));
    }
    curl_easy_setopt(h_, CURLOPT_ERRORBUFFER, err);
    curl_easy_setopt(h_, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h_, CURLOPT_WRITEDATA, &r.body);
    HeaderSink hs{h_, &r};
    curl_easy_setopt(h_, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h_, CURLOPT_HEADERDATA, &hs);
    r.curl_code = curl_easy_perform(h_);
    r.curl_error = err;
    long status = 0;
    curl_easy_getinfo(h_, CURLINFO_RESPONSE_CODE, &status);
    r.status = static_cast<int>(status);
    curl_slist_free_all(resolve);
    curl_slist_free_all(hdrs);
    return r;
  }

 private:
  std::string ca_;
  CURL* h_;
};

// One request through `openssl s_client` (a session saved to, or resumed
// from, SESSION_FILE); its output holds "New, TLSv1.3" or "Reused, TLSv1.3".
std::string s_client(uint16_t port, const std::string& version, const std::string& session_args,
                     const std::string& host = "a.test") {
  std::string out;
  sh("printf 'GET / HTTP/1.1\\r\\nHost: " + host + "\\r\\nConnection: close\\r\\n\\r\\n' | timeout 5 openssl s_client " +
         version + " -ign_eof -servername " + host + " -connect 127.0.0.1:" + std::to_string(port) + " " + session_args,
     &out);
  return out;
}

// A metric's value from the plain listener's /metrics (-1 when absent).
long long metric(uint16_t plain_port, const std::string& name) {
  CurlResult r = curl_get("http://127.0.0.1:" + std::to_string(plain_port) + "/metrics");
  std::smatch m;
  if (!std::regex_search(r.body, m, std::regex("\n" + name + " ([0-9]+)\n"))) return -1;
  return std::atoll(m[1].str().c_str());
}

class Tls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    certs_ = new TempTree();
    std::string err = make_test_ca(certs_->root());
    ASSERT_TRUE(err.empty()) << err;
    leaf("a-rsa", "a.test", "rsa", true, false);
    leaf("a-ec", "a.test", "ecdsa", false, false);
    leaf("b", "b.test", "b", false, false);
    leaf("c", "c.test", "c", false, false);
    leaf("client", "client.test", "client", false, true);
  }
  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
  }
  // NAME.key and NAME.crt for HOST (also its SAN), signed by the test CA.
  static void leaf(const std::string& name, const std::string& host, const std::string& org, bool rsa, bool client) {
    std::string err = make_test_leaf(certs_->root(), name, host, "DNS:" + host, org, rsa, client);
    ASSERT_TRUE(err.empty()) << err;
  }
  static std::string cert(const std::string& f) { return certs_->path(f); }

  // Listener 0: https; listener 1: plain http (for /metrics).
  std::string config(const std::string& extra = "", const std::string& vhost_extra = "") {
    for (const char* v : {"a", "b", "c"}) tree_.write(std::string(v) + "/index.html", std::string("site ") + v + "\n");
    auto vhost = [&](const std::string& name, const std::string& certs) {
      return "<VirtualHost *>\n  ServerName " + name + "\n  DocumentRoot \"" + tree_.path(name.substr(0, 1)) +
             "\"\n  SSLEngine on\n" + certs + vhost_extra + "</VirtualHost>\n";
    };
    return "Listen 127.0.0.1:0 https\nListen 127.0.0.1:0\nServerName localhost\nDocumentRoot \"" + tree_.path("a") +
           "\"\nPidFile \"" + tree_.path("pillar.pid") + "\"\n" +
           "<Location /metrics>\n  SetHandler pillar-metrics\n</Location>\n"
           "<Location /server-status>\n  SetHandler server-status\n</Location>\n" + extra +
           vhost("a.test", "  SSLCertificateFile " + cert("a-rsa.crt") + "\n  SSLCertificateKeyFile " + cert("a-rsa.key") +
                               "\n  SSLCertificateFile " + cert("a-ec.crt") + "\n  SSLCertificateKeyFile " +
                               cert("a-ec.key") + "\n") +
           vhost("b.test", "  SSLCertificateFile " + cert("b.crt") + "\n  SSLCertificateKeyFile " + cert("b.key") + "\n") +
           vhost("c.test", "  SSLCertificateFile " + cert("c.crt") + "\n  SSLCertificateKeyFile " + cert("c.key") +
                               "\n  SSLVerifyClient require\n  SSLCACertificateFile " + cert("ca.pem") + "\n");
  }

  static TempTree* certs_;
  TempTree tree_;
};
TempTree* Tls::certs_ = nullptr;

TEST_F(Tls, Tls12AndTls13) {
  START_SERVER(srv, config(), 2);
  TlsClient c(cert("ca.pem"));
  TlsOptions v12;
  v12.max_version = CURL_SSLVERSION_MAX_TLSv1_2;
  TlsResult r = c.get(srv.port(0), "a.test", "/", v12);
  ASSERT_EQ(r.curl_code, CURLE_OK) << r.curl_error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "site a\n");
  EXPECT_EQ(r.protocol, "TLSv1.2");
  TlsOptions v13;
  v13.version = CURL_SSLVERSION_TLSv1_3;
  r = c.get(srv.port(0), "a.test", "/", v13);
  ASSERT_EQ(r.curl_code, CURLE_OK) << r.curl_error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.protocol, "TLSv1.3");
  // The same listener still speaks nothing below TLS 1.2 (the default SSLProtocol).
  TlsOptions v11;
  v11.version = CURL_SSLVERSION_TLSv1_1;
  v11.max_version = CURL_SSLVERSION_MAX_TLSv1_1;
  v11.ciphers = "DEFAULT:@SECLEVEL=0";
  EXPECT_NE(c.get(srv.port(0), "a.test", "/", v11).curl_code, CURLE_OK);
  EXPECT_GE(metric(srv.port(1), "pillar_tls_handshakes_total"), 2);
}

TEST_F(Tls, SniChoosesTheVhostCertificate) {
  START_SERVER(srv, config(), 2);
  TlsClient c(cert("ca.pem"));
  TlsResult a = c.get(srv.port(0), "a.test", "/");
  ASSERT_EQ(a.curl_code, CURLE_OK) << a.curl_error;
  EXPECT_EQ(a.cert_cn, "a.test");
  EXPECT_EQ(a.body, "site a\n");
  TlsResult b = c.get(srv.port(0), "b.test", "/");
  ASSERT_EQ(b.curl_code, CURLE_OK) << b.curl_error;
  EXPECT_EQ(b.cert_cn, "b.test");
  EXPECT_EQ(b.body, "site b\n");
  // An unknown name gets the first SSL vhost of the address (Apache): a.test's
  // certificate, which the client then refuses for the name.
  TlsResult u = c.get(srv.port(0), "unknown.test", "/");
  EXPECT_EQ(u.curl_code, CURLE_PEER_FAILED_VERIFICATION) << u.curl_error;
  // Without Host (HTTP/1.0) the SNI name routes the request.
  std::string out;
  sh("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | timeout 5 openssl s_client -quiet -servername b.test -connect 127.0.0.1:" +
         std::to_string(srv.port(0)),
     &out);
  EXPECT_NE(out.find("site b"), std::string::npos) << out;
}

TEST_F(Tls, RsaAndEcdsaOnOneVhost) {
  START_SERVER(srv, config(), 2);
  TlsClient c(cert("ca.pem"));
  TlsOptions rsa, ec;
  rsa.max_version = ec.max_version = CURL_SSLVERSION_MAX_TLSv1_2;
  rsa.ciphers = "ECDHE-RSA-AES128-GCM-SHA256";
  ec.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
  TlsResult r = c.get(srv.port(0), "a.test", "/", rsa);
  ASSERT_EQ(r.curl_code, CURLE_OK) << r.curl_error;
  EXPECT_EQ(r.cert_type, EVP_PKEY_RSA);
  EXPECT_EQ(r.cert_org, "rsa");
  TlsResult e = c.get(srv.port(0), "a.test", "/", ec);
  ASSERT_EQ(e.curl_code, CURLE_OK) << e.curl_error;
  EXPECT_EQ(e.cert_type, EVP_PKEY_EC);
  EXPECT_EQ(e.cert_org, "ecdsa");
  // b.test has only ECDSA: an RSA-only client finds no shared cipher there.
  EXPECT_NE(c.get(srv.port(0), "b.test", "/", rsa).curl_code, CURLE_OK);
}

TEST_F(Tls, HostOfAnotherCertificateIs421) {
  START_SERVER(srv, config(), 2);
  TlsClient c(cert("ca.pem"));
  TlsOptions o;
  o.host_header = "b.test";
  TlsResult r = c.get(srv.port(0), "a.test", "/", o);
  ASSERT_EQ(r.curl_code, CURLE_OK) << r.curl_error;
  EXPECT_EQ(r.status, 421);
  EXPECT_EQ(r.body.find("site b"), std::string::npos);
  // The matching Host on the same kind of request is served.
  o.host_header = "a.test";
  EXPECT_EQ(c.get(srv.port(0), "a.test", "/", o).status, 200);
}

TEST_F(Tls, StrictSniRefusesClientsWithoutSni) {
  START_SERVER(srv, config("", "  SSLStrictSNIVHostCheck on\n"), 2);
  // No SNI: openssl s_client with -noservername, a request with Host a.test.
  std::string out;
  sh("printf 'GET / HTTP/1.1\\r\\nHost: a.test\\r\\nConnection: close\\r\\n\\r\\n' | timeout 5 openssl s_client -quiet "
     "-noservername -connect 127.0.0.1:" + std::to_string(srv.port(0)),
     &out);
  EXPECT_NE(out.find("HTTP/1.1 403"), std::string::npos) << out;
  TlsClient c(cert("ca.pem"));
  EXPECT_EQ(c.get(srv.port(0), "a.test", "/").status, 200) << "with SNI it is served";
}

TEST_F(Tls, ClientCertificateRequired) {
  const std::string log = tree_.path("ssl.log");
  START_SERVER(srv, config("CustomLog " + log + " \"%v %{HTTPS}x %{SSL_PROTOCOL}x %{SSL_TLS_SNI}x %{SSL_CLIENT_VERIFY}x "
                           "[%{SSL_CLIENT_S_DN}x] [%{SSL_CLIENT_I_DN}x]\"\n"),
               2);
  TlsClient c(cert("ca.pem"));
  TlsResult none = c.get(srv.port(0), "c.test", "/");
  EXPECT_NE(none.curl_code, CURLE_OK) << "refused without a client certificate; status " << none.status;
  EXPECT_NE(none.status, 200);
  TlsOptions o;
  o.client_cert = cert("client.crt");
  o.client_key = cert("client.key");
  TlsResult with = c.get(srv.port(0), "c.test", "/", o);
  ASSERT_EQ(with.curl_code, CURLE_OK) << with.curl_error;
  EXPECT_EQ(with.status, 200);
  EXPECT_EQ(with.body, "site c\n");
  // mod_ssl's variables in the access log (%{VAR}x), and over plain HTTP.
  curl_get("http://127.0.0.1:" + std::to_string(srv.port(1)) + "/", {"Host: c.test"});
  // Two workers write the log: each line arrives when its own writer flushes.
  EXPECT_TRUE(eventually([&] {
    std::string l = tree_.read("ssl.log");
    return l.find("c.test off") != std::string::npos && l.find("c.test on ") != std::string::npos;
  })) << tree_.read("ssl.log");
  std::string lines = tree_.read("ssl.log");
  EXPECT_NE(lines.find("c.test on TLSv1.3 c.test SUCCESS [CN=client.test,O=client] [CN=Pillar Test CA]"),
            std::string::npos)
      << lines;
  EXPECT_NE(lines.find("c.test off - - - [-] [-]"), std::string::npos) << lines;
  // A certificate the CA did not sign is refused too (the server's own key pair).
  o.client_cert = cert("b.crt");
  o.client_key = cert("b.key");
  EXPECT_NE(c.get(srv.port(0), "c.test", "/", o).status, 200);
  // A session made on a.test (no client certificate) does not resume into
  // c.test: the vhost is chosen before the session is looked at.
  const std::string sess = tree_.path("a-session.pem");
  for (const char* v : {"-tls1_2", "-tls1_3"}) {
    std::string a = s_client(srv.port(0), v, "-sess_out " + sess);
    ASSERT_NE(a.find("site a"), std::string::npos) << a;
    std::string r = s_client(srv.port(0), v, "-sess_in " + sess, "c.test");
    EXPECT_EQ(r.find("Reused,"), std::string::npos) << v << ":\n" << r;
    EXPECT_EQ(r.find("site c"), std::string::npos) << v << ":\n" << r;
  }
}

TEST_F(Tls, SessionsResumeAcrossWorkersAndAGracefulReload) {
  START_SERVER(srv, config("StartServers 2\nServerLimit 2\nThreadsPerChild 20\nMinSpareThreads 1\nMaxSpareThreads 40\n"), 2);
  StatusMap st;
  ASSERT_TRUE(wait_status(srv.port(1), [](const StatusMap& m) { return status_num(m, "Processes") == 2; }, 5s, &st))
      << status_brief(st);
  const std::string sess = tree_.path("session.pem");
  int resumed = 0;
  for (const char* v : {"-tls1_2", "-tls1_3"}) {
    std::string first = s_client(srv.port(0), v, "-sess_out " + sess);
    ASSERT_NE(first.find("New, TLSv1."), std::string::npos) << first;
    ASSERT_NE(first.find("site a"), std::string::npos) << first;
    // Fresh connections, each accepted by whichever of the two workers wakes.
    for (int i = 0; i < 6; ++i) {
      std::string r = s_client(srv.port(0), v, "-sess_in " + sess);
      EXPECT_NE(r.find("Reused, TLSv1."), std::string::npos) << v << " connection " << i << ":\n" << r;
      EXPECT_NE(r.find("site a"), std::string::npos) << r;
      ++resumed;
    }
  }
  EXPECT_GE(metric(srv.port(1), "pillar_tls_resumed_total"), resumed);

  // A session from before a graceful reload resumes on the new generation
  // (the master keeps the ticket keys; new contexts install the same ones).
  std::string before = s_client(srv.port(0), "-tls1_3", "-sess_out " + sess);
  ASSERT_NE(before.find("New, TLSv1.3"), std::string::npos) << before;
  ASSERT_EQ(kill(srv.pid(), SIGUSR1), 0);
  ASSERT_TRUE(wait_status(srv.port(1),
                          [](const StatusMap& m) {
                            return status_num(m, "ParentServerMPMGeneration") == 1 && status_num(m, "Processes") == 2;
                          },
                          10s, &st))
      << status_brief(st);
  std::string after = s_client(srv.port(0), "-tls1_3", "-sess_in " + sess);
  EXPECT_NE(after.find("Reused, TLSv1.3"), std::string::npos) << "resumed after the reload:\n" << after;
}

// The first line of the last ticket dump in `text` (s_client's output or
// `openssl sess_id -text`): its first 16 bytes are the name of the server
// key that sealed the ticket ("" without a ticket).
std::string last_ticket_key_name(const std::string& text) {
  std::string name;
  std::regex re("TLS session ticket:\n *0000 - ([0-9a-f -]{47})");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it)
    name = (*it)[1].str();
  return name;
}

// The same for a saved session ("" when there is no such file).
std::string ticket_key_name(const std::string& session_file) {
  std::string out;
  if (!sh("openssl sess_id -in " + session_file + " -noout -text", &out)) return "";
  return last_ticket_key_name(out);
}

bool reused(const std::string& s_client_out) { return s_client_out.find("Reused, TLSv1.") != std::string::npos; }

// The ticket-key set's generation as `pillarctl tls` reports it (-1: no answer).
long long key_generation(const std::string& socket, const std::string& args = "") {
  std::smatch m;
  std::string out = pillarctl(socket, "tls " + args);
  if (!std::regex_search(out, m, std::regex("ticket_key_generation\"?: *([0-9]+)"))) return -1;
  return std::atoll(m[1].str().c_str());
}

// The worker pid of the access log's last line ("PID Initial|Resumed").
struct LogLine {
  long pid = 0;
  std::string resumed;
};
std::vector<LogLine> log_lines(const std::string& text) {
  std::vector<LogLine> lines;
  std::regex re("([0-9]+) (Initial|Resumed)\n");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it)
    lines.push_back({std::atol((*it)[1].str().c_str()), (*it)[2].str()});
  return lines;
}

class TlsTicketKeys : public Tls {
 protected:
  std::string sock() { return tree_.path("ctl.sock"); }
  std::string keys_config(const std::string& extra = "") {
    return config("StartServers 2\nServerLimit 2\nThreadsPerChild 20\nMinSpareThreads 1\nMaxSpareThreads 40\n"
                  "PillarControlSocket " + sock() + "\nCustomLog " + tree_.path("access.log") +
                  " \"%P %{SSL_SESSION_RESUMED}x\"\n" + extra);
  }
  // Waits for the access log's line number `n` (1-based) and returns it.
  LogLine nth_line(size_t n) {
    std::vector<LogLine> lines;
    eventually([&] { return (lines = log_lines(tree_.read("access.log"))).size() >= n; }, 5s);
    return lines.size() >= n ? lines[n - 1] : LogLine{};
  }
};

// A ticket issued after a rotation, by one worker, resumes on another one
// (both forked before the rotation: the keys are read from shared memory on
// each handshake, not inherited): the issuing worker is killed, so the
// resuming connection is certainly accepted by a different process.
TEST_F(TlsTicketKeys, ATicketResumesOnAnotherWorkerAfterARotation) {
  START_SERVER(srv, keys_config(), 2);
  StatusMap st;
  ASSERT_TRUE(wait_status(srv.port(1), [](const StatusMap& m) { return status_num(m, "Processes") == 2; }, 5s, &st))
      << status_brief(st);
  ASSERT_EQ(key_generation(sock()), 1);
  const std::string before = tree_.path("before.pem");
  ASSERT_FALSE(reused(s_client(srv.port(0), "-tls1_3", "-sess_out " + before)));
  ASSERT_EQ(key_generation(sock(), "rotate-ticket-keys"), 2);
  size_t line = 1;
  for (const char* v : {"-tls1_2", "-tls1_3"}) {
    const std::string sess = tree_.path(std::string("s") + v + ".pem");
    std::string first = s_client(srv.port(0), v, "-sess_out " + sess);
    ASSERT_NE(first.find("site a"), std::string::npos) << first;
    EXPECT_NE(ticket_key_name(sess), ticket_key_name(before)) << v << ": the worker seals with the rotated key";
    LogLine issued = nth_line(++line);
    ASSERT_EQ(issued.resumed, "Initial");
    ASSERT_GT(issued.pid, 1);
    ASSERT_EQ(kill(static_cast<pid_t>(issued.pid), SIGKILL), 0);
    std::string again = s_client(srv.port(0), v, "-sess_in " + sess);
    EXPECT_TRUE(reused(again)) << v << ":\n" << again;
    EXPECT_NE(again.find("site a"), std::string::npos) << again;
    LogLine resumed = nth_line(++line);
    EXPECT_EQ(resumed.resumed, "Resumed") << v;
    EXPECT_NE(resumed.pid, issued.pid) << v << ": the resuming connection is on another worker";
    ASSERT_TRUE(wait_status(srv.port(1), [](const StatusMap& m) { return status_num(m, "Processes") == 2; }, 5s, &st))
        << "the killed worker is replaced: " << status_brief(st);
  }
}

// After one rotation a ticket under the previous key still resumes and is
// renewed under the new key; after the next one (two periods) it is refused,
// while its renewed ticket resumes. Without a rotation no new ticket is sent.
TEST_F(TlsTicketKeys, APreviousKeyResumesAndRenewsAnOlderOneIsRefused) {
  START_SERVER(srv, keys_config(), 2);
  for (const char* v : {"-tls1_2", "-tls1_3"}) {
    SCOPED_TRACE(v);
    const std::string t = v;
    const std::string s0 = tree_.path("s0" + t), s0b = tree_.path("s0b" + t), s1 = tree_.path("s1" + t);
    std::string out = s_client(srv.port(0), v, "-sess_out " + s0);
    ASSERT_FALSE(reused(out)) << out;
    const std::string name0 = ticket_key_name(s0);
    ASSERT_FALSE(name0.empty()) << "a ticket was issued";
    // No rotation: resumed with the very ticket, no new one (s_client saves nothing).
    out = s_client(srv.port(0), v, "-sess_in " + s0 + " -sess_out " + s0b);
    EXPECT_TRUE(reused(out)) << out;
    std::string seen = last_ticket_key_name(out);
    EXPECT_TRUE(seen.empty() || seen == name0) << seen << " vs " << name0;
    EXPECT_EQ(ticket_key_name(s0b), "") << "no ticket renewed without a rotation";
    // One rotation: the previous key opens it, and a new ticket comes sealed with the new key.
    long long g = key_generation(sock());
    ASSERT_EQ(key_generation(sock(), "rotate-ticket-keys"), g + 1);
    out = s_client(srv.port(0), v, "-sess_in " + s0 + " -sess_out " + s1);
    EXPECT_TRUE(reused(out)) << "a ticket under the previous key resumes:\n" << out;
    const std::string renewed = last_ticket_key_name(out);
    EXPECT_FALSE(renewed.empty()) << "a new ticket was sent:\n" << out;
    EXPECT_NE(renewed, name0) << "renewed under the new key";
    // A second rotation: the first key is gone (older than two periods).
    ASSERT_EQ(key_generation(sock(), "rotate-ticket-keys"), g + 2);
    out = s_client(srv.port(0), v, "-sess_in " + s0);
    EXPECT_FALSE(reused(out)) << "a ticket two rotations old is refused:\n" << out;
    EXPECT_NE(out.find("site a"), std::string::npos) << "with a full handshake instead:\n" << out;
    // s_client saves a renewed ticket of a resumed session in TLS 1.3 only.
    if (t == "-tls1_3") {
      EXPECT_EQ(ticket_key_name(s1), renewed);
      out = s_client(srv.port(0), v, "-sess_in " + s1);
      EXPECT_TRUE(reused(out)) << "the renewed ticket resumes:\n" << out;
    }
  }
}

// A graceful reload keeps the key set (same generation, same keys): a
// ticket from before it resumes on the new generation's workers, also after
// a rotation made before the reload.
TEST_F(TlsTicketKeys, AGracefulReloadKeepsTheRotatedKeys) {
  START_SERVER(srv, keys_config(), 2);
  const std::string s0 = tree_.path("s0.pem"), s1 = tree_.path("s1.pem");
  ASSERT_FALSE(reused(s_client(srv.port(0), "-tls1_3", "-sess_out " + s0)));
  ASSERT_EQ(key_generation(sock(), "rotate-ticket-keys"), 2);
  ASSERT_FALSE(reused(s_client(srv.port(0), "-tls1_3", "-sess_out " + s1)));
  ASSERT_NE(ticket_key_name(s1), ticket_key_name(s0)) << "the running workers seal with the rotated key";
  ASSERT_EQ(kill(srv.pid(), SIGUSR1), 0);
  StatusMap st;
  ASSERT_TRUE(wait_status(srv.port(1),
                          [](const StatusMap& m) {
                            return status_num(m, "ParentServerMPMGeneration") == 1 && status_num(m, "Processes") == 2;
                          },
                          10s, &st))
      << status_brief(st);
  EXPECT_EQ(key_generation(sock()), 2) << "the reload made no new keys";
  std::string out = s_client(srv.port(0), "-tls1_3", "-sess_in " + s1);
  EXPECT_TRUE(reused(out)) << "current key, after the reload:\n" << out;
  out = s_client(srv.port(0), "-tls1_3", "-sess_in " + s0);
  EXPECT_TRUE(reused(out)) << "previous key, after the reload:\n" << out;
}

// PillarTLSTicketKeyRotation 1: the master rotates every second, so a
// ticket stops resuming once its key is two periods old.
TEST_F(TlsTicketKeys, KeysRotateOnTheScheduleAndExpire) {
  START_SERVER(srv, keys_config("PillarTLSTicketKeyRotation 1\nLogLevel notice\n"), 2);
  const std::string s0 = tree_.path("s0.pem");
  ASSERT_FALSE(reused(s_client(srv.port(0), "-tls1_3", "-sess_out " + s0)));
  long long g0 = key_generation(sock());
  ASSERT_GE(g0, 1);
  EXPECT_TRUE(eventually([&] { return key_generation(sock()) >= g0 + 3; }, 10s)) << "rotated by the master's timer";
  std::string out = s_client(srv.port(0), "-tls1_3", "-sess_in " + s0);
  EXPECT_FALSE(reused(out)) << "three rotations later the ticket is refused:\n" << out;
  EXPECT_NE(out.find("site a"), std::string::npos) << out;
  EXPECT_NE(srv.stderr_text().find("session-ticket key rotated (generation"), std::string::npos) << srv.stderr_text();
}

// A master that stops rotating (SIGSTOP) cannot stretch a ticket's life:
// the workers refuse a key older than two periods on their own, while full
// handshakes go on.
TEST_F(TlsTicketKeys, AStalledMasterCannotStretchATicketsLifetime) {
  START_SERVER(srv, keys_config("PillarTLSTicketKeyRotation 1\n"), 2);
  struct Continue {
    pid_t pid;
    ~Continue() { kill(pid, SIGCONT); }
  } cont{srv.pid()};
  StatusMap st;
  ASSERT_TRUE(wait_status(srv.port(1), [](const StatusMap& m) { return status_num(m, "Processes") == 2; }, 5s, &st))
      << "the workers are up before the master stops: " << status_brief(st);
  const std::string s0 = tree_.path("s0.pem");
  ASSERT_EQ(kill(srv.pid(), SIGSTOP), 0);
  ASSERT_FALSE(reused(s_client(srv.port(0), "-tls1_2", "-sess_out " + s0)));
  std::string out;
  EXPECT_TRUE(eventually([&] { return !reused(out = s_client(srv.port(0), "-tls1_2", "-sess_in " + s0)); }, 8s))
      << "still resumed with the master stopped:\n" << out;
  EXPECT_NE(out.find("site a"), std::string::npos) << "a full handshake instead:\n" << out;
}

// The master stopped half-way through writing a rotation (fault point):
// workers still read the whole previous key set, resume its tickets and
// issue new ones; once it continues, the rotation completes.
TEST_F(TlsTicketKeys, AMasterStoppedMidRotationLeavesWorkersAWholeKeySet) {
  START_SERVER(srv, keys_config(), 2,
               {"PILLAR_FAULT_POINT=tls-ticket-key-rotation", "PILLAR_FAULT_ACTION=stop"});
  struct Continue {
    pid_t pid;
    ~Continue() { kill(pid, SIGCONT); }
  } cont{srv.pid()};
  const std::string s0 = tree_.path("s0.pem"), s1 = tree_.path("s1.pem");
  ASSERT_FALSE(reused(s_client(srv.port(0), "-tls1_2", "-sess_out " + s0)));
  ASSERT_EQ(key_generation(sock()), 1);
  // The rotation stops the master mid-write; pillarctl waits in the background.
  std::string b = PILLAR_BINARY;
  ASSERT_TRUE(sh("(timeout 20 " + b.substr(0, b.rfind('/') + 1) + "pillarctl -s " + sock() +
                 " tls rotate-ticket-keys >/dev/null 2>&1 &)"));
  auto master_state = [&] {
    std::string stat;
    sh("cat /proc/" + std::to_string(srv.pid()) + "/stat", &stat);
    size_t p = stat.rfind(')');
    return p == std::string::npos || p + 2 >= stat.size() ? '?' : stat[p + 2];
  };
  ASSERT_TRUE(eventually([&] { return master_state() == 'T'; }, 5s)) << "stopped at the fault point";
  for (int i = 0; i < 4; ++i) {
    std::string out = s_client(srv.port(0), "-tls1_2", "-sess_in " + s0);
    EXPECT_TRUE(reused(out)) << "connection " << i << ", master stopped mid-rotation:\n" << out;
  }
  std::string fresh = s_client(srv.port(0), "-tls1_2", "-sess_out " + s1);
  EXPECT_FALSE(reused(fresh));
  EXPECT_NE(fresh.find("site a"), std::string::npos) << fresh;
  EXPECT_TRUE(reused(s_client(srv.port(0), "-tls1_2", "-sess_in " + s1))) << "a ticket issued meanwhile resumes";
  ASSERT_EQ(kill(srv.pid(), SIGCONT), 0);
  EXPECT_TRUE(eventually([&] { return key_generation(sock()) == 2; }, 10s)) << "the rotation completes";
  std::string out = s_client(srv.port(0), "-tls1_2", "-sess_in " + s0);
  EXPECT_TRUE(reused(out)) << "under the previous key after the rotation:\n" << out;
}

TEST_F(Tls, PlainHttpOnTheTlsPortIsAnsweredAndClosed) {
  START_SERVER(srv, config(), 2);
  RawExchange ex = raw_get(srv.port(0), "/", "a.test");
  ASSERT_EQ(ex.responses.size(), 1u) << ex.data;
  EXPECT_EQ(ex.first().status, 400);
  EXPECT_NE(ex.first().body.find("HTTPS"), std::string::npos);
  EXPECT_TRUE(ex.close == CloseKind::Eof || ex.close == CloseKind::Reset) << to_string(ex.close);
  TlsClient c(cert("ca.pem"));
  EXPECT_EQ(c.get(srv.port(0), "a.test", "/").status, 200) << "still serving";
  EXPECT_GE(metric(srv.port(1), "pillar_tls_failures_total"), 1);
}

TEST_F(Tls, MalformedClientHelloClosesCleanly) {
  START_SERVER(srv, config(), 2);
  long long before = metric(srv.port(1), "pillar_tls_failures_total");
  ASSERT_GE(before, 0);
  RawConnection raw(srv.port(0));
  ASSERT_TRUE(raw.connected());
  // A handshake record whose ClientHello is nonsense.
  ASSERT_TRUE(raw.send(std::string("\x16\x03\x01\x00\x10\x01\x00\x00\x0c", 9) + std::string(12, '\xff')));
  std::string extra;
  EXPECT_TRUE(raw.wait_closed(3s, &extra)) << to_string(raw.close_kind());
  EXPECT_TRUE(eventually([&] { return metric(srv.port(1), "pillar_tls_failures_total") == before + 1; }))
      << metric(srv.port(1), "pillar_tls_failures_total");
  TlsClient c(cert("ca.pem"));
  EXPECT_EQ(c.get(srv.port(0), "a.test", "/").status, 200) << "still serving";
}

TEST_F(Tls, ClientStoppingMidHandshakeIsTimedOut) {
  START_SERVER(srv, config("RequestReadTimeout header=1\n"), 2);
  RawConnection raw(srv.port(0));
  ASSERT_TRUE(raw.connected());
  // The first bytes of a ClientHello record, then nothing.
  ASSERT_TRUE(raw.send(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11)));
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(raw.wait_closed(4s)) << to_string(raw.close_kind());
  auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, 700ms) << "closed by the header timeout, not at once";
  EXPECT_TRUE(eventually([&] { return metric(srv.port(1), "pillar_tls_failures_total") >= 1; }));
}

TEST_F(Tls, ProxiedRequestsSayHttps) {
  Backend be("m");
  START_SERVER(srv, config("ProxyPass /app/ " + be.url() + "/\n"), 2);
  TlsClient c(cert("ca.pem"));
  TlsResult r = c.get(srv.port(0), "a.test", "/app/x");
  ASSERT_EQ(r.curl_code, CURLE_OK) << r.curl_error;
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("header X-Forwarded-Proto: https\n"), std::string::npos) << r.body;
  CurlResult plain = curl_get("http://127.0.0.1:" + std::to_string(srv.port(1)) + "/app/x", {"Host: a.test"});
  EXPECT_NE(plain.body.find("header X-Forwarded-Proto: http\n"), std::string::npos) << plain.body;
}

// mod_rewrite sees the request's scheme: %{HTTPS} is "on" over TLS and a
// redirect's absolute URL is https:// there (and http:// over plain HTTP).
TEST_F(Tls, RewriteSeesHttpsAndRedirectsToIt) {
  START_SERVER(srv, config("", "  RewriteEngine On\n  RewriteCond %{HTTPS} on\n  RewriteRule ^/old$ /new [R=301,L]\n"
                               "  RewriteRule ^/plain$ /elsewhere [R=302,L]\n"), 2);
  TlsClient c(cert("ca.pem"));
  TlsResult r = c.get(srv.port(0), "a.test", "/old");
  ASSERT_EQ(r.curl_code, CURLE_OK) << r.curl_error;
  EXPECT_EQ(r.status, 301) << r.headers;
  EXPECT_NE(r.headers.find("Location: https://a.test:" + std::to_string(srv.port(0)) + "/new\r\n"), std::string::npos)
      << r.headers;
  // The condition holds only over TLS; the scheme follows the connection.
  CurlResult plain = curl_get("http://127.0.0.1:" + std::to_string(srv.port(1)) + "/old", {"Host: a.test"});
  EXPECT_EQ(plain.status, 404);
  CurlResult other = curl_get("http://127.0.0.1:" + std::to_string(srv.port(1)) + "/plain", {"Host: a.test"});
  EXPECT_EQ(other.status, 302);
  EXPECT_EQ(other.header("Location"), "http://a.test/elsewhere");
}

// Large bodies both ways go through the record layer in pieces (partial
// writes, reads that wait): a static file copied through the output (no
// sendfile over TLS), a proxied download and upload, on one kept-alive
// connection.
TEST_F(Tls, LargeBodiesBothWaysOnOneConnection) {
  Backend be("m");
  std::string big = pattern_bytes(3 << 20, 7);
  tree_.write("a/big.bin", big);
  START_SERVER(srv, config("ProxyPass /app/ " + be.url() + "/\n"), 2);
  TlsClient c(cert("ca.pem"));
  TlsResult r = c.get(srv.port(0), "a.test", "/big.bin");
  ASSERT_EQ(r.curl_code, CURLE_OK) << r.curl_error;
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body == big) << "static body differs: " << r.body.size() << " bytes";
  TlsResult d = c.get(srv.port(0), "a.test", "/app/big-2000000");
  ASSERT_EQ(d.curl_code, CURLE_OK) << d.curl_error;
  EXPECT_TRUE(d.body == pattern_bytes(2000000)) << "proxied body differs: " << d.body.size() << " bytes";
  TlsOptions up;
  up.post_body = pattern_bytes(1 << 20, 3);
  TlsResult u = c.get(srv.port(0), "a.test", "/app/mirror", up);
  ASSERT_EQ(u.curl_code, CURLE_OK) << u.curl_error;
  EXPECT_EQ(u.status, 200);
  EXPECT_TRUE(u.body == up.post_body) << "mirrored body differs: " << u.body.size() << " bytes";
  EXPECT_FALSE(u.resumed) << "the same connection all along (no new handshake)";
  EXPECT_EQ(metric(srv.port(1), "pillar_tls_handshakes_total"), 1);
  EXPECT_EQ(metric(srv.port(1), "pillar_sendfile_bytes_total"), 0) << "no sendfile through TLS";
}

// An `openssl ocsp` responder for the test CA on an ephemeral port, knowing
// every test leaf as good; stopped with the object.
class OcspResponder {
 public:
  OcspResponder(TempTree& dir, const std::string& certs_dir) {
    std::string index;
    for (const char* leaf : {"a-rsa", "a-ec", "b", "c"}) {
      std::string serial;
      sh("openssl x509 -in " + certs_dir + "/" + leaf + ".crt -noout -serial", &serial);
      serial = serial.substr(serial.find('=') + 1);
      serial.erase(serial.find_last_not_of("\r\n") + 1);
      index += "V\t301231235959Z\t\t" + serial + "\tunknown\t/CN=" + leaf + "\n";
    }
    std::string idx = dir.write("ocsp-index.txt", index);
    int probe = listen_loopback(port_, 1);
    if (probe >= 0) ::close(probe);  // a free port for the responder (it binds it itself)
    pipe_ = popen(("echo $$; exec openssl ocsp -index " + idx + " -port " + std::to_string(port_) + " -rsigner " +
                   certs_dir + "/ca.pem -rkey " + certs_dir + "/ca.key -CA " + certs_dir +
                   "/ca.pem -ignore_err 2>&1").c_str(),
                  "r");
    if (!pipe_) return;
    // Ready once it says so (a probe connection would upset it).
    std::string seen;
    auto deadline = std::chrono::steady_clock::now() + 5s;
    int fd = fileno(pipe_);
    while (seen.find("waiting for OCSP client connections") == std::string::npos &&
           std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[512];
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      seen.append(buf, static_cast<size_t>(n));
    }
    pid_ = std::atoi(seen.c_str());
    ready_ = pid_ > 0 && seen.find("waiting for OCSP client connections") != std::string::npos;
    log_ = seen;
  }
  ~OcspResponder() {
    if (pid_ > 0) ::kill(pid_, SIGTERM);
    if (pipe_) pclose(pipe_);
  }
  bool ready() const { return ready_; }
  const std::string& log() const { return log_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/"; }

 private:
  uint16_t port_ = 0;
  FILE* pipe_ = nullptr;
  pid_t pid_ = -1;
  bool ready_ = false;
  std::string log_;
};

TEST_F(Tls, OcspStaplingSeenByTheClient) {
  OcspResponder ocsp(tree_, certs_->root());
  ASSERT_TRUE(ocsp.ready()) << ocsp.log();
  START_SERVER(srv, config("SSLStaplingCache shmcb:" + tree_.path("stapling") + "(32768)\n",
                           "  SSLUseStapling on\n  SSLStaplingForceURL " + ocsp.url() + "\n  SSLCertificateChainFile " +
                               cert("ca.pem") + "\n"),
               2);
  std::string out;
  sh("timeout 5 openssl s_client -status -servername b.test -connect 127.0.0.1:" + std::to_string(srv.port(0)) +
         " </dev/null",
     &out);
  EXPECT_NE(out.find("OCSP Response Status: successful"), std::string::npos) << out;
  EXPECT_NE(out.find("Cert Status: good"), std::string::npos) << out;
  EXPECT_EQ(srv.stderr_text().find("OCSP stapling for"), std::string::npos) << srv.stderr_text();

  // Without SSLUseStapling nothing is stapled.
  START_SERVER(plain, config(), 2);
  sh("timeout 5 openssl s_client -status -servername b.test -connect 127.0.0.1:" + std::to_string(plain.port(0)) +
         " </dev/null",
     &out);
  EXPECT_NE(out.find("OCSP response: no response sent"), std::string::npos) << out;
}

TEST_F(Tls, StaplingNeedsACache) {
  RunResult r = check_config("Listen 127.0.0.1:0 https\nServerName localhost\nSSLEngine on\nSSLCertificateFile " +
                             cert("b.crt") + "\nSSLCertificateKeyFile " + cert("b.key") + "\nSSLUseStapling on\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(":6: SSLUseStapling on needs SSLStaplingCache"), std::string::npos) << r.err;
}

TEST_F(Tls, ConfigCheckNamesTheLine) {
  std::string path;
  std::string base = "Listen 127.0.0.1:0 https\nServerName localhost\nDocumentRoot \"" + tree_.root() + "\"\n";
  RunResult r = check_config(base + "SSLEngine on\nSSLCertificateFile " + cert("a-ec.crt") + "\nSSLCertificateKeyFile " +
                                 cert("b.key") + "\n",
                             &path);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(path + ":6: SSLCertificateKeyFile: the key in"), std::string::npos) << r.err;
  r = check_config(base + "SSLEngine on\nSSLCertificateFile /nonexistent.crt\n", &path);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(path + ":5: SSLCertificateFile: cannot read /nonexistent.crt"), std::string::npos) << r.err;
  r = check_config(base + "SSLEngine on\n", &path);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(path + ":4: SSLEngine on for localhost but no SSLCertificateFile"), std::string::npos)
      << r.err;
  // An encrypted key is refused at once (never a passphrase prompt).
  std::string enc = tree_.path("enc.key"), out;
  ASSERT_TRUE(sh("openssl pkey -in " + cert("b.key") + " -aes256 -passout pass:secret -out " + enc, &out)) << out;
  r = check_config(base + "SSLEngine on\nSSLCertificateFile " + cert("b.crt") + "\nSSLCertificateKeyFile " + enc + "\n",
                   &path);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(path + ":6: SSLCertificateKeyFile: no unencrypted PEM private key"), std::string::npos) << r.err;
  r = check_config(base, &path);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(path + ":1: Listen 127.0.0.1:0 is https but no virtual host"), std::string::npos) << r.err;
  r = check_config(base + "SSLEngine on\nSSLCertificateFile " + cert("a-ec.crt") + "\nSSLCertificateKeyFile " +
                   cert("a-ec.key") + "\nSSLProtocol -all +TLSv1.3\nSSLCipherSuite TLSv1.3 TLS_AES_256_GCM_SHA384\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Syntax OK"), std::string::npos);
}

}  // namespace
}  // namespace itest
