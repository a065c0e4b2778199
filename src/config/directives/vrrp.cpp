// The vrrp directive table: the directives inside <Vrrp NAME> (keepalived's
// vrrp_instance keywords, in Apache style). Listed in directives/registry.cpp;
// docs/configuration.md documents each directive.
#include "config/directives/tables.h"

#include <arpa/inet.h>

#include "config/values.h"
#include "http/request.h"

namespace pillar::config {
namespace {

void v_interface(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  if (n.args[0].size() >= 16) return out.error(n, "Interface " + n.args[0] + ": interface names are at most 15 characters");
  s.vrrp->interface = n.args[0];
}

template <uint8_t VrrpInstance::*Field, uint64_t Min, uint64_t Max>
void v_byte(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  uint64_t v;
  std::string why;
  if (!parse_uint(n.args[0], Min, Max, v, why)) return out.error(n, n.name + ": " + why);
  s.vrrp->*Field = static_cast<uint8_t>(v);
}

void v_advert_interval(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  Millis d;
  if (!set_duration(out, n, "AdvertInterval", d)) return;
  if (d.count() < 10 || d.count() > 40950 || d.count() % 10 != 0)
    return out.error(n, "AdvertInterval " + n.args[0] + ": use 10ms to 40.95s in steps of 10ms (e.g. 100ms, 1s)");
  s.vrrp->advert_interval_cs = static_cast<uint16_t>(d.count() / 10);
}

void v_virtual_address(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  for (const auto& a : n.args) {
    VrrpInstance::Address va;
    std::string ip = a.substr(0, a.find('/'));
    if (inet_pton(AF_INET, ip.c_str(), &va.addr) != 1)
      return out.error(n, "VirtualAddress " + a + " is not an IPv4 address (write 10.0.0.10 or 10.0.0.10/24)");
    if (a.find('/') != std::string::npos) {
      uint64_t p;
      std::string why;
      if (!parse_uint(std::string_view(a).substr(a.find('/') + 1), 1, 32, p, why))
        return out.error(n, "VirtualAddress " + a + ": prefix " + why);
      va.prefix = static_cast<uint8_t>(p);
    }
    s.vrrp->addresses.push_back(va);
  }
}

void v_unicast_peer(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  for (const auto& a : n.args) {
    in_addr ip{};
    if (inet_pton(AF_INET, a.c_str(), &ip) != 1) return out.error(n, "UnicastPeer " + a + " is not an IPv4 address");
    s.vrrp->unicast_peers.push_back(ip);
  }
}

template <bool VrrpInstance::*Field>
void v_flag(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  set_on_off(out, n, n.name, s.vrrp->*Field);
}

void v_preempt_delay(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  set_duration(out, n, "PreemptDelay", s.vrrp->preempt_delay);
}

template <std::string VrrpInstance::*Field>
void v_command(DirectiveSink&, const ConfigNode& n, Scope& s) {
  std::string cmd = n.args[0];
  for (size_t i = 1; i < n.args.size(); ++i) cmd += " " + n.args[i];
  s.vrrp->*Field = cmd;
}

void v_track_health(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  if (!set_on_off(out, n, "TrackHealth", s.vrrp->track_health)) return;
  std::string why;
  if (n.args.size() == 2 && !parse_duration(n.args[1], s.vrrp->track_interval, why))
    out.error(n, "TrackHealth interval: " + why);
}

void v_version(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  if (n.args[0] == "2") s.vrrp->version = 2;
  else if (n.args[0] == "3") s.vrrp->version = 3;
  else out.error(n, "VrrpVersion " + n.args[0] + ": use 3 (RFC 5798) or 2 (RFC 3768, keepalived's default)");
}

constexpr DirectiveSpec kTable[] = {
    {"AdvertInterval", 1, 1, kVrrp, false, v_advert_interval, "AdvertInterval DURATION (e.g. 100ms, 1s)"},
    {"AcceptMode", 1, 1, kVrrp, false, v_flag<&VrrpInstance::accept_mode>, "AcceptMode On|Off"},
    {"Interface", 1, 1, kVrrp, false, v_interface, "Interface NAME"},
    {"NotifyBackup", 1, -1, kVrrp, false, v_command<&VrrpInstance::notify_backup>, "NotifyBackup COMMAND"},
    {"NotifyFault", 1, -1, kVrrp, false, v_command<&VrrpInstance::notify_fault>, "NotifyFault COMMAND"},
    {"NotifyMaster", 1, -1, kVrrp, false, v_command<&VrrpInstance::notify_master>, "NotifyMaster COMMAND"},
    {"Preempt", 1, 1, kVrrp, false, v_flag<&VrrpInstance::preempt>, "Preempt On|Off"},
    {"PreemptDelay", 1, 1, kVrrp, false, v_preempt_delay, "PreemptDelay DURATION"},
    {"Priority", 1, 1, kVrrp, false, v_byte<&VrrpInstance::priority, 1, 255>, "Priority 1-255"},
    {"TrackHealth", 1, 2, kVrrp, false, v_track_health, "TrackHealth On|Off [INTERVAL]"},
    {"UnicastPeer", 1, -1, kVrrp, false, v_unicast_peer, "UnicastPeer IPv4..."},
    {"VirtualAddress", 1, -1, kVrrp, false, v_virtual_address, "VirtualAddress IPv4[/PREFIX]..."},
    {"VirtualRouterId", 1, 1, kVrrp, false, v_byte<&VrrpInstance::vrid, 1, 255>, "VirtualRouterId 1-255"},
    {"VrrpVersion", 1, 1, kVrrp, false, v_version, "VrrpVersion 2|3"},
};

}  // namespace

std::span<const DirectiveSpec> vrrp_directives() { return kTable; }

}  // namespace pillar::config
