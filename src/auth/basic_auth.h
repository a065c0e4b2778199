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
  Verify,       // lookup_password: the password must be checked against `hash` (verify_password)
};
Authn check_password(const std::string& user_file, const BasicCredentials& c, uint64_t now_ms, std::string& error);

// check_password in two steps, for a caller that runs a slow verification
// (bcrypt) away from its event loop: lookup_password answers from the file
// and the remembered pairs, or Verify with the user's hash (copied) and the
// file's reading; after verify_password said yes, remember_password (on
// the thread that will look it up again) makes the next lookup Granted.
struct PasswordLookup {
  std::string hash;
  uint64_t generation = 0;
};
Authn lookup_password(const std::string& user_file, const BasicCredentials& c, uint64_t now_ms, std::string& error,
                      PasswordLookup& out);
void remember_password(const std::string& user_file, const BasicCredentials& c, uint64_t generation);
// A hash whose check costs milliseconds or more by design (bcrypt,
// SHA-crypt's rounds): worth verifying off the event loop.
bool slow_hash(std::string_view hash);

}  // namespace pillar::auth
