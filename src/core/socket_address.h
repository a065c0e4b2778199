// Socket address helpers shared by listeners, logs and access control.
#pragma once
#include <sys/socket.h>

#include <cstdint>
#include <string>

namespace pillar::core {

// "127.0.0.1" / "::1" (IPv4-mapped IPv6 shown as IPv4, as Apache logs it).
std::string address_text(const sockaddr_storage& a);
uint16_t address_port(const sockaddr_storage& a);
// "127.0.0.1:8080" / "[::1]:8080"
std::string endpoint_text(const sockaddr_storage& a);

// Non-blocking, close-on-exec listening socket with SO_REUSEADDR (and
// IPV6_V6ONLY off for the IPv6 wildcard). Returns -1 and sets `error`.
int open_listener(const sockaddr_storage& addr, socklen_t len, int backlog, std::string& error);

// Raise RLIMIT_NOFILE's soft limit to the hard limit; returns the new soft limit.
uint64_t raise_fd_limit();

}  // namespace pillar::core
