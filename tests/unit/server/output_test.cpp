// http1::Output, the one client writer, over a scripted transport: order of
// memory and file bytes, partial writes and EAGAIN, sendfile or copy, bytes
// passed through without a copy, and a client that goes away.
#include "server/http1/output.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace pillar::server::http1 {
namespace {

// Takes at most `budget` bytes in total before answering Again, and at most
// `per_call` per call; records what it was given and how.
class ScriptedTransport final : public core::Transport {
 public:
  std::string got;
  size_t budget = SIZE_MAX;
  size_t per_call = SIZE_MAX;
  bool zero_copy = true;
  bool broken = false;
  int sendfile_calls = 0, writev_calls = 0;

  core::Io read(void*, size_t) override { return {core::Io::Status::Again, 0, 0}; }
  core::Io writev(const iovec* iov, int count) override {
    ++writev_calls;
    if (broken) return {core::Io::Status::Error, 0, EPIPE};
    size_t n = 0;
    for (int i = 0; i < count; ++i) {
      size_t take = std::min({iov[i].iov_len, budget - n, per_call - n});
      got.append(static_cast<const char*>(iov[i].iov_base), take);
      n += take;
      if (take < iov[i].iov_len) break;
    }
    return take_budget(n);
  }
  bool can_zero_copy() const override { return zero_copy; }
  core::Io sendfile(int fd, uint64_t& offset, size_t len) override {
    ++sendfile_calls;
    std::string buf(std::min({len, budget, per_call}), '\0');
    ssize_t r = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(offset));
    if (r == 0) return {core::Io::Status::Eof, 0, 0};
    got.append(buf.data(), static_cast<size_t>(r));
    offset += static_cast<uint64_t>(r);
    return take_budget(static_cast<size_t>(r));
  }
  core::Io splice_from_pipe(int, size_t) override { return {core::Io::Status::Error, 0, EINVAL}; }
  core::Io splice_to_pipe(int, size_t) override { return {core::Io::Status::Error, 0, EINVAL}; }
  void shutdown_write() override {}
  int fd() const override { return -1; }

 private:
  core::Io take_budget(size_t n) {
    if (n == 0) return {core::Io::Status::Again, 0, 0};
    budget -= n;
    return core::Io::moved(n);
  }
};

std::shared_ptr<core::OpenFile> temp_file(const std::string& content) {
  char path[] = "/tmp/pillar-output-XXXXXX";
  int fd = ::mkstemp(path);
  EXPECT_GE(fd, 0);
  ::unlink(path);
  EXPECT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  auto f = std::make_shared<core::OpenFile>();
  f->fd = fd;
  f->size = content.size();
  return f;
}

TEST(Output, MemoryAndFileBytesGoOutInTheOrderQueued) {
  ScriptedTransport t;
  Output o(t);
  std::string big(100 * 1024, 'x');
  big[0] = 'A';
  big.back() = 'Z';
  o.append("head|");
  ASSERT_TRUE(o.add_file(temp_file(big), 0, big.size()));
  o.append("|tail");
  EXPECT_EQ(o.pending(), 5 + big.size() + 5);
  EXPECT_EQ(o.flush(), Output::Result::Done);
  EXPECT_EQ(t.got, "head|" + big + "|tail");
  EXPECT_GE(t.sendfile_calls, 1);
  EXPECT_EQ(o.sendfile_bytes(), big.size());
  EXPECT_EQ(o.written(), t.got.size());
  EXPECT_TRUE(o.empty());
}

TEST(Output, SmallFileRangesAreReadIntoTheHeadWrite) {
  ScriptedTransport t;
  Output o(t);
  o.append("H");
  ASSERT_TRUE(o.add_file(temp_file("0123456789"), 2, 5));
  EXPECT_EQ(o.flush(), Output::Result::Done);
  EXPECT_EQ(t.got, "H23456");
  EXPECT_EQ(t.sendfile_calls, 0);
  EXPECT_EQ(t.writev_calls, 1);
}

TEST(Output, WithoutSendfileFileBytesAreCopied) {
  ScriptedTransport t;
  Output o(t);
  o.set_sendfile(false);
  std::string big(70 * 1024, 'y');
  ASSERT_TRUE(o.add_file(temp_file(big), 0, big.size()));
  EXPECT_EQ(o.flush(), Output::Result::Done);
  EXPECT_EQ(t.got, big);
  EXPECT_EQ(t.sendfile_calls, 0);
  EXPECT_EQ(o.sendfile_bytes(), 0u);
}

TEST(Output, AFullSocketKeepsTheRestQueuedUntilWritable) {
  ScriptedTransport t;
  t.budget = 7;
  Output o(t);
  o.append("0123456789abcdef");
  EXPECT_EQ(o.flush(), Output::Result::Again);
  EXPECT_FALSE(o.writable());
  EXPECT_EQ(o.pending(), 9u);
  EXPECT_EQ(o.flush(), Output::Result::Again);  // not writable: nothing is tried
  EXPECT_EQ(t.got, "0123456");
  t.budget = SIZE_MAX;
  o.on_writable();
  EXPECT_EQ(o.flush(), Output::Result::Done);
  EXPECT_EQ(t.got, "0123456789abcdef");
}

TEST(Output, WriteThroughSendsTheQueueFirstAndReportsWhatItTook) {
  ScriptedTransport t;
  t.budget = 8;
  Output o(t);
  o.append("HEAD");
  std::string body = "bodybytes";
  iovec v{body.data(), body.size()};
  size_t taken = 0;
  EXPECT_EQ(o.write_through({&v, 1}, taken), Output::Result::Done);
  EXPECT_EQ(t.got, "HEADbody");
  EXPECT_EQ(taken, 4u);  // the caller keeps "bytes"
  // A partial write that leaves queued bytes takes none of the caller's.
  ScriptedTransport t2;
  t2.budget = 2;
  Output o2(t2);
  o2.append("HEAD");
  EXPECT_EQ(o2.write_through({&v, 1}, taken), Output::Result::Again);
  EXPECT_EQ(taken, 0u);
  EXPECT_EQ(o2.pending(), 2u);
}

TEST(Output, AGoneClientIsAnErrorAndClearDropsTheRest) {
  ScriptedTransport t;
  t.broken = true;
  Output o(t);
  o.append("x");
  EXPECT_EQ(o.flush(), Output::Result::Error);
  o.clear();
  EXPECT_TRUE(o.empty());
}

TEST(Output, AFileThatShrankIsAnError) {
  ScriptedTransport t;
  Output o(t);
  auto f = temp_file(std::string(20000, 'z'));
  ASSERT_TRUE(o.add_file(f, 0, 40000));  // promises more than the file holds
  EXPECT_EQ(o.flush(), Output::Result::Error);
}

}  // namespace
}  // namespace pillar::server::http1
