// Apache's "$apr1$" password hash: the MD5-based crypt of FreeBSD
// (Poul-Henning Kamp's algorithm) with "$apr1$" as its magic string,
// written here over OpenSSL's MD5 (APR has it, Pillar does not link APR).
#pragma once
#include <string>
#include <string_view>

namespace pillar::auth {

// "$apr1$SALT$HASH" for `password` and `salt` (at most 8 characters are
// used; the salt ends at a '$').
std::string apr1_md5(std::string_view password, std::string_view salt);

}  // namespace pillar::auth
