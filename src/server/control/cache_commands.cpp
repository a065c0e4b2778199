#include "server/control/cache_commands.h"

#include <stdexcept>

#include "cache/policy.h"
#include "core/log.h"
#include "http/authority.h"

namespace pillar::server {

namespace {

constexpr const char* kUsage =
    "cache [purge URL | ban host HOST | ban vhost SERVERNAME | ban prefix /PATH [HOST] | ban regex REGEX [HOST] | ban "
    "url URL]";

// A ban's HOST keys as a request's Host does: "Example.COM." bans example.com.
std::string ban_host(const std::string& text) {
  std::string host;
  if (!http::authority_host(text, host)) throw std::runtime_error("cache ban: '" + text + "' is not a host name");
  return host;
}

nlohmann::json stats(cache::Store& store) {
  auto st = store.stats();
  return {{"objects", st.objects}, {"bytes_used", st.bytes_used}, {"bytes_total", st.bytes_total},
          {"evictions", st.evictions}, {"bans_pending", st.bans}, {"lock_timeouts", st.lock_timeouts}};
}

nlohmann::json purge(cache::Store& store, const std::string& url) {
  std::string host, target;
  purge_url_parts(url, host, target);
  bool busy = false;  // the master never waits on the store's lock for long
  uint32_t n = store.purge(cache::primary_key(host, target), &busy);
  if (busy) throw std::runtime_error("cache purge: the cache store is busy (a process holds its lock); try again");
  return {{"purged", n}, {"host", host}, {"target", target}};
}

// A deploy: every name the virtual host answers to (wildcard aliases cannot
// be named; the answer lists them).
nlohmann::json ban_vhost(cache::Store& store, const config::ServerConfig& cfg, const std::string& name) {
  const config::VirtualHost* vh = nullptr;
  for (const auto& v : cfg.vhosts)
    if (v.server_name == name) vh = &v;
  if (!vh) throw std::runtime_error("cache ban vhost: no <VirtualHost> has ServerName " + name);
  nlohmann::json bans = nlohmann::json::array(), skipped = nlohmann::json::array();
  bans.push_back(store.ban(cache::BanKind::Host, vh->server_name, ""));
  for (const auto& a : vh->aliases) {
    if (a.find_first_of("*?") != std::string::npos) skipped.push_back(a);
    else bans.push_back(store.ban(cache::BanKind::Host, a, ""));
  }
  core::log(core::LogLevel::Notice, "cache", "ban vhost {}: {} host(s)", name, bans.size());
  return {{"bans", bans}, {"wildcard_aliases_not_banned", skipped}};
}

nlohmann::json ban(cache::Store& store, const config::ServerConfig& cfg, const std::vector<std::string>& args) {
  const std::string& kind = args[1];
  std::string host = args.size() == 4 ? ban_host(args[3]) : "";
  uint64_t seq = 0;
  std::string why;  // from the store: an invalid regex, too long, the store busy
  if (kind == "host" && args.size() == 3) {
    seq = store.ban(cache::BanKind::Host, ban_host(args[2]), "", &why);
  } else if (kind == "prefix") {
    if (args[2].empty() || args[2][0] != '/')
      throw std::runtime_error("cache ban prefix /PATH [HOST]: the path starts with '/'");
    seq = store.ban(cache::BanKind::Prefix, host, args[2], &why);
  } else if (kind == "regex") {
    seq = store.ban(cache::BanKind::Regex, host, args[2], &why);  // compiled (RE2) here, matched by the workers
    if (!seq) throw std::runtime_error("cache ban regex '" + args[2] + "': " + why);
  } else if (kind == "vhost" && args.size() == 3) {
    return ban_vhost(store, cfg, args[2]);
  } else if (kind == "url" && args.size() == 3) {
    std::string h, target;
    purge_url_parts(args[2], h, target);
    seq = store.ban(cache::BanKind::Prefix, h, target, &why);
  } else {
    throw std::runtime_error(
        "cache ban host HOST | vhost SERVERNAME | prefix /PATH [HOST] | regex REGEX [HOST] | url URL");
  }
  if (!seq) throw std::runtime_error("cache ban: " + why);
  core::log(core::LogLevel::Notice, "cache", "ban {}: {} {} {}", seq, kind, args[2], host);
  return {{"ban", seq}};
}

}  // namespace

void purge_url_parts(const std::string& url, std::string& host, std::string& target) {
  std::string_view u = url;
  if (size_t scheme = u.find("://"); scheme != std::string_view::npos) u.remove_prefix(scheme + 3);
  // As the request parser splits an absolute-form target.
  size_t end = u.find_first_of("/?");
  std::string_view authority = u.substr(0, end);
  std::string_view rest = end == std::string_view::npos ? std::string_view() : u.substr(end);
  target.clear();
  if (rest.empty() || rest.front() == '?') target.push_back('/');  // "http://h" and "http://h?q" name "/"
  target.append(rest);
  if (!http::authority_host(authority, host))
    throw std::runtime_error("give a URL with a valid host, e.g. http://www.example.com/path");
}

void add_cache_commands(ControlCommands& table, CacheCommandSource source) {
  table.add("cache",
            "the cache store; cache purge URL; cache ban host HOST | vhost SERVERNAME | prefix /PATH [HOST] | regex "
            "REGEX [HOST] | url URL",
            [source](const std::vector<std::string>& args) -> nlohmann::json {
              if (!source.store || !source.store->ready())
                throw std::runtime_error("no cache: no CacheEnable in the configuration");
              cache::Store& store = *source.store;
              if (args.empty()) return stats(store);
              if (args[0] == "purge" && args.size() == 2) return purge(store, args[1]);
              if (args[0] == "ban" && args.size() >= 3 && args.size() <= 4) return ban(store, source.config(), args);
              throw std::runtime_error(kUsage);
            });
}

}  // namespace pillar::server
