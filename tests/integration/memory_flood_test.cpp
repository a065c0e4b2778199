// Issue 16, item 19: memory a worker grows to under a flood of slow clients
// is given back once they leave. The static variant (slow request heads) is
// ProcessRecycle.MemoryAFloodTookIsGivenBackWhenItLeaves; this is the proxied
// one: clients that stop reading a large proxied response, so each exchange's
// buffers fill up in the worker.
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "backend.h"
#include "load_generator.h"
#include "test_common.h"

namespace itest {
namespace {

// An origin that answers a request for .../big with a 1 GB Content-Length
// body written as fast as the proxy takes it, from one shared block (the
// test process's own memory stays flat), and any other with 1 KiB.
class EndlessOrigin {
 public:
  EndlessOrigin() {
    fd_ = listen_loopback(port_, 1024, SOCK_NONBLOCK);
    if (fd_ >= 0) thread_ = std::thread([this] { run(); });
  }
  ~EndlessOrigin() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    for (auto& c : conns_) ::close(c.fd);
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  uint16_t port() const { return port_; }

 private:
  struct Conn {
    int fd;
    bool asked = false, head_sent = false, big = false;
  };
  void run() {
    const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\nContent-Type: application/octet-stream\r\n\r\n";
    const std::string small = "HTTP/1.1 200 OK\r\nContent-Length: 1024\r\n\r\n" + std::string(1024, 's');
    const std::string block(64 * 1024, 'x');
    while (!stop_) {
      std::vector<pollfd> fds{{fd_, POLLIN, 0}};
      for (auto& c : conns_) fds.push_back({c.fd, static_cast<short>(POLLIN | POLLOUT), 0});
      if (::poll(fds.data(), fds.size(), 50) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        for (int c; (c = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK)) >= 0;) conns_.push_back({c});
      }
      for (size_t i = 1; i < fds.size(); ++i) {
        Conn& c = conns_[i - 1];
        if (fds[i].revents & POLLIN) {
          char sink[4096];
          ssize_t n = ::recv(c.fd, sink, sizeof sink, 0);
          if (n == 0) c.fd = -c.fd - 1;  // the proxy closed it
          if (n > 0 && !c.asked) {      // a request fits one read here
            c.asked = true;
            c.big = std::string_view(sink, static_cast<size_t>(n)).find("/big ") != std::string_view::npos;
            if (!c.big) {  // answered whole: the proxy may reuse the connection for the next one
              ::send(c.fd, small.data(), small.size(), MSG_NOSIGNAL);
              c.asked = false;
            }
          }
        }
        if (c.fd >= 0 && c.big && (fds[i].revents & POLLOUT)) {
          if (!c.head_sent) c.head_sent = ::send(c.fd, head.data(), head.size(), MSG_NOSIGNAL) > 0;
          else ::send(c.fd, block.data(), block.size(), MSG_NOSIGNAL);
        }
      }
      for (auto& c : conns_)
        if (c.fd < 0) ::close(-c.fd - 1);
      conns_.erase(std::remove_if(conns_.begin(), conns_.end(), [](const Conn& c) { return c.fd < 0; }), conns_.end());
    }
  }
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::vector<Conn> conns_;
  std::thread thread_;
};

TEST(MemoryFlood, ProxiedSlowReadersMemoryIsGivenBackWhenTheyLeave) {
#ifdef PILLAR_SANITIZED
  GTEST_SKIP() << "ASan's allocator keeps freed memory in its quarantine: malloc_trim cannot give it back";
#endif
  constexpr int kFlood = 400;
  EndlessOrigin origin;
  ASSERT_TRUE(origin.ok());
  TempTree tree;
  tree.write("www/index.html", "hello\n");
  START_SERVER(srv, proxy_front_config(tree.path("www"),
                                       "EventThreadsPerChild 1\nTimeout 60\nProxyTimeout 60\n"
                                       "ProxyPass /app/ balancer://x/\n<Proxy balancer://x>\n  BalancerMember http://127.0.0.1:" +
                                           std::to_string(origin.port()) + "\n</Proxy>\n"));
  std::vector<pid_t> kids;
  ASSERT_TRUE(eventually([&] { return (kids = child_pids(srv.pid())).size() == 1; }, 5s));
  const pid_t worker = kids[0];
  for (int i = 0; i < 20; ++i) ASSERT_EQ(curl_get(srv.base_url() + "/index.html").status, 200);
  // The proxy's own code and tables paged in before the baseline, so only the flood's memory counts.
  for (int i = 0; i < 20; ++i) ASSERT_EQ(curl_get(srv.base_url() + "/app/small").status, 200);
  long before = proc_status_kb(worker, "RssAnon"), rss_before = proc_status_kb(worker, "VmRSS");
  long peak = 0;
  {
    std::vector<std::unique_ptr<RawConnection>> flood;
    for (int i = 0; i < kFlood; ++i) {
      auto c = std::make_unique<RawConnection>(srv.port());
      ASSERT_TRUE(c->connected()) << "connection " << i;
      ASSERT_TRUE(c->send("GET /app/big HTTP/1.1\r\nHost: localhost\r\n\r\n"));
      flood.push_back(std::move(c));  // and never read
    }
    // Each exchange fills its buffers once the client's socket is full.
    eventually([&] { return (peak = proc_status_kb(worker, "RssAnon")) > before + 8 * 1024; }, 10s);
  }  // the flood leaves
  ASSERT_GT(peak, before + 8 * 1024) << "the flood did not grow the worker (" << before << " -> " << peak
                                      << " kB); nothing to check";
  long after = 0, rss_after = 0;
  bool returned = rss_returned(worker, rss_before, 6s, &rss_after, &after);
  std::cout << "[ memory   ] worker RssAnon " << before << " kB before, " << peak << " kB with " << kFlood
            << " proxied slow readers, " << after << " kB after they left (VmRSS " << rss_before << " -> " << rss_after << " kB)\n";
  EXPECT_TRUE(returned) << "VmRSS " << rss_after << " kB, more than 120 % of " << rss_before << " kB";
  EXPECT_EQ(curl_get(srv.base_url() + "/index.html").status, 200);
}

}  // namespace
}  // namespace itest
