// core::DirectoryWatch over a real temporary tree: a token stays fresh
// until something in its directory changes (a file created, written,
// re-moded, renamed, removed; the directory itself removed), a poll after
// the change always sees it, missing and unwatchable directories are told
// apart, and the watch limit holds.
#include "core/directory_watch.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <functional>
#include <fstream>

namespace fs = std::filesystem;
using pillar::core::DirectoryWatch;

namespace {

class DirectoryWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "pillar-watch-XXXXXX").string();
    ASSERT_TRUE(mkdtemp(tmpl.data()));
    root_ = tmpl;
    fs::create_directories(root_ + "/d/sub");
  }
  void TearDown() override { fs::remove_all(root_); }
  std::string p(const std::string& rel) const { return root_ + "/" + rel; }
  // A fresh token for `dir` on `w`, asserting it is watched.
  DirectoryWatch::Token token(DirectoryWatch& w, const std::string& dir) {
    DirectoryWatch::Token t;
    EXPECT_EQ(w.watch(dir, t), DirectoryWatch::Result::Watched) << dir;
    return t;
  }
  std::string root_;
};

TEST_F(DirectoryWatchTest, EachKindOfChangeIsSeenByTheNextPoll) {
  DirectoryWatch w;
  ASSERT_TRUE(w.available());
  const std::string d = p("d");
  struct Change {
    const char* what;
    std::function<void()> make;
  };
  const std::vector<Change> changes = {
      {"create", [&] { std::ofstream(p("d/f")) << "1"; }},
      {"write", [&] { std::ofstream(p("d/f"), std::ios::app) << "2"; }},
      {"chmod", [&] { fs::permissions(p("d/f"), fs::perms::owner_read); }},
      {"rename", [&] { fs::rename(p("d/f"), p("d/g")); }},
      {"remove", [&] { fs::remove(p("d/g")); }},
      {"mkdir", [&] { fs::create_directory(p("d/n")); }},
  };
  for (const auto& c : changes) {
    auto t = token(w, d);
    w.poll();
    EXPECT_FALSE(w.changed(t)) << c.what << ": nothing happened yet";
    c.make();
    w.poll();
    EXPECT_TRUE(w.changed(t)) << c.what;
    EXPECT_FALSE(w.changed(token(w, d))) << c.what << ": a new token is fresh";
  }
  EXPECT_EQ(w.watches(), 1u) << "one directory, one watch, however often it is asked for";
}

TEST_F(DirectoryWatchTest, AChangeInASubdirectoryIsNotItsParentsChange) {
  DirectoryWatch w;
  auto parent = token(w, p("d"));
  auto sub = token(w, p("d/sub"));
  std::ofstream(p("d/sub/x")) << "x";
  w.poll();
  EXPECT_TRUE(w.changed(sub));
  EXPECT_FALSE(w.changed(parent));
}

TEST_F(DirectoryWatchTest, ARemovedDirectoryStaysChangedEvenIfItsNumberIsReused) {
  DirectoryWatch w;
  auto gone = token(w, p("d/sub"));
  fs::remove(p("d/sub"));
  w.poll();
  EXPECT_TRUE(w.changed(gone));
  // The kernel may give the next watch the same number: the old token must not match it.
  fs::create_directory(p("other"));
  auto other = token(w, p("other"));
  EXPECT_TRUE(w.changed(gone));
  EXPECT_FALSE(w.changed(other));
}

TEST_F(DirectoryWatchTest, MissingAndUnwatchableAreToldApart) {
  DirectoryWatch w(1);
  DirectoryWatch::Token t;
  EXPECT_EQ(w.watch(p("nope"), t), DirectoryWatch::Result::Missing);
  std::ofstream(p("file")) << "f";
  EXPECT_EQ(w.watch(p("file"), t), DirectoryWatch::Result::Missing) << "not a directory";
  EXPECT_EQ(w.watch(p("d"), t), DirectoryWatch::Result::Watched);
  EXPECT_EQ(w.watch(p("d/sub"), t), DirectoryWatch::Result::Unwatchable) << "beyond max_watches";
  EXPECT_EQ(w.watch(p("d"), t), DirectoryWatch::Result::Watched) << "one already watched keeps its token";
  EXPECT_EQ(w.watches(), 1u);
  EXPECT_FALSE(pillar::core::on_network_filesystem(p("d")));
}

}  // namespace
