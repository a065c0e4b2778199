// RewriteMap prg: helpers (rewrite/prg_map.h) in this process acting as the
// master: answers in order, NULL as "no value", a lookup that overruns its
// timeout answers the default and the helper is replaced, and the stale
// answer of the slow one is never read as the next key's.
#include "rewrite/prg_map.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

namespace fs = std::filesystem;
using namespace pillar;
using namespace std::chrono_literals;

namespace {

class PrgMap : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "pillar-prg-XXXXXX").string();
    ASSERT_TRUE(mkdtemp(tmpl.data()));
    dir_ = tmpl;
    helper_ = dir_ + "/helper.sh";
    std::ofstream(helper_) << "#!/bin/sh\n"
                              "while read k; do\n"
                              "  case \"$k\" in\n"
                              "    none) echo NULL ;;\n"
                              "    slow) : > \"$0.got-slow\"; sleep 2; echo late-answer ;;\n"
                              "    *) echo \"v-$k\" ;;\n"
                              "  esac\n"
                              "done\n";
    ::chmod(helper_.c_str(), 0755);
  }
  void TearDown() override {
    map_.reset();
    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    fs::remove_all(dir_);
  }
  // Reaps what exited (as the master's SIGCHLD does) and restarts, until a
  // helper other than `old` runs or 5 s pass.
  bool restarted(pid_t old) {
    auto end = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < end) {
      int status = 0;
      pid_t pid;
      while ((pid = waitpid(-1, &status, WNOHANG)) > 0) rewrite::ProgramMap::reaped(pid, status);
      rewrite::ProgramMap::maintain();
      if (map_->helper_pid() > 0 && map_->helper_pid() != old) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  std::string dir_, helper_;
  std::shared_ptr<rewrite::ProgramMap> map_;
};

TEST_F(PrgMap, AnswersInOrderNullIsNone) {
  std::string why;
  map_ = rewrite::ProgramMap::create("m", helper_, "", why);
  ASSERT_TRUE(map_) << why;
  ASSERT_TRUE(map_->start(1s, "", "", why)) << why;
  std::string v;
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(map_->lookup("k" + std::to_string(i), v));
    EXPECT_EQ(v, "v-k" + std::to_string(i));
  }
  EXPECT_FALSE(map_->lookup("none", v));
  EXPECT_FALSE(map_->lookup("two\nlines", v)) << "a key with a line break would desynchronise the helper";
  ASSERT_TRUE(map_->lookup("after", v));
  EXPECT_EQ(v, "v-after");
}

TEST_F(PrgMap, TimeoutAnswersTheDefaultAndReplacesTheHelper) {
  std::string why;
  map_ = rewrite::ProgramMap::create("m", helper_, "", why);
  ASSERT_TRUE(map_ && map_->start(200ms, "", "", why)) << why;
  pid_t first = map_->helper_pid();
  ASSERT_GT(first, 0);
  std::string v;
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(map_->lookup("slow", v));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_EQ(map_->helper_pid(), 0) << "no helper until the master restarts one";
  EXPECT_FALSE(map_->lookup("meanwhile", v)) << "answers the default at once";
  ASSERT_TRUE(restarted(first));
  ASSERT_TRUE(map_->lookup("next", v));
  EXPECT_EQ(v, "v-next") << "not the slow helper's late answer";
}

TEST_F(PrgMap, KilledHelperIsRestartedOnTheSamePipes) {
  std::string why;
  map_ = rewrite::ProgramMap::create("m", helper_, "", why);
  ASSERT_TRUE(map_ && map_->start(1s, "", "", why)) << why;
  std::string v;
  ASSERT_TRUE(map_->lookup("a", v));
  pid_t first = map_->helper_pid();
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  ASSERT_TRUE(restarted(first));
  ASSERT_TRUE(map_->lookup("b", v));
  EXPECT_EQ(v, "v-b");
}

TEST_F(PrgMap, ADeathMidLookupEndsItSoon) {
  std::string why;
  map_ = rewrite::ProgramMap::create("m", helper_, "", why);
  ASSERT_TRUE(map_ && map_->start(5s, "", "", why)) << why;
  pid_t pid = map_->helper_pid();
  std::thread killer([&] {
    // Until the helper has the key (the lookup is waiting for its answer), polled with a deadline.
    auto end = std::chrono::steady_clock::now() + 5s;
    while (!fs::exists(helper_ + ".got-slow") && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(5ms);
    ::kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    rewrite::ProgramMap::reaped(pid, status);  // what the master does on SIGCHLD
  });
  std::string v;
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(map_->lookup("slow", v));
  killer.join();
  EXPECT_TRUE(fs::exists(helper_ + ".got-slow")) << "the helper got the key before it was killed";
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s) << "ended by the death, not by the 5 s timeout";
}

}  // namespace
