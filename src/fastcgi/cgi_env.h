// The CGI/1.1 environment (RFC 3875) as Apache's ap_add_common_vars and
// ap_add_cgi_vars build it, for FastCGI's PARAMS now and CGI scripts later.
//
// - SCRIPT_NAME is the URL path of the script, PATH_INFO what follows it
//   (unset when empty), PATH_TRANSLATED the document root + PATH_INFO.
// - HTTP_* for each request field: upper-cased, '-' as '_'; fields whose
//   name holds anything but letters, digits and '-' are dropped (Apache 2.4:
//   "X_Forwarded" must not pass for "X-Forwarded"), as is Proxy (httpoxy,
//   CVE-2016-5385) and Authorization (unless CGIPassAuth On); repeated fields
//   are joined with ", ". Content-Type/-Length become CONTENT_TYPE/_LENGTH.
// - ProxyFCGIBackendType FPM (the default): SCRIPT_FILENAME keeps the
//   "proxy:fcgi://HOST" prefix Apache sends, which PHP-FPM strips and takes
//   as the sign that Apache is in front; GENERIC: the plain file name.
// - The request's environment (SetEnv, SetEnvIf, RewriteRule E=, ...)
//   passes as Apache passes r->subprocess_env: every variable whose name
//   the variables above do not already use, so that a rule's
//   [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}] reaches PHP; never
//   PHP_VALUE or PHP_ADMIN_VALUE, which php_value/php_admin_value own.
//   SERVER_SIGNATURE is the ServerSignature line ("" with ServerSignature Off).
// - ProxyFCGISetEnvIf: applied last, in order, over the built variables.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/model.h"
#include "http/request.h"

namespace pillar::fastcgi {

using CgiEnv = std::vector<std::pair<std::string, std::string>>;

struct CgiRequest {
  std::string_view method;
  std::string_view request_uri;      // the request-target as received (path and query, still encoded)
  std::string_view query;
  std::string_view script_name;      // decoded URL path of the script
  std::string_view path_info;        // decoded; empty: unset
  std::string_view script_filename;  // the file (or, for ProxyPassMatch, the target path)
  std::string_view document_root;
  std::string_view fcgi_prefix;      // "proxy:fcgi://localhost" (FPM form of SCRIPT_FILENAME); empty: none
  std::string_view server_name;
  std::string_view server_addr;
  uint16_t server_port = 0;
  std::string_view remote_addr;      // after RemoteIP
  uint16_t remote_port = 0;
  std::string_view server_software = "Pillar";
  uint8_t version_major = 1, version_minor = 1;
  bool https = false;
  std::span<const http::HeaderField> fields;
  bool has_content_length = false;
  uint64_t content_length = 0;
  config::FcgiBackendType backend = config::FcgiBackendType::Fpm;
  bool pass_auth = false;  // CGIPassAuth On
  std::string_view remote_user;  // REMOTE_USER and AUTH_TYPE=Basic when Basic authentication found a user
  std::span<const config::FcgiSetEnv> set_env;
  std::span<const std::pair<std::string, std::string>> request_env;  // the request's environment variables
  std::string_view server_signature;
};

void build_cgi_env(const CgiRequest& r, CgiEnv& env);
// "HTTP_" + the CGI form of a field name; false for a name CGI drops.
bool cgi_field_name(std::string_view field, std::string& out);
// The value of `name` in env, or null.
const std::string* env_find(const CgiEnv& env, std::string_view name);

}  // namespace pillar::fastcgi
