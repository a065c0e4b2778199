// ContextSet::build: what `pillar -t` reports for the SSL files, with the
// directive's file:line, and the sharing of one context by equal settings.
#include "tls/server_context.h"

#include <gtest/gtest.h>

#include "test_certs.h"

namespace pillar::tls {
namespace {

using namespace testing;

struct Built {
  std::unique_ptr<ContextSet> set;
  std::vector<config::ConfigError> errors;
  std::vector<std::string> warnings;
  std::string first_error() const { return errors.empty() ? "" : errors[0].to_string(); }
};

class ContextSetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ec_ = make_key(false);
    other_ = make_key(false);
    X509* c = make_cert(ec_, "a.test", 30, nullptr, nullptr, false);
    write_pem(dir_.path("a.crt"), c, nullptr);
    write_pem(dir_.path("a.key"), nullptr, ec_);
    write_pem(dir_.path("other.key"), nullptr, other_);
    X509_free(c);
    X509* soon = make_cert(ec_, "soon.test", 3, nullptr, nullptr, false);
    write_pem(dir_.path("soon.crt"), soon, nullptr);
    X509_free(soon);
    config::ListenAddress l;  // an https listener the vhosts (any address) serve
    l.text = "0";
    l.https = true;
    l.where = {"t.conf", 1};
    cfg_.listens.push_back(l);
  }
  void TearDown() override {
    EVP_PKEY_free(ec_);
    EVP_PKEY_free(other_);
  }
  config::VirtualHost& vhost(const std::string& crt, const std::string& key) {
    cfg_.vhosts.emplace_back();
    auto& vh = cfg_.vhosts.back();
    vh.server_name = "v" + std::to_string(cfg_.vhosts.size()) + ".test";
    vh.addresses.emplace_back();  // <VirtualHost *>
    vh.ssl.engine = true;
    vh.ssl.engine_where = {"t.conf", 10};
    if (!crt.empty()) vh.ssl.certs.push_back({dir_.path(crt), {"t.conf", 11}});
    if (!key.empty()) vh.ssl.keys.push_back({dir_.path(key), {"t.conf", 12}});
    return vh;
  }
  Built build() {
    Built b;
    b.set = ContextSet::build(cfg_, b.errors, b.warnings);
    return b;
  }
  TempDir dir_;
  EVP_PKEY* ec_ = nullptr;
  EVP_PKEY* other_ = nullptr;
  config::ServerConfig cfg_;
};

TEST_F(ContextSetTest, AGoodPairBuilds) {
  vhost("a.crt", "a.key");
  Built b = build();
  ASSERT_TRUE(b.set) << b.first_error();
  EXPECT_EQ(b.set->for_vhost(-1), nullptr) << "the main server has SSLEngine off";
  ASSERT_NE(b.set->for_vhost(0), nullptr);
  EXPECT_TRUE(b.warnings.empty());
}

TEST_F(ContextSetTest, KeyThatDoesNotMatchIsAnErrorAtTheKeyLine) {
  vhost("a.crt", "other.key");
  Built b = build();
  EXPECT_FALSE(b.set);
  EXPECT_NE(b.first_error().find("t.conf:12: "), std::string::npos) << b.first_error();
  EXPECT_NE(b.first_error().find("does not match the certificate"), std::string::npos) << b.first_error();
}

TEST_F(ContextSetTest, MissingCertificateIsAnErrorAtItsLine) {
  vhost("nope.crt", "a.key");
  Built b = build();
  EXPECT_FALSE(b.set);
  EXPECT_NE(b.first_error().find("t.conf:11: SSLCertificateFile: cannot read"), std::string::npos) << b.first_error();
}

TEST_F(ContextSetTest, EngineOnWithoutCertificate) {
  vhost("", "");
  Built b = build();
  EXPECT_FALSE(b.set);
  EXPECT_NE(b.first_error().find("t.conf:10: SSLEngine on for v1.test but no SSLCertificateFile"), std::string::npos)
      << b.first_error();
}

TEST_F(ContextSetTest, CertificateExpiringSoonIsAWarning) {
  vhost("soon.crt", "a.key");
  Built b = build();
  ASSERT_TRUE(b.set) << b.first_error();
  ASSERT_EQ(b.warnings.size(), 1u);
  EXPECT_NE(b.warnings[0].find("t.conf:11: warning: the certificate in"), std::string::npos) << b.warnings[0];
  // Made valid for 3 days: 3, or 2 once a second has passed.
  EXPECT_TRUE(b.warnings[0].find("expires in 3 day(s)") != std::string::npos ||
              b.warnings[0].find("expires in 2 day(s)") != std::string::npos)
      << b.warnings[0];
}

TEST_F(ContextSetTest, BadCipherStringIsAnError) {
  auto& vh = vhost("a.crt", "a.key");
  vh.ssl.ciphers = "NOSUCHCIPHER";
  vh.ssl.ciphers_where = {"t.conf", 13};
  Built b = build();
  EXPECT_FALSE(b.set);
  EXPECT_NE(b.first_error().find("t.conf:13: SSLCipherSuite: no usable cipher"), std::string::npos) << b.first_error();
}

TEST_F(ContextSetTest, EqualSettingsShareOneContext) {
  vhost("a.crt", "a.key");
  vhost("a.crt", "a.key");
  vhost("a.crt", "a.key").ssl.strict_sni = true;
  Built b = build();
  ASSERT_TRUE(b.set) << b.first_error();
  EXPECT_EQ(b.set->for_vhost(0), b.set->for_vhost(1));
  EXPECT_NE(b.set->for_vhost(0), b.set->for_vhost(2));
}

TEST_F(ContextSetTest, HttpsListenWithoutSslVhostIsAnError) {
  cfg_.listens[0].text = "8443";
  cfg_.listens[0].port = 8443;
  Built b = build();
  EXPECT_FALSE(b.set);
  EXPECT_NE(b.first_error().find("t.conf:1: Listen 8443 is https but no virtual host"), std::string::npos)
      << b.first_error();
}

}  // namespace
}  // namespace pillar::tls
