// With no MPM directives, 5 000 slowloris connections (each trickling a
// request head it never finishes) must not starve ordinary clients — the
// defaults that fail at a few hundred in Apache.
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <utility>
#include <vector>

#include "core/fd.h"
#include "test_common.h"

namespace itest {
namespace {

constexpr int kSlowClients = 5000;

pillar::core::Fd connect_nonblocking(uint16_t port) {
  pillar::core::Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return fd;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa);  // EINPROGRESS is fine
  return fd;
}

TEST(Slowloris, FiveThousandSlowClientsDoNotStarveOthers) {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < kSlowClients + 200) {
    rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, kSlowClients + 1000);
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  if (rl.rlim_cur < kSlowClients + 200) GTEST_SKIP() << "RLIMIT_NOFILE hard limit too low: " << rl.rlim_max;

  TempTree t;
  t.write("www/a.txt", "hello");
  // Default process model; only the head timeout is longer than the test.
  START_SERVER(srv, basic_config(t.path("www"), "RequestReadTimeout header=60,MinRate=1\n"));

  std::vector<pillar::core::Fd> slow;
  slow.reserve(kSlowClients);
  for (int i = 0; i < kSlowClients; ++i) {
    pillar::core::Fd fd = connect_nonblocking(srv.port());
    ASSERT_TRUE(fd.valid());
    slow.push_back(std::move(fd));
  }
  // Each sends the first bytes of a head once its connect completes, so each
  // really holds a slot (a Reading connection, never an idle one).
  std::vector<bool> sent(slow.size(), false);
  size_t started = 0;
  eventually([&] {
    for (size_t i = 0; i < slow.size(); ++i) {
      if (!sent[i] && ::send(slow[i].get(), "GET / HTTP/1.1\r\n", 16, MSG_NOSIGNAL) == 16) {
        sent[i] = true;
        ++started;
      }
    }
    return started == slow.size();
  }, 10s);
  ASSERT_EQ(started, slow.size());

  // Ordinary clients are served promptly while the slow ones are held.
  for (int i = 0; i < 20; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    CurlResult r = curl_get(srv.base_url() + "/a.txt");
    auto took = std::chrono::steady_clock::now() - t0;
    ASSERT_EQ(r.status, 200) << r.curl_error;
    EXPECT_LT(took, 1s);
  }
  // And the slow ones are still connected (held, not shed). A send would
  // succeed after the server's FIN, so read instead: a shed connection polls
  // readable (EOF, a reset or a 408), a held one has nothing to read. The
  // server had the whole serving loop above to shed them; 200 ms more bounds
  // a FIN still in flight.
  std::vector<pollfd> pfds;
  pfds.reserve(slow.size());
  for (const auto& fd : slow) pfds.push_back({fd.get(), POLLIN, 0});
  ASSERT_GE(::poll(pfds.data(), pfds.size(), 200), 0);
  size_t shed = 0;
  for (const pollfd& p : pfds) {
    if (p.revents == 0) continue;
    char b;
    ssize_t n = ::recv(p.fd, &b, 1, MSG_DONTWAIT);
    // Readable but EAGAIN would be a spurious wakeup; anything else is not a held slot.
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    ++shed;
  }
  EXPECT_EQ(shed, 0u) << "of " << slow.size() << " slow connections";
}

}  // namespace
}  // namespace itest
