// The Cache* directives: values, contexts, errors with file and line, and
// which URL paths a vhost's CacheEnable/CacheDisable rules cover.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "config/loader.h"

namespace pillar::config {
namespace {

LoadResult load(std::string_view text) {
  LoadOptions o;
  o.server_root = "/tmp";
  return load_config_text(text, "c.conf", o);
}

std::string first_error(const LoadResult& r) {
  return r.errors.empty() ? "" : r.errors[0].file + ":" + std::to_string(r.errors[0].line) + ": " + r.errors[0].message;
}

bool has_notice(const ServerConfig& sc, std::string_view needle) {
  return std::any_of(sc.notices.begin(), sc.notices.end(), [&](const std::string& n) { return n.find(needle) != std::string::npos; });
}

constexpr const char* kProxied =
    "Listen 8080\n"
    "<VirtualHost *:8080>\n"
    "  ServerName a.test\n"
    "  ProxyPass / http://127.0.0.1:9/\n";

TEST(CacheDirectives, DefaultsWhenAbsent) {
  auto r = load("Listen 8080\n");
  ASSERT_TRUE(r.ok()) << first_error(r);
  const auto& c = r.config->main_server.cache;
  EXPECT_TRUE(c.rules.empty());
  EXPECT_TRUE(r.config->cache_unused());
  EXPECT_EQ(r.config->cache_size, 64ull << 20);
  EXPECT_TRUE(r.config->cache_lock);
  EXPECT_EQ(c.default_expire, 3600);
  EXPECT_EQ(c.max_object_size, 1000000u);
  EXPECT_EQ(c.heuristic, CacheHeuristic::LastModified);  // RFC 9111 §4.2.2 heuristic freshness on by default
  EXPECT_FALSE(c.store_cookies);
  EXPECT_EQ(c.grace, 0);  // no stale without permission (RFC 9111 §4.2.4)
  EXPECT_EQ(c.hit_for_pass, 120);
}

TEST(CacheDirectives, ValuesAreRead) {
  auto r = load(std::string(kProxied) +
                "  CacheEnable mem /\n  CacheDefaultExpire 2m\n  CacheMaxExpire 1h\n  CacheMinExpire 5\n"
                "  CacheHeuristic On\n  CacheLastModifiedFactor 0.25\n  CacheStoreCookies On\n"
                "  CacheIgnoreCacheControl On\n  CacheGrace 30\n  CacheStaleIfError 600\n  CacheHitForPass 0\n"
                "  CacheMaxObjectSize 2M\n  CacheHeader On\n  CachePurgeRequire ip 10.0.0.0/8\n"
                "</VirtualHost>\nCacheSize 512M\nCacheLock Off\nCacheLockMaxAge 2\nCacheLockMaxWaiters 50\n");
  ASSERT_TRUE(r.ok()) << first_error(r);
  const auto& c = r.config->vhosts.at(0).cache;
  EXPECT_EQ(c.default_expire, 120);
  EXPECT_EQ(c.max_expire, 3600);
  EXPECT_EQ(c.min_expire, 5);
  EXPECT_EQ(c.heuristic, CacheHeuristic::On);
  EXPECT_DOUBLE_EQ(c.lm_factor, 0.25);
  EXPECT_TRUE(c.store_cookies);
  EXPECT_TRUE(c.ignore_cache_control);
  EXPECT_EQ(c.grace, 30);
  EXPECT_EQ(c.stale_if_error, 600);
  EXPECT_EQ(c.hit_for_pass, 0);
  EXPECT_EQ(c.max_object_size, 2u << 20);
  EXPECT_TRUE(c.header);
  ASSERT_EQ(c.purge.require.size(), 1u);
  EXPECT_EQ(r.config->cache_size, 512ull << 20);
  EXPECT_FALSE(r.config->cache_lock);
  EXPECT_EQ(r.config->cache_lock_max_age.count(), 2000);
  EXPECT_EQ(r.config->cache_lock_max_waiters, 50u);
  EXPECT_FALSE(r.config->cache_unused());
}

TEST(CacheDirectives, HeuristicTakesThreeValues) {
  for (auto [word, want] : {std::pair{"Off", CacheHeuristic::Off}, std::pair{"off", CacheHeuristic::Off},
                            std::pair{"LastModified", CacheHeuristic::LastModified},
                            std::pair{"On", CacheHeuristic::On}}) {
    auto r = load(std::string("Listen 8080\nCacheHeuristic ") + word + "\n");
    ASSERT_TRUE(r.ok()) << word << ": " << first_error(r);
    EXPECT_EQ(r.config->main_server.cache.heuristic, want) << word;
  }
}

TEST(CacheDirectives, EnableAndDisableDecideByLongestPrefix) {
  auto r = load(std::string(kProxied) +
                "  CacheEnable disk /static\n  CacheEnable mem http://a.test/api/\n  CacheDisable /static/private\n"
                "  <Location /static/live>\n    CacheDisable on\n  </Location>\n"
                "  <Location /news>\n    CacheEnable mem\n  </Location>\n</VirtualHost>\n");
  ASSERT_TRUE(r.ok()) << first_error(r);
  const auto& c = r.config->vhosts.at(0).cache;
  EXPECT_TRUE(c.enabled_for("/static/a.css"));
  EXPECT_TRUE(c.enabled_for("/static"));
  EXPECT_FALSE(c.enabled_for("/staticx"));  // segment boundary
  EXPECT_FALSE(c.enabled_for("/static/private/x"));
  EXPECT_FALSE(c.enabled_for("/static/live/feed"));
  EXPECT_TRUE(c.enabled_for("/api/v1"));  // the URL form's path
  EXPECT_TRUE(c.enabled_for("/news/today"));
  EXPECT_FALSE(c.enabled_for("/other"));
}

TEST(CacheDirectives, DisableWinsATie) {
  CacheConfig c;
  c.rules = {{"/a", true}, {"/a", false}};
  EXPECT_FALSE(c.enabled_for("/a/x"));
  c.rules = {{"/a", false}, {"/a", true}};
  EXPECT_FALSE(c.enabled_for("/a/x"));
}

struct BadCase {
  const char* text;
  int line;
  const char* message;
};

TEST(CacheDirectives, ErrorsNameTheLineAndTheFix) {
  const BadCase cases[] = {
      {"Listen 8080\nCacheEnable ram /\n", 2, "the cache type must be mem"},
      {"Listen 8080\nCacheEnable mem static\n", 2, "must start with '/'"},
      {"Listen 8080\n<Location /x>\n  CacheEnable mem /y\n</Location>\n", 3, "takes no URL"},
      {"Listen 8080\n<Location /x>\n  CacheDisable /x\n</Location>\n", 3, "CacheDisable on"},
      {"Listen 8080\nCacheDisable static\n", 2, "starting with '/'"},
      {"Listen 8080\nCacheSize 100K\n", 2, "too small"},
      {"Listen 8080\nCacheSize lots\n", 2, "CacheSize"},
      {"Listen 8080\nCacheLastModifiedFactor much\n", 2, "fraction"},
      {"Listen 8080\nCacheGrace soon\n", 2, "CacheGrace"},
      {"Listen 8080\nCacheHeader maybe\n", 2, "CacheHeader"},
      {"Listen 8080\nCacheHeuristic sometimes\n", 2, "give Off, LastModified or On"},
      {"Listen 8080\nCachePurgeRequire host example.com\n", 2, "not supported"},
      {"Listen 8080\n<VirtualHost *:8080>\n  CacheSize 1G\n</VirtualHost>\n", 3, "CacheSize"},
  };
  for (const auto& c : cases) {
    auto r = load(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.errors[0].file, "c.conf") << c.text;
    EXPECT_EQ(r.errors[0].line, c.line) << c.text << " -> " << first_error(r);
    EXPECT_NE(r.errors[0].message.find(c.message), std::string::npos) << c.text << " -> " << first_error(r);
  }
}

TEST(CacheDirectives, EnableWithoutAnyProxyGivesANotice) {
  auto r = load("Listen 8080\n<VirtualHost *:8080>\n  ServerName s.test\n  CacheEnable mem /\n</VirtualHost>\n");
  ASSERT_TRUE(r.ok()) << first_error(r);
  EXPECT_TRUE(has_notice(*r.config, "c.conf:2: CacheEnable has no effect here"));
  auto ok = load(std::string(kProxied) + "  CacheEnable mem /\n</VirtualHost>\n");
  ASSERT_TRUE(ok.ok()) << first_error(ok);
  EXPECT_FALSE(has_notice(*ok.config, "CacheEnable has no effect"));
}

}  // namespace
}  // namespace pillar::config
