// Test certificates made with the OpenSSL API into a temporary directory:
// a self-signed CA and leaf certificates (EC P-256 or RSA 2048) it signs.
#pragma once
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

namespace pillar::tls::testing {

inline EVP_PKEY* make_key(bool rsa) { return rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256"); }

// A certificate for `cn` (also its DNS SAN), valid for `days`, signed by
// (issuer, issuer_key), or self-signed when issuer is null.
inline X509* make_cert(EVP_PKEY* key, const std::string& cn, long days, X509* issuer, EVP_PKEY* issuer_key, bool ca) {
  X509* x = X509_new();
  X509_set_version(x, 2);
  static long serial = 1;
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), days * 86400);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
  X509V3_CTX v3;
  X509V3_set_ctx(&v3, issuer ? issuer : x, x, nullptr, nullptr, 0);
  auto ext = [&](int nid, const char* value) {
    X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
  };
  if (ca) {
    ext(NID_basic_constraints, "critical,CA:TRUE");
    ext(NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    ext(NID_basic_constraints, "CA:FALSE");
    ext(NID_subject_alt_name, ("DNS:" + cn).c_str());
  }
  X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256());
  return x;
}

inline void write_pem(const std::string& path, X509* cert, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (cert) PEM_write_X509(f, cert);
  if (key) PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/pillar-tls-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
};

}  // namespace pillar::tls::testing
