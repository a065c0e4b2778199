// core::Fd closes what it owns exactly once and nothing it gave away.
#include "core/fd.h"

#include <fcntl.h>
#include <gtest/gtest.h>

namespace pillar::core {
namespace {

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

TEST(Fd, ClosesOnDestruction) {
  int raw;
  {
    Fd f(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    raw = f.get();
    ASSERT_TRUE(f.valid());
    EXPECT_TRUE(is_open(raw));
  }
  EXPECT_FALSE(is_open(raw));
}

TEST(Fd, MoveTransfersOwnershipOnce) {
  Fd a(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  int raw = a.get();
  Fd b(std::move(a));
  EXPECT_FALSE(a.valid());
  EXPECT_EQ(b.get(), raw);
  Fd c;
  c = std::move(b);
  EXPECT_EQ(c.get(), raw);
  c.reset();
  EXPECT_FALSE(is_open(raw));
}

TEST(Fd, ReleaseGivesUpOwnership) {
  int raw;
  {
    Fd f(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    raw = f.release();
    EXPECT_FALSE(f.valid());
  }
  EXPECT_TRUE(is_open(raw));
  ::close(raw);
}

}  // namespace
}  // namespace pillar::core
