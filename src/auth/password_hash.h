// Checking a password against an htpasswd entry, as Apache's
// apr_password_validate does on a Unix system:
//   $apr1$...   Apache's MD5 (apr1_md5.h), htpasswd -m, the default
//   {SHA}...    base64 of SHA-1, htpasswd -s
//   $2y$ $2b$ $2a$  bcrypt, htpasswd -B; $1$ $5$ $6$ and 13-character DES
//               (htpasswd -d): the system's crypt (libxcrypt's crypt_r)
//   anything else is a plain-text password, which Apache accepts only on
//   Windows and NetWare: refused here (it never matches).
// Comparisons of computed hashes take constant time.
#pragma once
#include <string_view>

namespace pillar::auth {

enum class HashFormat : unsigned char { Apr1, Sha1, Bcrypt, Crypt, Plain };

HashFormat hash_format(std::string_view hash);
const char* hash_format_name(HashFormat f);
// Whether `password` is the one `hash` was made from. bcrypt is slow by
// design (a few ms at htpasswd's cost 5): callers cache verified pairs.
bool verify_password(std::string_view password, std::string_view hash);

}  // namespace pillar::auth
