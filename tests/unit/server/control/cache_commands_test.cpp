// Unit tests for src/server/control/cache_commands.cpp: `pillarctl cache`
// through the command table, on a store of the test's own (no sockets, no
// master): how a purge URL is keyed, and the answers to wrong arguments.
#include "server/control/cache_commands.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "command_answers.h"

namespace pillar::server {
namespace {

struct CacheTable {
  cache::Store store;
  config::ServerConfig cfg;
  ControlCommands table;
  CacheTable() {
    std::string err;
    EXPECT_TRUE(store.create(4 << 20, err)) << err;
    config::VirtualHost vh;
    vh.server_name = "a.test";
    vh.aliases = {"b.test", "*.c.test"};
    cfg.vhosts.push_back(vh);
    add_cache_commands(table, {&store, [this]() -> const config::ServerConfig& { return cfg; }});
  }
  nlohmann::json ok(const std::string& line) { return testing::answered(table, line); }
  std::string refused(const std::string& line) { return testing::refused(table, line); }
};

std::pair<std::string, std::string> parts(const std::string& url) {
  std::string host = "stale", target = "stale";
  purge_url_parts(url, host, target);
  return {host, target};
}

TEST(PurgeUrlParts, KeysTheHostAsARequestHostIsKeyed) {
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(parts("http://Example.COM/a?b=1"), (P{"example.com", "/a?b=1"}));
  EXPECT_EQ(parts("http://example.com.:8080/a"), (P{"example.com", "/a"}));
  EXPECT_EQ(parts("https://[::1]:8443/x"), (P{"[::1]", "/x"}));
  EXPECT_EQ(parts("http://[2001:DB8::1]/"), (P{"[2001:db8::1]", "/"}));
  EXPECT_EQ(parts("example.com"), (P{"example.com", "/"}));         // no scheme, no path
  EXPECT_EQ(parts("http://example.com?q"), (P{"example.com", "/?q"}));  // as an absolute-form target
}

TEST(PurgeUrlParts, RefusesAUrlWithoutAValidHost) {
  for (const char* bad : {"http:///x", "http://user@h/x", "http://[::1/x", "http://h:port/x", "/just/a/path"}) {
    std::string host, target;
    EXPECT_THROW(purge_url_parts(bad, host, target), std::runtime_error) << bad;
  }
}

TEST(CacheCommands, PurgeAnswersTheKeyItUsed) {
  CacheTable t;
  auto r = t.ok("cache purge http://[::1]:8080/p");
  EXPECT_EQ(r["purged"], 0);
  EXPECT_EQ(r["host"], "[::1]");
  EXPECT_EQ(r["target"], "/p");
  EXPECT_NE(t.refused("cache purge http://a@b/p").find("valid host"), std::string::npos);
}

TEST(CacheCommands, StatsWithoutArguments) {
  CacheTable t;
  auto r = t.ok("cache");
  EXPECT_EQ(r["objects"], 0);
  EXPECT_GT(r["bytes_total"].get<uint64_t>(), 0u);
}

TEST(CacheCommands, BansHostsKeyedAsRequestHosts) {
  CacheTable t;
  EXPECT_GT(t.ok("cache ban host Example.COM.")["ban"].get<uint64_t>(), 0u);
  EXPECT_GT(t.ok("cache ban prefix /img/ [::1]:80")["ban"].get<uint64_t>(), 0u);
  EXPECT_NE(t.refused("cache ban host a@b").find("not a host name"), std::string::npos);
  EXPECT_EQ(t.ok("cache")["bans_pending"], 2);
}

TEST(CacheCommands, BanVhostNamesEveryNameButWildcards) {
  CacheTable t;
  auto r = t.ok("cache ban vhost a.test");
  EXPECT_EQ(r["bans"].size(), 2u);
  EXPECT_EQ(r["wildcard_aliases_not_banned"], nlohmann::json({"*.c.test"}));
  EXPECT_NE(t.refused("cache ban vhost nosuch.test").find("no <VirtualHost>"), std::string::npos);
}

TEST(CacheCommands, WrongArgumentsGetTheUsage) {
  CacheTable t;
  for (const char* line : {"cache purge", "cache purge a b", "cache drop", "cache ban", "cache ban host",
                           "cache ban host a b c d"})
    EXPECT_NE(t.refused(line).find("cache "), std::string::npos) << line;
  EXPECT_NE(t.refused("cache ban prefix nope").find("starts with '/'"), std::string::npos);
  EXPECT_NE(t.refused("cache ban regex (").find("cache ban regex"), std::string::npos);
}

TEST(CacheCommands, NoStoreNoCache) {
  ControlCommands table;
  cache::Store never_created;
  config::ServerConfig cfg;
  add_cache_commands(table, {&never_created, [&]() -> const config::ServerConfig& { return cfg; }});
  auto r = table.run("cache purge http://h/");
  EXPECT_FALSE(r["ok"].get<bool>());
  EXPECT_NE(r["error"].get<std::string>().find("no CacheEnable"), std::string::npos);
}

}  // namespace
}  // namespace pillar::server
