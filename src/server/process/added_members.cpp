#include "server/process/added_members.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "config/directives.h"

namespace pillar::server {

namespace {

const config::BalancerConfig& balancer_named(const config::ServerConfig& cfg, const std::string& name) {
  const config::BalancerConfig* bc = nullptr;
  for (const auto& b : cfg.balancers) {
    if (b.name == name) bc = &b;
  }
  if (!bc)
    throw std::runtime_error("no balancer://" + name +
                             " (members are added to balancers, not to direct ProxyPass targets)");
  return *bc;
}

}  // namespace

void AddedMembers::load(const std::string& state_file) {
  std::ifstream in(state_file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("add ", 0) != 0) continue;
    std::istringstream words(line.substr(4));
    AddedMember a;
    words >> a.balancer >> a.url;
    for (std::string p; words >> p;) a.params.push_back(p);
    if (!a.url.empty()) list_.push_back(std::move(a));
  }
}

bool AddedMembers::apply(config::ServerConfig& cfg, std::string& error) const {
  for (const auto& a : list_) {
    config::BalancerConfig* b = nullptr;
    for (auto& bc : cfg.balancers) {
      if (bc.name == a.balancer) b = &bc;
    }
    if (!b) continue;  // the balancer left the configuration: the member goes with it
    bool present = false;
    for (const auto& m : b->members) present = present || m.url == a.url;
    if (present) continue;
    config::BalancerMemberConfig m;
    std::string path;
    if (!config::parse_member_url(a.url, m, path, error)) return false;
    m.url = a.url;
    for (const auto& p : a.params) {
      if (!config::apply_member_param(p, m, error)) return false;
    }
    b->members.push_back(std::move(m));
  }
  return true;
}

void AddedMembers::remove_from(config::ServerConfig& cfg) const {
  for (auto& b : cfg.balancers) {
    auto added = [&](const config::BalancerMemberConfig& m) {
      return std::any_of(list_.begin(), list_.end(),
                         [&](const AddedMember& a) { return a.balancer == b.name && a.url == m.url; });
    };
    b.members.erase(std::remove_if(b.members.begin(), b.members.end(), added), b.members.end());
  }
}

void AddedMembers::add(const config::ServerConfig& cfg, const std::string& balancer, const std::string& url,
                       std::vector<std::string> params) {
  if (url.empty()) throw std::runtime_error("add needs a member URL, e.g. http://10.0.0.7:8080");
  const auto& bc = balancer_named(cfg, balancer);
  for (const auto& m : bc.members) {
    if (m.url == url) throw std::runtime_error(url + " is already a member of balancer://" + balancer);
  }
  list_.push_back({balancer, url, std::move(params)});
}

void AddedMembers::remove(const config::ServerConfig& cfg, const std::string& balancer, const std::string& url) {
  if (url.empty()) throw std::runtime_error("remove needs a member URL, e.g. http://10.0.0.7:8080");
  const auto& bc = balancer_named(cfg, balancer);
  auto it = std::find_if(list_.begin(), list_.end(),
                         [&](const AddedMember& a) { return a.balancer == balancer && a.url == url; });
  if (it == list_.end()) {
    bool in_config = std::any_of(bc.members.begin(), bc.members.end(), [&](const auto& m) { return m.url == url; });
    throw std::runtime_error(in_config ? url + " is defined in the configuration: remove it there and reload (or disable it)"
                                       : "balancer://" + balancer + " has no member " + url);
  }
  list_.erase(it);
}

std::string AddedMembers::render() const {
  std::string text;
  for (const auto& a : list_) {
    text += "add " + a.balancer + " " + a.url;
    for (const auto& p : a.params) text += " " + p;
    text += "\n";
  }
  return text;
}

}  // namespace pillar::server
