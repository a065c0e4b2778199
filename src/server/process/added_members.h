// Balancer members added at run time (`pillarctl balancer NAME add URL
// [k=v ...]`): kept by the master, joined to the configuration's members
// (by balancer name) every time a runtime is built, so they survive graceful
// reloads, and written to the ProxyStateFile as "add BALANCER URL PARAMS"
// lines, so they survive a full restart, until removed.
#pragma once
#include <string>
#include <vector>

#include "config/model.h"

namespace pillar::server {

struct AddedMember {
  std::string balancer, url;
  std::vector<std::string> params;  // BalancerMember parameters, "k=v"
};

class AddedMembers {
 public:
  // The "add" lines of a ProxyStateFile (a missing file adds none).
  void load(const std::string& state_file);
  // Adds the members to `cfg`'s balancers that lack them; a balancer that
  // left the configuration takes its added members with it. False with
  // `error` for a member URL or parameter the configuration would refuse.
  bool apply(config::ServerConfig& cfg, std::string& error) const;
  // Takes them out of `cfg` again: the members as the file defines them.
  void remove_from(config::ServerConfig& cfg) const;
  // `cfg` is the running configuration. Throw std::runtime_error with the
  // answer for pillarctl when the change is refused.
  void add(const config::ServerConfig& cfg, const std::string& balancer, const std::string& url,
           std::vector<std::string> params);
  void remove(const config::ServerConfig& cfg, const std::string& balancer, const std::string& url);
  // The ProxyStateFile lines, one per member.
  std::string render() const;
  const std::vector<AddedMember>& list() const { return list_; }

 private:
  std::vector<AddedMember> list_;
};

}  // namespace pillar::server
