// 1 GiB through the proxy each way: memory per request stays bounded by the
// exchange's buffers, whatever the body size (the worker's RssAnon is read
// from /proc while the transfer runs).
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcntl.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "load_generator.h"
#include "test_common.h"

namespace itest {
namespace {

constexpr uint64_t kGiB = 1ull << 30;
constexpr long kRssLimitKb = 64 * 1024;  // the worker's private memory must stay below this

// A member that reads one request, discards its Content-Length body and
// answers with the byte count.
class SinkMember {
 public:
  SinkMember() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    ::listen(fd_, 4);
    socklen_t len = sizeof sa;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~SinkMember() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  uint64_t received() const { return received_; }

 private:
  void run() {
    pollfd p{fd_, POLLIN, 0};
    while (!stop_ && ::poll(&p, 1, 100) >= 0) {
      if (!(p.revents & POLLIN)) continue;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string head;
      char buf[65536];
      while (head.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        head.append(buf, static_cast<size_t>(n));
      }
      size_t end = head.find("\r\n\r\n");
      size_t cl = head.find("Content-Length: ");
      uint64_t want = cl == std::string::npos ? 0 : std::stoull(head.substr(cl + 16));
      uint64_t got = end == std::string::npos ? 0 : head.size() - end - 4;
      while (got < want) {
        ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        got += static_cast<uint64_t>(n);
      }
      received_ = got;
      std::string body = std::to_string(got);
      std::string resp = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
      ::send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  }
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> received_{0};
  std::thread thread_;
};

// Samples the largest RssAnon of the front's workers while `busy` holds.
class RssWatch {
 public:
  explicit RssWatch(pid_t master) : master_(master), thread_([this] {
    while (!done_) {
      for (pid_t w : child_pids(master_)) max_ = std::max(max_.load(), proc_status_kb(w, "RssAnon"));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // sampling period, not synchronisation
    }
  }) {}
  ~RssWatch() { stop(); }
  long stop() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
    return max_;
  }

 private:
  pid_t master_;
  std::atomic<bool> done_{false};
  std::atomic<long> max_{0};
  std::thread thread_;
};

TEST(ProxyLarge, OneGiBDownloadAndUploadWithBoundedMemory) {
  TempTree t;
  t.mkdir("member");
  {  // a sparse 1 GiB file: no disk space, all zeros when read
    std::string f = t.path("member/big.bin");
    int fd = ::open(f.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(kGiB)), 0);
    ::close(fd);
  }
  START_SERVER(member, basic_config(t.path("member"), "StartServers 1\nPidFile " + t.path("m.pid") + "\n"));
  SinkMember sink;
  START_SERVER(front, "Listen 127.0.0.1:0\nServerName localhost\nStartServers 1\nServerLimit 1\nPidFile " +
                          t.path("f.pid") + "\nProxyPass /dl/ http://127.0.0.1:" + std::to_string(member.port()) +
                          "/\nProxyPass /ul http://127.0.0.1:" + std::to_string(sink.port()) + "/\n");
  auto connect_front = [&] {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(front.port());
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{60, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    return fd;
  };
  static char buf[1 << 16];
  // Download: the client reads and counts; the whole body must arrive.
  {
    RssWatch watch(front.pid());
    int fd = connect_front();
    std::string req = "GET /dl/big.bin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
    uint64_t total = 0;
    std::string head;
    for (;;) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      if (head.size() < 4096) head.append(buf, static_cast<size_t>(std::min<ssize_t>(n, 4096)));
      total += static_cast<uint64_t>(n);
    }
    ::close(fd);
    long rss = watch.stop();
    size_t head_len = head.find("\r\n\r\n");
    ASSERT_NE(head_len, std::string::npos) << head.substr(0, 200);
    EXPECT_EQ(head.substr(0, 12), "HTTP/1.1 200");
    EXPECT_EQ(total - (head_len + 4), kGiB);
    std::printf("1 GiB download through the proxy: front worker peak RssAnon %ld kB\n", rss);
    EXPECT_LT(rss, kRssLimitKb);
  }
  // Upload: 1 GiB of zeros with Content-Length; the member counts them.
  {
    RssWatch watch(front.pid());
    int fd = connect_front();
    std::string req = "POST /ul HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + std::to_string(kGiB) +
                      "\r\nConnection: close\r\n\r\n";
    ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
    std::memset(buf, 0, sizeof buf);
    uint64_t sent = 0;
    while (sent < kGiB) {
      ssize_t n = ::send(fd, buf, static_cast<size_t>(std::min<uint64_t>(sizeof buf, kGiB - sent)), MSG_NOSIGNAL);
      ASSERT_GT(n, 0) << "after " << sent << " bytes";
      sent += static_cast<uint64_t>(n);
    }
    std::string resp;
    for (;;) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      resp.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    long rss = watch.stop();
    EXPECT_EQ(resp.substr(0, 12), "HTTP/1.1 200") << resp.substr(0, 200);
    EXPECT_EQ(resp.substr(resp.find("\r\n\r\n") + 4), std::to_string(kGiB));
    EXPECT_EQ(sink.received(), kGiB);
    std::printf("1 GiB upload through the proxy: front worker peak RssAnon %ld kB\n", rss);
    EXPECT_LT(rss, kRssLimitKb);
  }
}

}  // namespace
}  // namespace itest
