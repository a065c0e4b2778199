// Argument parsers for directive values. Each returns false and sets `why`
// to a message that says what a right value looks like.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "config/model.h"

namespace pillar::config {

bool parse_on_off(std::string_view s, bool& out, std::string& why);
bool parse_uint(std::string_view s, uint64_t min, uint64_t max, uint64_t& out, std::string& why);
// "30" (seconds by default) or with a unit: ms, s, m, h.
bool parse_duration(std::string_view s, Millis& out, std::string& why);
// "1048576" or with a unit: K, M, G (powers of 1024), optional trailing B.
bool parse_size(std::string_view s, uint64_t& out, std::string& why);
// Listen's argument: "80", "1.2.3.4:80", "[::1]:80", "*:80".
bool parse_listen(std::string_view s, ListenAddress& out, std::string& why);
// An address or network for Require ip / Allow from: "10.0.0.0/8",
// "192.168.1.5", "10.1" (partial, as Apache), "2001:db8::/32",
// "10.0.0.0/255.0.0.0".
bool parse_network(std::string_view s, IpNetwork& out, std::string& why);
// Normalises an absolute filesystem path: collapses "//" and "/./",
// resolves "..", strips the trailing '/'. Relative paths join `root`.
std::string normalize_fs_path(std::string_view path, std::string_view root);

}  // namespace pillar::config
