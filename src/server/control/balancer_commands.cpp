#include "server/control/balancer_commands.h"

#include <chrono>
#include <cstdlib>
#include <stdexcept>

#include "core/log.h"
#include "core/clock.h"

namespace pillar::server {

namespace {

nlohmann::json member_json(proxy::BalancerRuntime& b, size_t i, uint64_t now) {
  const auto& m = b.span()[i];
  const auto& mc = b.member_cfg(static_cast<int>(i));
  return {{"url", mc.url},
          {"route", std::string(proxy::member_route(m))},
          {"status", member_flags_text(b.shown_flags(static_cast<int>(i), now))},
          {"ejected", b.error_until(static_cast<int>(i)).load() > now},
          {"loadfactor", m.lbfactor},
          {"busy", m.busy.load()},
          {"requests", m.elected.load()},
          {"traffic_bytes", m.transferred.load()}};
}

// MEMBER drain|undrain|enable|disable|weight N on `target`.
nlohmann::json change_state(proxy::BalancerRuntime& target, const std::vector<std::string>& args) {
  auto span = target.span();
  int slot = -1;
  for (size_t i = 0; i < span.size(); ++i) {
    if (target.cfg_index[i] < 0) continue;
    if (target.member_cfg(static_cast<int>(i)).url == args[1] || proxy::member_route(span[i]) == args[1])
      slot = static_cast<int>(i);
  }
  if (slot < 0) throw std::runtime_error("balancer " + args[0] + " has no member " + args[1] + " (give its URL or route)");
  proxy::MemberState& m = span[static_cast<size_t>(slot)];
  const std::string& op = args[2];
  if (op == "drain") m.status_flags.fetch_or(proxy::kStatusDrain);
  else if (op == "undrain") m.status_flags.fetch_and(~uint32_t{proxy::kStatusDrain});
  else if (op == "disable") m.status_flags.fetch_or(proxy::kStatusDisabled);
  else if (op == "enable") {
    m.status_flags.fetch_and(~uint32_t{proxy::kStatusDisabled | proxy::kStatusDrain | proxy::kStatusError});
    target.error_until(slot).store(0);
  } else if (op == "weight") {
    if (args.size() != 4) throw std::runtime_error("weight needs a value 1-100");
    int w = std::atoi(args[3].c_str());
    if (w < 1 || w > 100) throw std::runtime_error("weight " + args[3] + ": use 1 to 100");
    m.lbfactor = static_cast<uint32_t>(w);
  } else {
    throw std::runtime_error("unknown action '" + op + "': use drain, undrain, enable, disable or weight N");
  }
  core::log(core::LogLevel::Notice, "proxy", "pillarctl: balancer {} member {} {}", args[0], args[1], op);
  return {{"balancer", args[0]}, {"member", args[1]}, {"status", member_flags_text(m.status_flags.load())},
          {"loadfactor", m.lbfactor}};
}

nlohmann::json balancer_command(const BalancerCommandSource& source, const std::vector<std::string>& args) {
  if (args.size() >= 2 && (args[1] == "add" || args[1] == "remove")) return source.change_members(args);
  nlohmann::json out = nlohmann::json::array();
  const uint64_t now = core::mono_ms();
  proxy::BalancerRuntime* target = nullptr;
  for (const auto& b : source.balancers()) {
    std::string key = proxy::balancer_key(*b->cfg);
    if (args.size() >= 1 && key != args[0]) continue;
    target = b.get();
    nlohmann::json members = nlohmann::json::array();
    for (size_t i = 0; i < b->span().size(); ++i) {
      if (b->cfg_index[i] >= 0) members.push_back(member_json(*b, i, now));  // (-1: left the configuration)
    }
    out.push_back({{"balancer", key}, {"lbmethod", std::string(proxy::lb_method_name(b->method))}, {"members", members}});
  }
  if (args.size() < 3) {
    if (args.size() == 1 && !target) throw std::runtime_error("no balancer named " + args[0]);
    if (args.size() == 2) throw std::runtime_error("say what to do: MEMBER drain|undrain|enable|disable|weight N");
    return out;
  }
  if (!target) throw std::runtime_error("no balancer named " + args[0]);
  return change_state(*target, args);
}

}  // namespace

std::string member_flags_text(uint32_t f) { return proxy::status_flags_text(f, proxy::FlagStyle::Letters); }

void add_balancer_commands(ControlCommands& table, BalancerCommandSource source) {
  table.add("balancer",
            "balancers and members; balancer NAME MEMBER drain|undrain|enable|disable|weight N; "
            "balancer NAME add URL [route=R loadfactor=N ...]; balancer NAME remove URL",
            [source](const std::vector<std::string>& args) { return balancer_command(source, args); });
}

}  // namespace pillar::server
