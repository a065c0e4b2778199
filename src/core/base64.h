// Base64 (RFC 4648 §4, the standard alphabet with '=' padding): HTTP Basic
// credentials and htpasswd's {SHA} passwords.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace pillar::core {

std::string base64_encode(std::string_view bytes);
// The bytes, or nullopt for anything that is not canonical padded base64
// (a character outside the alphabet, a bad length or padding).
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace pillar::core
