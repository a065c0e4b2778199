// OCSP stapling (mod_ssl's SSLUseStapling): the master asks the certificate's
// OCSP responder for its status when it loads the configuration (before it
// forks, at start and at each graceful reload), checks the answer (signed
// by the issuer or a responder it delegated to, current, for this
// certificate) and keeps its DER; the status callback then staples it to
// every handshake that asks (status_request). Not refreshed between
// reloads yet: a response past its nextUpdate is still sent.
#pragma once
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <chrono>
#include <string>

namespace pillar::tls {

// The responder URL: `force_url` if set, else the certificate's first
// Authority Information Access OCSP URI; empty when there is none.
std::string ocsp_url(X509* cert, const std::string& force_url);

// POSTs an OCSP request for `cert` (issued by `issuer`) to the http:// `url`
// within `timeout` and checks the response. True with its DER in `der`;
// false with `why`. `revoked` says the responder answered "revoked" (the
// response is still good to staple: clients must learn it).
bool fetch_ocsp_response(X509* cert, X509* issuer, const std::string& url, std::chrono::milliseconds timeout,
                         std::string& der, bool& revoked, std::string& why);

// The status callback: staples the response kept for the certificate the
// handshake uses (arg: the ServerContext).
int ocsp_status_callback(SSL* ssl, void* arg);

}  // namespace pillar::tls
