// The directive registry: one table per module, every name in one table
// only, and lookup (case-insensitive) reaches every module's table.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "config/directives.h"
#include "core/text.h"

namespace pillar::config {
namespace {

// The module whose table holds `spec`, or "" when none does.
std::string module_of(const DirectiveSpec* spec) {
  for (const auto& t : directive_tables()) {
    for (const auto& d : t.specs) {
      if (&d == spec) return std::string(t.module);
    }
  }
  return "";
}

TEST(DirectiveTables, EveryModuleHasATableAndNoNameIsInTwo) {
  std::set<std::string> modules, names;
  for (const auto& t : directive_tables()) {
    EXPECT_FALSE(t.specs.empty()) << t.module;
    EXPECT_TRUE(modules.insert(std::string(t.module)).second) << "module listed twice: " << t.module;
    for (const auto& d : t.specs) {
      EXPECT_TRUE(names.insert(core::lowercase(d.name)).second) << d.name << " is in two tables (or twice in " << t.module << ")";
      EXPECT_NE(d.apply, nullptr) << d.name;
      EXPECT_LE(d.min_args, d.max_args < 0 ? d.min_args : d.max_args) << d.name;
      EXPECT_NE(d.contexts, 0) << d.name;
      EXPECT_EQ(d.syntax.substr(0, d.name.size()), d.name) << "the syntax line starts with the name";
    }
  }
  EXPECT_EQ(modules, (std::set<std::string>{"core", "mpm", "log", "access", "content", "proxy", "cache", "vrrp",
                                            "remoteip", "rewrite", "alias", "fastcgi", "ssl", "ssl_proxy", "http2", "mime", "deflate", "cgi",
                                            "auth", "metadata", "ratelimit"}));
}

TEST(DirectiveTables, LookupFindsEachSpecInItsOwnModule) {
  for (const auto& t : directive_tables()) {
    for (const auto& d : t.specs) {
      EXPECT_EQ(find_directive(d.name), &d) << d.name;
      EXPECT_EQ(find_directive(core::lowercase(d.name)), &d) << "names are case-insensitive: " << d.name;
    }
  }
  const std::pair<const char*, const char*> kSamples[] = {
      {"Listen", "core"},           {"Timeout", "core"},         {"StartServers", "mpm"},
      {"MaxClients", "mpm"},        {"CustomLog", "log"},         {"LogLevel", "log"},
      {"Require", "access"},        {"Order", "access"},          {"DocumentRoot", "content"},
      {"SetHandler", "content"},    {"ProxyPass", "proxy"},       {"BalancerMember", "proxy"},
      {"CacheEnable", "cache"},     {"CacheLockMaxWaiters", "cache"}, {"Priority", "vrrp"},
      {"VirtualAddress", "vrrp"},   {"RemoteIPHeader", "remoteip"}, {"ProxyFCGIBackendType", "fastcgi"},
      {"SSLEngine", "ssl"},         {"Protocols", "http2"},       {"H2WindowSize", "http2"},
      {"Header", "metadata"},       {"SetEnvIf", "metadata"},
      {"ExpiresByType", "metadata"}, {"ServerSignature", "metadata"},
  };
  for (const auto& [name, module] : kSamples) EXPECT_EQ(module_of(find_directive(name)), module) << name;
  EXPECT_EQ(find_directive("NoSuchDirective"), nullptr);
  EXPECT_EQ(find_directive(""), nullptr);
}

}  // namespace
}  // namespace pillar::config
