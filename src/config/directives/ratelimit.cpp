// The ratelimit directive table: Pillar's node-wide request-rate limits,
// the per-client connection limit and load shedding by priority;
// nginx's limit_req in Apache's style (docs/limits.md). A zone says what
// is counted (the client address after RemoteIP, the vhost, or a request
// field) and at what rate; PillarRateLimit applies a zone, with its burst,
// in the server, a <VirtualHost> or a <Location>. Counted in shared memory
// (core/shm/rate_table.h) by the limits phase. Listed in
// directives/registry.cpp.
#include "config/directives/tables.h"

#include <string>

#include "config/values.h"
#include "core/shm/client_conn_table.h"

namespace pillar::config {
namespace {

// "10r/s" or "30r/m": thousandths of a request per second.
bool parse_rate(std::string_view s, uint64_t& milli, std::string& why) {
  const size_t r = s.find("r/");
  uint64_t n = 0;
  if (r == std::string_view::npos || r == 0 || !parse_uint(s.substr(0, r), 1, 1'000'000, n, why) ||
      (s.substr(r + 2) != "s" && s.substr(r + 2) != "m")) {
    why = "'" + std::string(s) + "' is not a rate: write N r/s or N r/m without spaces, e.g. 10r/s or 30r/m";
    return false;
  }
  milli = s.substr(r + 2) == "s" ? n * 1000 : n * 1000 / 60;
  if (milli == 0) milli = 1;
  return true;
}

// PillarRateLimitZone NAME client|vhost|header=FIELD RATE
void d_zone(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  RateLimitZone z;
  z.name = n.args[0];
  z.where = {n.file, n.line};
  const std::string key = core::lowercase(n.args[1]);
  if (key == "client") z.key = RateLimitZone::Key::Client;
  else if (key == "vhost") z.key = RateLimitZone::Key::Vhost;
  else if (key.rfind("header=", 0) == 0 && key.size() > 7) {
    z.key = RateLimitZone::Key::Header;
    z.header = n.args[1].substr(7);
  } else {
    return out.error(n, "PillarRateLimitZone: '" + n.args[1] +
                            "' is not a key: write client (the address, after RemoteIP), vhost, or header=FIELD");
  }
  std::string why;
  if (!parse_rate(n.args[2], z.rate_milli, why)) return out.error(n, "PillarRateLimitZone: " + why);
  for (const auto& other : s.server.rate_zones) {
    if (other.name == z.name)
      return out.error(n, "PillarRateLimitZone " + z.name + " is already defined at " + other.where.file + ":" +
                              std::to_string(other.where.line) + "; give this one another name");
  }
  s.server.rate_zones.push_back(std::move(z));
}

// PillarRateLimit ZONE [burst=N] [nodelay | delay=N]
void d_limit(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  RateLimitUse u;
  u.zone = n.args[0];
  u.where = {n.file, n.line};
  bool nodelay = false, delay_given = false;
  for (size_t i = 1; i < n.args.size(); ++i) {
    const std::string a = core::lowercase(n.args[i]);
    uint64_t v = 0;
    std::string why;
    if (a.rfind("burst=", 0) == 0) {
      if (!parse_uint(a.substr(6), 0, 60'000, v, why)) return out.error(n, "PillarRateLimit burst=: " + why);
      u.burst = static_cast<uint32_t>(v);
    } else if (a == "nodelay") {
      nodelay = true;
    } else if (a.rfind("delay=", 0) == 0) {
      if (!parse_uint(a.substr(6), 0, 60'000, v, why)) return out.error(n, "PillarRateLimit delay=: " + why);
      u.delay = static_cast<uint32_t>(v);
      delay_given = true;
    } else {
      return out.error(n, "PillarRateLimit: unknown argument '" + n.args[i] + "'; write PillarRateLimit ZONE "
                          "[burst=N] [nodelay | delay=N]");
    }
  }
  if (nodelay && delay_given)
    return out.error(n, "PillarRateLimit: nodelay and delay= together; nodelay lets the whole burst through at "
                        "once, delay=N only its first N: keep one");
  if (nodelay) u.delay = u.burst;
  if (u.delay > u.burst)
    return out.error(n, "PillarRateLimit: delay=" + std::to_string(u.delay) + " is more than burst=" +
                            std::to_string(u.burst) + "; requests past the burst are refused, so delay= is at most burst=");
  (s.loc ? s.loc->rate_limits : s.vhost.rate_limits).push_back(std::move(u));
}

// PillarMaxConnectionsPerClient N
void d_max_conns_per_client(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  uint64_t v = 0;
  std::string why;
  if (!parse_uint(n.args[0], 0, core::shm::ClientConnTable::kCountMax, v, why))
    return out.error(n, "PillarMaxConnectionsPerClient: " + why + " (0: no limit)");
  s.server.max_conns_per_client = static_cast<uint32_t>(v);
}

// PillarShedLoad [loadavg=N] [busy=P%] [retry-after=S]
void d_shed_load(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  ShedLoad shed;
  for (const auto& arg : n.args) {
    const std::string a = core::lowercase(arg);
    std::string why;
    uint64_t v = 0;
    if (a.rfind("loadavg=", 0) == 0) {
      // A decimal bound, kept in thousandths: "loadavg=5", "loadavg=2.5".
      std::string_view num = std::string_view(a).substr(8);
      size_t dot = num.find('.');
      uint64_t whole = 0, frac = 0;
      std::string_view f = dot == std::string_view::npos ? std::string_view() : num.substr(dot + 1);
      if (!parse_uint(num.substr(0, dot), 0, 100'000, whole, why) || f.size() > 3 ||
          (!f.empty() && !parse_uint(f, 0, 999, frac, why)))
        return out.error(n, "PillarShedLoad: '" + arg + "' is not a load average: write loadavg=N, e.g. loadavg=8 or loadavg=2.5");
      for (size_t i = f.size(); i < 3; ++i) frac *= 10;
      shed.load_milli = static_cast<uint32_t>(whole * 1000 + frac);
      if (shed.load_milli == 0) return out.error(n, "PillarShedLoad: loadavg= must be above 0");
    } else if (a.rfind("busy=", 0) == 0 && a.back() == '%') {
      if (!parse_uint(a.substr(5, a.size() - 6), 1, 100, v, why)) return out.error(n, "PillarShedLoad busy=: " + why);
      shed.busy_percent = static_cast<uint32_t>(v);
    } else if (a.rfind("retry-after=", 0) == 0) {
      if (!parse_uint(a.substr(12), 1, 86'400, v, why)) return out.error(n, "PillarShedLoad retry-after=: " + why);
      shed.retry_after_s = static_cast<uint32_t>(v);
    } else {
      return out.error(n, "PillarShedLoad: unknown argument '" + arg +
                              "'; write PillarShedLoad [loadavg=N] [busy=P%] [retry-after=SECONDS]");
    }
  }
  if (!shed.on()) return out.error(n, "PillarShedLoad: give loadavg=N or busy=P% (or both)");
  s.server.shed = shed;
}

// PillarPriority low|normal
void d_priority(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  const std::string a = core::lowercase(n.args[0]);
  if (a != "low" && a != "normal")
    return out.error(n, "PillarPriority: '" + n.args[0] + "' is not a priority: write low or normal");
  const Priority p = a == "low" ? Priority::Low : Priority::Normal;
  if (s.loc) s.loc->priority = p;
  else s.vhost.priority = p;
}

constexpr DirectiveSpec kTable[] = {
    {"PillarMaxConnectionsPerClient", 1, 1, kServer, false, d_max_conns_per_client, "PillarMaxConnectionsPerClient N"},
    {"PillarPriority", 1, 1, kSV | kLocation, false, d_priority, "PillarPriority low|normal"},
    {"PillarShedLoad", 1, 3, kServer, false, d_shed_load, "PillarShedLoad [loadavg=N] [busy=P%] [retry-after=SECONDS]"},
    {"PillarRateLimit", 1, 4, kSV | kLocation, false, d_limit, "PillarRateLimit ZONE [burst=N] [nodelay | delay=N]"},
    {"PillarRateLimitZone", 3, 3, kServer, false, d_zone, "PillarRateLimitZone NAME client|vhost|header=FIELD RATE"},
};

}  // namespace

std::span<const DirectiveSpec> ratelimit_directives() { return kTable; }

void resolve_rate_limits(ServerConfig& sc, DirectiveSink& out) {
  auto resolve = [&](std::vector<RateLimitUse>& uses) {
    for (auto& u : uses) {
      for (size_t i = 0; i < sc.rate_zones.size(); ++i) {
        if (sc.rate_zones[i].name == u.zone) u.zone_index = static_cast<int>(i);
      }
      if (u.zone_index < 0)
        out.errors.push_back({u.where.file, u.where.line,
                              "PillarRateLimit: no zone named '" + u.zone +
                                  "'; define it first, e.g. PillarRateLimitZone " + u.zone + " client 10r/s"});
    }
  };
  auto vhost = [&](VirtualHost& vh) {
    resolve(vh.rate_limits);
    for (auto& l : vh.locations) resolve(l.rate_limits);
  };
  vhost(sc.main_server);
  for (auto& vh : sc.vhosts) vhost(vh);
}

}  // namespace pillar::config
