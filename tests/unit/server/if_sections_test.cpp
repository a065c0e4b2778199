// <If> sections on the request path (server/if_sections.h) over a Runtime
// built from text: which sections a request satisfies (the chains, the
// order of the lists, the containers that must cover the request), and
// the per-thread cache: one Site per set of true sections, the body merged
// last into it, the vhost's own Site when nothing holds, and its bound.
#include "server/if_sections.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "config/loader.h"
#include "http/request.h"
#include "server/site.h"

using namespace pillar;

namespace {

class IfSectionsTest : public ::testing::Test {
 protected:
  void load(const std::string& extra) {
    config::LoadOptions o;
    o.server_root = "/tmp";
    auto r = config::load_config_text("Listen 127.0.0.1:0\nDocumentRoot /tmp\n" + extra, "t.conf", o);
    ASSERT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].to_string());
    std::string err;
    rt_ = server::Runtime::build(std::move(r.config), err, {});
    ASSERT_TRUE(rt_) << err;
  }
  // The lines of the chosen sections, for `path` (file /tmp + path) with `fields`.
  std::vector<int> chosen(const std::string& path, std::vector<http::HeaderField> fields = {}) {
    head_.method_name = "GET";
    head_.headers = std::move(fields);
    config::ExprInput in;
    in.head = &head_;
    in.uri = path;
    in.remote_addr = "127.0.0.1";
    out_.clear();
    server::select_if_sections(*rt_->main_site().cfg, in, "/tmp" + path, path, out_);
    std::vector<int> lines;
    for (const auto* s : out_) lines.push_back(s->where.line);
    return lines;
  }
  std::unique_ptr<server::Runtime> rt_;
  http::RequestHead head_;
  std::vector<const config::IfSection*> out_;
};

TEST_F(IfSectionsTest, ChainsTakeTheirFirstTrueSectionAndNestedOnesFollow) {
  load("<If \"req('X-A') == '1'\">\n"          // 3
       "  <If \"req('X-B') == '1'\">\n"        // 4
       "  </If>\n"
       "</If>\n"
       "<ElseIf \"req('X-A') == '2'\">\n"      // 7
       "</ElseIf>\n"
       "<ElseIf \"true\">\n"                   // 9
       "</ElseIf>\n"
       "<Else>\n"                              // 11
       "</Else>\n"
       "<If \"false\">\n"                      // 13
       "</If>\n"
       "<Else>\n"                              // 15
       "</Else>\n");
  EXPECT_EQ(chosen("/x", {{"X-A", "1"}}), (std::vector<int>{3, 15}));
  EXPECT_EQ(chosen("/x", {{"X-A", "1"}, {"X-B", "1"}}), (std::vector<int>{3, 4, 15}));
  EXPECT_EQ(chosen("/x", {{"X-A", "2"}, {"X-B", "1"}}), (std::vector<int>{7, 15})) << "nested only under its own";
  EXPECT_EQ(chosen("/x"), (std::vector<int>{9, 15})) << "the first true <ElseIf>, not the <Else>";
}

TEST_F(IfSectionsTest, ContainersMustCoverTheRequestAndComeInMergeOrder) {
  load("<Location /app>\n  <If \"true\">\n  </If>\n</Location>\n"          // If at 4
       "<Directory /tmp/sub>\n  <If \"true\">\n  </If>\n</Directory>\n"  // 8
       "<Files \"*.php\">\n  <If \"true\">\n  </If>\n</Files>\n"             // 12
       "<If \"true\">\n</If>\n");                                            // 15
  EXPECT_EQ(chosen("/a.txt"), (std::vector<int>{15}));
  EXPECT_EQ(chosen("/sub/a.php"), (std::vector<int>{15, 8, 12}));
  EXPECT_EQ(chosen("/app/sub/x"), (std::vector<int>{15, 4})) << "the file is /tmp/app/sub/x: no <Directory /tmp/sub>";
}

TEST_F(IfSectionsTest, OneSitePerSetOfTrueSectionsWithTheBodyMergedLast) {
  load("<Directory /tmp>\n  Header set X-Dir 1\n</Directory>\n"
       "<If \"req('X-A') == '1'\">\n  Header set X-If a\n  Require all denied\n  DirectoryIndex a.html\n</If>\n"
       "<If \"req('X-B') == '1'\">\n  Header set X-If b\n</If>\n");
  server::IfSiteCache cache(2);
  const server::Site& base = rt_->main_site();
  chosen("/x");
  server::IfOutcome none = cache.resolve(*rt_, base, nullptr, out_);
  EXPECT_EQ(none.site, &base);
  EXPECT_EQ(cache.builds(), 0u);

  chosen("/x", {{"X-A", "1"}});
  server::IfOutcome a = cache.resolve(*rt_, base, nullptr, out_);
  ASSERT_EQ(a.status, 0) << a.error;
  ASSERT_NE(a.site, &base);
  const config::VirtualHost& vh = *a.site->cfg;
  ASSERT_EQ(vh.directories.size(), 2u);
  EXPECT_FALSE(vh.directories[0].from_if);
  EXPECT_TRUE(vh.directories[1].from_if) << "the body is merged after every <Directory>";
  EXPECT_EQ(vh.directories[1].path, "/");
  ASSERT_EQ(vh.directories[1].meta.headers.size(), 1u);
  EXPECT_FALSE(vh.directories[1].access.empty());
  EXPECT_EQ(vh.directory_index, std::vector<std::string>{"a.html"});
  EXPECT_EQ(base.cfg->directory_index, std::vector<std::string>{"index.html"}) << "the vhost's own is unchanged";
  EXPECT_EQ(a.site->locations.size(), base.locations.size());

  server::IfOutcome again = cache.resolve(*rt_, base, nullptr, out_);
  EXPECT_EQ(again.site, a.site) << "built once per set";
  EXPECT_EQ(cache.builds(), 1u);

  chosen("/x", {{"X-A", "1"}, {"X-B", "1"}});
  server::IfOutcome ab = cache.resolve(*rt_, base, nullptr, out_);
  ASSERT_EQ(ab.site->cfg->directories.size(), 3u);
  EXPECT_EQ(ab.site->cfg->directories[2].where.line, 11) << "in file order";
  chosen("/x", {{"X-B", "1"}});
  cache.resolve(*rt_, base, nullptr, out_);
  EXPECT_EQ(cache.builds(), 3u);
  chosen("/x", {{"X-A", "1"}});
  server::IfOutcome evicted = cache.resolve(*rt_, base, nullptr, out_);
  EXPECT_EQ(cache.builds(), 4u) << "bounded: the least recent set was let go";
  EXPECT_NE(evicted.site, a.site);
  EXPECT_TRUE(a.hold) << "a request's hold keeps its Site alive";
}

}  // namespace
