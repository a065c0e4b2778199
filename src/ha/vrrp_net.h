// The VRRP process's contact with the network: the raw IPPROTO_VRRP socket
// (multicast 224.0.0.18 with TTL 255, or unicast peers), interface facts,
// virtual addresses added and removed through netlink (libmnl), and
// gratuitous ARP through a packet socket.
#pragma once
#include <netinet/in.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/fd.h"

namespace pillar::ha {

struct InterfaceInfo {
  int index = 0;
  in_addr primary{};     // first IPv4 address that is not one of ours
  uint8_t mac[6]{};
};
// Fills `info` for `name`; `exclude` (our virtual addresses) never counts as primary.
bool interface_info(const std::string& name, const std::vector<in_addr>& exclude, InterfaceInfo& info,
                    std::string& error);

class VrrpSocket {
 public:
  VrrpSocket() = default;
  VrrpSocket(const VrrpSocket&) = delete;
  VrrpSocket& operator=(const VrrpSocket&) = delete;

  bool open(const InterfaceInfo& ifc, const std::string& ifname, std::string& error);
  int fd() const { return fd_.get(); }
  bool send(const std::vector<uint8_t>& msg, in_addr dst);
  // One datagram (IP header included); 0 when none is waiting.
  ssize_t receive(uint8_t* buf, size_t cap);

 private:
  core::Fd fd_;
  in_addr src_{};
  int ifindex_ = 0;
};

// Netlink RTM_NEWADDR / RTM_DELADDR. `quiet_if_absent`: deleting an address
// that is not there is not an error (stale VIPs are cleaned at start).
bool add_address(int ifindex, in_addr addr, uint8_t prefix, std::string& error);
bool remove_address(int ifindex, in_addr addr, uint8_t prefix, std::string& error, bool quiet_if_absent = true);

// Broadcasts a gratuitous ARP request for `addr` from `mac` on `ifindex`.
bool send_gratuitous_arp(int ifindex, const uint8_t mac[6], in_addr addr, std::string& error);

}  // namespace pillar::ha
