#include "ha/vrrp_net.h"

#include <net/if.h>  // before any linux/ header, which redefine its flags
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <net/ethernet.h>
#include <netinet/ip.h>
#include <netpacket/packet.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "ha/vrrp_packet.h"

namespace pillar::ha {

bool interface_info(const std::string& name, const std::vector<in_addr>& exclude, InterfaceInfo& info,
                    std::string& error) {
  info = InterfaceInfo{};
  info.index = static_cast<int>(if_nametoindex(name.c_str()));
  if (info.index == 0) {
    error = "interface " + name + " does not exist";
    return false;
  }
  core::Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (s && ioctl(s.get(), SIOCGIFHWADDR, &ifr) == 0) std::memcpy(info.mac, ifr.ifr_hwaddr.sa_data, 6);
  s.reset();
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) {
    error = std::string("getifaddrs: ") + strerror(errno);
    return false;
  }
  bool found = false;
  for (ifaddrs* a = list; a; a = a->ifa_next) {
    if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET || name != a->ifa_name) continue;
    in_addr ip = reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr;
    bool ours = std::any_of(exclude.begin(), exclude.end(), [&](in_addr e) { return e.s_addr == ip.s_addr; });
    if (ours) continue;
    info.primary = ip;
    found = true;
    break;
  }
  freeifaddrs(list);
  if (!found) error = "interface " + name + " has no IPv4 address of its own (VRRP adverts need a source address)";
  return found;
}

bool VrrpSocket::open(const InterfaceInfo& ifc, const std::string& ifname, std::string& error) {
  fd_.reset(::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, kVrrpProtocol));
  if (!fd_) {
    error = std::string("raw VRRP socket: ") + strerror(errno) + " (needs root or CAP_NET_RAW)";
    return false;
  }
  auto fail = [&](const char* what) {
    error = std::string(what) + ": " + strerror(errno);
    fd_.reset();
    return false;
  };
  if (setsockopt(fd_.get(), SOL_SOCKET, SO_BINDTODEVICE, ifname.c_str(), static_cast<socklen_t>(ifname.size())) != 0)
    return fail("SO_BINDTODEVICE");
  ip_mreqn mreq{};
  mreq.imr_multiaddr.s_addr = htonl(kVrrpGroup);
  mreq.imr_ifindex = ifc.index;
  if (setsockopt(fd_.get(), IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) != 0) return fail("joining 224.0.0.18");
  ip_mreqn mif{};
  mif.imr_address = ifc.primary;
  mif.imr_ifindex = ifc.index;
  if (setsockopt(fd_.get(), IPPROTO_IP, IP_MULTICAST_IF, &mif, sizeof mif) != 0) return fail("IP_MULTICAST_IF");
  int ttl = 255, zero = 0;
  setsockopt(fd_.get(), IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl);  // RFC 5798 §5.1.1.3
  setsockopt(fd_.get(), IPPROTO_IP, IP_TTL, &ttl, sizeof ttl);            // unicast peers too
  setsockopt(fd_.get(), IPPROTO_IP, IP_MULTICAST_LOOP, &zero, sizeof zero);
  int tos = 0xc0;  // internetwork control, as keepalived
  setsockopt(fd_.get(), IPPROTO_IP, IP_TOS, &tos, sizeof tos);
  // No bind(): on a raw socket it would filter what arrives to that one
  // address and drop the multicast adverts. The source is chosen per send
  // (IP_PKTINFO) so adverts always leave from the primary, never from a VIP.
  src_ = ifc.primary;
  ifindex_ = ifc.index;
  return true;
}

bool VrrpSocket::send(const std::vector<uint8_t>& msg, in_addr dst) {
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr = dst;
  iovec iov{const_cast<uint8_t*>(msg.data()), msg.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in_pktinfo))]{};
  msghdr mh{};
  mh.msg_name = &to;
  mh.msg_namelen = sizeof to;
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = control;
  mh.msg_controllen = sizeof control;
  cmsghdr* cm = CMSG_FIRSTHDR(&mh);
  cm->cmsg_level = IPPROTO_IP;
  cm->cmsg_type = IP_PKTINFO;
  cm->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
  auto* pi = reinterpret_cast<in_pktinfo*>(CMSG_DATA(cm));
  pi->ipi_ifindex = ifindex_;
  pi->ipi_spec_dst = src_;
  return ::sendmsg(fd_.get(), &mh, 0) == static_cast<ssize_t>(msg.size());
}

ssize_t VrrpSocket::receive(uint8_t* buf, size_t cap) {
  ssize_t n = ::recv(fd_.get(), buf, cap, 0);
  return n < 0 ? 0 : n;
}

namespace {

bool address_request(int type, int ifindex, in_addr addr, uint8_t prefix, std::string& error, bool quiet_if_absent) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = static_cast<uint16_t>(type);
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (type == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_REPLACE : 0);
  uint32_t seq = static_cast<uint32_t>(time(nullptr));
  nlh->nlmsg_seq = seq;
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = prefix;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = static_cast<uint32_t>(ifindex);
  mnl_attr_put_u32(nlh, IFA_LOCAL, addr.s_addr);
  mnl_attr_put_u32(nlh, IFA_ADDRESS, addr.s_addr);
  mnl_socket* nl = mnl_socket_open(NETLINK_ROUTE);
  if (!nl) {
    error = std::string("netlink: ") + strerror(errno);
    return false;
  }
  bool ok = false;
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) == 0 && mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) >= 0) {
    ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof buf);
    int rc = n > 0 ? mnl_cb_run(buf, static_cast<size_t>(n), seq, mnl_socket_get_portid(nl), nullptr, nullptr) : -1;
    ok = rc >= 0;
    if (!ok && quiet_if_absent && type == RTM_DELADDR && (errno == EADDRNOTAVAIL || errno == ENOENT || errno == ESRCH))
      ok = true;
  }
  if (!ok) {
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &addr, ip, sizeof ip);
    error = std::string(type == RTM_NEWADDR ? "adding " : "removing ") + ip + "/" + std::to_string(prefix) + ": " +
            strerror(errno);
  }
  mnl_socket_close(nl);
  return ok;
}

}  // namespace

bool add_address(int ifindex, in_addr addr, uint8_t prefix, std::string& error) {
  return address_request(RTM_NEWADDR, ifindex, addr, prefix, error, false);
}

bool remove_address(int ifindex, in_addr addr, uint8_t prefix, std::string& error, bool quiet_if_absent) {
  return address_request(RTM_DELADDR, ifindex, addr, prefix, error, quiet_if_absent);
}

bool send_gratuitous_arp(int ifindex, const uint8_t mac[6], in_addr addr, std::string& error) {
  core::Fd s(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ARP)));
  if (!s) {
    error = std::string("packet socket: ") + strerror(errno);
    return false;
  }
  uint8_t frame[42]{};
  std::memset(frame, 0xff, 6);      // broadcast
  std::memcpy(frame + 6, mac, 6);
  frame[12] = 0x08;
  frame[13] = 0x06;                 // ARP
  uint8_t* arp = frame + 14;
  arp[1] = 1;                       // Ethernet
  arp[2] = 0x08;                    // IPv4
  arp[4] = 6;
  arp[5] = 4;
  arp[7] = 1;                       // request (gratuitous: sender IP == target IP)
  std::memcpy(arp + 8, mac, 6);
  std::memcpy(arp + 14, &addr.s_addr, 4);
  std::memset(arp + 18, 0, 6);
  std::memcpy(arp + 24, &addr.s_addr, 4);
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = ifindex;
  to.sll_halen = 6;
  std::memset(to.sll_addr, 0xff, 6);
  bool ok = ::sendto(s.get(), frame, sizeof frame, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) == sizeof frame;
  if (!ok) error = std::string("gratuitous ARP: ") + strerror(errno);
  return ok;
}

}  // namespace pillar::ha
