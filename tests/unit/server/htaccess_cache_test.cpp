// The per-thread .htaccess cache (server/htaccess.h) over a real temporary
// tree and a Runtime built from text: which files the walk finds, that a
// file is parsed once per identity and a chain's Site built once, that an
// edit (size, mtime) is seen at once, that a missing file is re-stat'ed
// unless PillarHtaccessCheck remembers it, that under `watch` (the
// default) a walk is remembered until one of its directories changes, and
// that the caches are bounded.
#include "server/htaccess.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

#include <filesystem>
#include <fstream>

#include "config/loader.h"
#include "server/site.h"

namespace fs = std::filesystem;
using namespace pillar;

namespace {

class HtaccessCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "pillar-htaccess-XXXXXX").string();
    ASSERT_TRUE(mkdtemp(tmpl.data()));
    root_ = tmpl;
    fs::create_directories(root_ + "/www/a/b");
  }
  void TearDown() override {
    rt_.reset();
    fs::remove_all(root_);
  }
  void write(const std::string& rel, const std::string& text) { std::ofstream(root_ + "/" + rel) << text; }
  void load(const std::string& extra = "") {
    config::LoadOptions o;
    o.server_root = root_;
    auto r = config::load_config_text("Listen 127.0.0.1:0\nDocumentRoot " + www() + "\n<Directory " + www() +
                                          ">\n  AllowOverride All\n</Directory>\n" + extra,
                                      "t.conf", o);
    ASSERT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].to_string());
    std::string err;
    rt_ = server::Runtime::build(std::move(r.config), err, {});
    ASSERT_TRUE(rt_) << err;
  }
  std::string www(const std::string& rel = "") const { return root_ + "/www" + rel; }
  server::HtaccessOutcome resolve(server::HtaccessCache& c, const std::string& rel, uint64_t now = 0) {
    return c.resolve(*rt_, rt_->main_site(), www(rel), now);
  }

  std::string root_;
  std::unique_ptr<server::Runtime> rt_;
};

TEST_F(HtaccessCacheTest, NoFileNoSiteAndOnlyOpenDirectoriesAreStatted) {
  load();
  server::HtaccessCache c;
  auto r = resolve(c, "/a/b/page.html");
  EXPECT_EQ(r.site, &rt_->main_site());
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(c.counters().builds, 0u);
  // www, www/a, www/a/b, and the page itself (ENOTDIR or ENOENT): nothing above the <Directory>.
  EXPECT_EQ(c.counters().stats, 4u);
}

TEST_F(HtaccessCacheTest, ParsedOnceBuiltOnceAndAnEditIsSeenAtOnce) {
  write("www/.htaccess", "DirectoryIndex root.html\n");
  write("www/a/.htaccess", "ErrorDocument 404 \"a\"\n");
  load();
  server::HtaccessCache c;
  auto r1 = resolve(c, "/a/b/x");
  ASSERT_EQ(r1.status, 0) << r1.error;
  ASSERT_NE(r1.site, &rt_->main_site());
  EXPECT_EQ(r1.site->cfg->directory_index, std::vector<std::string>{"root.html"});
  EXPECT_EQ(r1.site->cfg->error_documents.at(404).value, "a");
  EXPECT_EQ(c.counters().parses, 2u);
  EXPECT_EQ(c.counters().builds, 1u);
  auto r2 = resolve(c, "/a/other");
  EXPECT_EQ(r2.site, r1.site) << "the same chain of files: the same Site";
  auto top = resolve(c, "/index.html");
  EXPECT_NE(top.site, r1.site);
  EXPECT_EQ(top.site->cfg->error_documents.count(404), 0u) << "a/.htaccess does not reach the parent";
  EXPECT_EQ(c.counters().parses, 2u) << "the root file parsed once for both chains";
  EXPECT_EQ(c.counters().builds, 2u);

  write("www/a/.htaccess", "ErrorDocument 404 \"edited\"\n");
  auto r3 = resolve(c, "/a/b/x");
  EXPECT_EQ(r3.site->cfg->error_documents.at(404).value, "edited");
  EXPECT_EQ(c.counters().parses, 3u);
  // The same size, another mtime: a new identity too.
  write("www/a/.htaccess", "ErrorDocument 404 \"EDITED\"\n");
  struct utimbuf t {1000000000, 1000000000};
  ASSERT_EQ(utime(www("/a/.htaccess").c_str(), &t), 0);
  EXPECT_EQ(resolve(c, "/a/b/x").site->cfg->error_documents.at(404).value, "EDITED");
  // The Site an earlier request holds stays valid after the cache moved on.
  EXPECT_EQ(r1.hold->cfg->error_documents.at(404).value, "a");
}

// PillarHtaccessCheck watch (the default): the steady state stats nothing,
// and every kind of change in a directory of the walk is seen by the next
// resolve, with no clock involved.
TEST_F(HtaccessCacheTest, WatchRemembersAWalkUntilOneOfItsDirectoriesChanges) {
  load();
  ASSERT_TRUE(rt_->config().htaccess_watch);
  server::HtaccessCache c;
  EXPECT_EQ(resolve(c, "/a/b/x", 1).site, &rt_->main_site());
  const uint64_t stats = c.counters().stats;
  ASSERT_GT(stats, 0u);
  for (uint64_t now : {2u, 50'000u, 10'000'000u}) EXPECT_EQ(resolve(c, "/a/b/x", now).site, &rt_->main_site());
  EXPECT_EQ(c.counters().stats, stats) << "remembered: no stat while nothing changes, whatever the time";
  EXPECT_EQ(c.counters().walks, 1u);
  EXPECT_EQ(c.counters().unwatched, 0u);

  write("www/a/.htaccess", "DirectoryIndex created.html\n");
  auto r = resolve(c, "/a/b/x");
  ASSERT_NE(r.site, &rt_->main_site()) << "a new file is seen by the next request";
  EXPECT_EQ(r.site->cfg->directory_index, std::vector<std::string>{"created.html"});
  write("www/a/.htaccess", "DirectoryIndex edited.html\n");
  EXPECT_EQ(resolve(c, "/a/b/x").site->cfg->directory_index, std::vector<std::string>{"edited.html"});
  fs::remove(www("/a/.htaccess"));
  EXPECT_EQ(resolve(c, "/a/b/x").site, &rt_->main_site()) << "a removed file is seen too";
  const uint64_t walks = c.counters().walks;
  resolve(c, "/a/b/x");
  EXPECT_EQ(c.counters().walks, walks) << "remembered again once nothing changes";

  // A directory that did not exist: its parent's watch sees it appear.
  EXPECT_EQ(resolve(c, "/a/new/y").site, &rt_->main_site());
  fs::create_directories(www("/a/new"));
  write("www/a/new/.htaccess", "DirectoryIndex fresh.html\n");
  auto n = resolve(c, "/a/new/y");
  ASSERT_NE(n.site, &rt_->main_site());
  EXPECT_EQ(n.site->cfg->directory_index, std::vector<std::string>{"fresh.html"});

  // A directory swapped for another (a deploy's rename): the new one's file is read.
  fs::create_directories(www("/a/b2"));
  write("www/a/b2/.htaccess", "DirectoryIndex swapped.html\n");
  fs::rename(www("/a/b"), www("/a/old"));
  fs::rename(www("/a/b2"), www("/a/b"));
  auto sw = resolve(c, "/a/b/x");
  ASSERT_NE(sw.site, &rt_->main_site());
  EXPECT_EQ(sw.site->cfg->directory_index, std::vector<std::string>{"swapped.html"});

  // A directory made unsearchable: the next request is refused, not served from memory.
  if (::geteuid() != 0) {
    ASSERT_EQ(::chmod(www("/a/b").c_str(), 0), 0);
    EXPECT_EQ(resolve(c, "/a/b/x").status, 403);
    ASSERT_EQ(::chmod(www("/a/b").c_str(), 0755), 0);
  }
}

// Directories it cannot watch (here: no watch allowed at all) make the walk
// again on every request, as PillarHtaccessCheck 0: never stale.
TEST_F(HtaccessCacheTest, WatchWithoutWatchesStatsEveryRequest) {
  load();
  server::HtaccessCache c(server::HtaccessCache::kMaxFiles, server::HtaccessCache::kMaxSites, 0);
  resolve(c, "/a/x");
  const uint64_t first = c.counters().stats;
  resolve(c, "/a/x");
  EXPECT_EQ(c.counters().stats, 2 * first);
  EXPECT_EQ(c.counters().unwatched, 2u);
  write("www/a/.htaccess", "DirectoryIndex new.html\n");
  EXPECT_NE(resolve(c, "/a/x").site, &rt_->main_site());
}

TEST_F(HtaccessCacheTest, PillarHtaccessCheckTakesWatchOrSeconds) {
  config::LoadOptions o;
  o.server_root = root_;
  auto bad = config::load_config_text("Listen 127.0.0.1:0\nPillarHtaccessCheck sometimes\n", "t.conf", o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.errors[0].to_string().find("t.conf:2"), std::string::npos) << bad.errors[0].to_string();
  EXPECT_NE(bad.errors[0].to_string().find("watch"), std::string::npos) << bad.errors[0].to_string();
  load("PillarHtaccessCheck 3\n");
  EXPECT_FALSE(rt_->config().htaccess_watch);
  EXPECT_EQ(rt_->config().htaccess_check.count(), 3000);
  load("PillarHtaccessCheck watch\n");
  EXPECT_TRUE(rt_->config().htaccess_watch);
}

TEST_F(HtaccessCacheTest, ErrorsAreCachedUntilTheFileChanges) {
  write("www/a/.htaccess", "\nFrobnicate\n");
  load();
  server::HtaccessCache c;
  auto r = resolve(c, "/a/x");
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.error.find(www("/a/.htaccess") + ":2: Invalid command 'Frobnicate'"), std::string::npos) << r.error;
  resolve(c, "/a/y");
  EXPECT_EQ(c.counters().parses, 1u);
  EXPECT_EQ(c.counters().builds, 1u);
  write("www/a/.htaccess", "DirectoryIndex fixed.html\n");
  EXPECT_EQ(resolve(c, "/a/x").status, 0);
}

TEST_F(HtaccessCacheTest, WalksRememberedOnlyWithPillarHtaccessCheck) {
  load("PillarHtaccessCheck 0\n");
  server::HtaccessCache every;
  resolve(every, "/a/x");
  uint64_t first = every.counters().stats;
  resolve(every, "/a/x");
  EXPECT_EQ(every.counters().stats, 2 * first) << "default: looked for again on every request, as Apache";
  write("www/a/.htaccess", "DirectoryIndex new.html\n");
  EXPECT_NE(resolve(every, "/a/x").site, &rt_->main_site()) << "a new file is seen by the next request";

  uint64_t s0 = every.counters().stats;
  resolve(every, "/a/x");
  EXPECT_EQ(every.counters().stats, s0 + first) << "a found file is stat'ed on every request too";

  fs::remove(www("/a/.htaccess"));
  load("PillarHtaccessCheck 2\n");
  server::HtaccessCache timed;
  resolve(timed, "/a/x", 1000);
  uint64_t n = timed.counters().stats;
  resolve(timed, "/a/x", 1500);
  EXPECT_EQ(timed.counters().stats, n) << "the walk is remembered: nothing stat'ed again";
  EXPECT_EQ(timed.counters().walks, 1u);
  write("www/a/.htaccess", "DirectoryIndex new.html\n");
  EXPECT_EQ(resolve(timed, "/a/x", 2000).site, &rt_->main_site()) << "still remembered as missing";
  auto found = resolve(timed, "/a/x", 3100);
  EXPECT_NE(found.site, &rt_->main_site()) << "looked for again after 2 s";
  EXPECT_EQ(found.site->cfg->directory_index, std::vector<std::string>{"new.html"});
  write("www/a/.htaccess", "DirectoryIndex edited.html\n");
  EXPECT_EQ(resolve(timed, "/a/x", 4000).site->cfg->directory_index, std::vector<std::string>{"new.html"})
      << "an edit waits for the interval too";
  EXPECT_EQ(resolve(timed, "/a/x", 5200).site->cfg->directory_index, std::vector<std::string>{"edited.html"});
}

TEST_F(HtaccessCacheTest, BoundedCaches) {
  for (int i = 0; i < 20; ++i) {
    fs::create_directories(www("/d" + std::to_string(i)));
    write("www/d" + std::to_string(i) + "/.htaccess", "DirectoryIndex i" + std::to_string(i) + ".html\n");
  }
  load();
  server::HtaccessCache c(8, 4);
  std::vector<std::shared_ptr<const server::Site>> held;
  for (int i = 0; i < 20; ++i) {
    auto r = resolve(c, "/d" + std::to_string(i) + "/x");
    ASSERT_EQ(r.status, 0) << r.error;
    held.push_back(r.hold);
    EXPECT_LE(c.files_cached(), 8u);
    EXPECT_LE(c.sites_cached(), 4u);
  }
  EXPECT_EQ(c.sites_cached(), 4u);
  EXPECT_EQ(held[0]->cfg->directory_index, std::vector<std::string>{"i0.html"}) << "evicted, still held by its request";
  // The most recent ones are hits; an evicted one is built again.
  uint64_t builds = c.counters().builds;
  resolve(c, "/d19/x");
  EXPECT_EQ(c.counters().builds, builds);
  resolve(c, "/d0/x");
  EXPECT_EQ(c.counters().builds, builds + 1);
}

TEST_F(HtaccessCacheTest, LruMapEvictsTheLeastRecentlyUsed) {
  server::LruMap<int> m(2);
  m.put("a", 1);
  m.put("b", 2);
  ASSERT_NE(m.find("a"), nullptr);  // a is now the most recent
  m.put("c", 3);
  EXPECT_EQ(m.find("b"), nullptr);
  EXPECT_EQ(*m.find("a"), 1);
  EXPECT_EQ(*m.find("c"), 3);
  m.put("a", 10);
  EXPECT_EQ(*m.find("a"), 10);
  EXPECT_EQ(m.size(), 2u);
  m.erase("a");
  EXPECT_EQ(m.size(), 1u);
}

}  // namespace
