// HTTP Basic authentication (RFC 7617) against an AuthUserFile, as
// mod_auth_basic with mod_authn_file: the Authorization field's
// credentials, the user's hash from the file, the password checked
// (password_hash.h). Verified pairs are remembered per thread (keyed by an
// HMAC of the password under a per-process key, never the password) until
// the file is read again, so bcrypt's deliberate slowness is paid once per
// user and password, not per request.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace pillar::auth {

struct BasicCredentials {
  std::string user, password;
};

// "Basic BASE64(user:password)" (the scheme case-insensitive); false when
// the field is not Basic credentials or does not decode.
bool parse_basic(std::string_view authorization, BasicCredentials& out);

enum class Authn : uint8_t {
  Granted,      // the password is the user's
  UnknownUser,  // no such user in the file
  Mismatch,     // wrong password (or one Apache does not take here: plain text)
  FileError,    // the file cannot be read (`error` says why): the request is answered 500
};
Authn check_password(const std::string& user_file, const BasicCredentials& c, uint64_t now_ms, std::string& error);

}  // namespace pillar::auth
