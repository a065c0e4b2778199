// MaxRequestWorkers is a hard, node-wide limit: the connection over it waits
// in the backlog while the others are busy, and an idle keep-alive connection
// is closed (oldest first) to make room for a new one.
#include <algorithm>
#include <memory>

#include "load_generator.h"
#include "test_common.h"

namespace itest {
namespace {

constexpr int kMax = 4;
const std::string kRequest = "GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n";

class ProcessLimits : public ::testing::Test {
 protected:
  TempTree tree;
  std::string docroot = tree.mkdir("www");
  void SetUp() override { tree.write("www/index.html", "<html>hello</html>\n"); }
  std::string config() const {
    // One loop, so that "oldest idle connection" is well defined.
    return process_config(docroot, tree.root(),
                          "StartServers 1\nServerLimit 1\nThreadsPerChild 4\nMaxRequestWorkers 4\n"
                          "EventThreadsPerChild 1\nKeepAlive On\nKeepAliveTimeout 30\n");
  }

  // Opens kMax keep-alive connections that each complete one request.
  // `gap`: client pause between two of them.
  void open_idle(uint16_t port, std::vector<std::unique_ptr<RawConnection>>& conns, Millis gap) {
    for (int i = 0; i < kMax; ++i) {
      if (i > 0 && gap.count() > 0) std::this_thread::sleep_for(gap);
      auto c = std::make_unique<RawConnection>(port);
      ASSERT_TRUE(c->connected());
      ASSERT_TRUE(c->send(kRequest));
      HttpResponse r = c->read_response(3s);
      ASSERT_EQ(r.status, 200) << "connection " << i << " close=" << to_string(c->close_kind());
      ASSERT_FALSE(iequals(r.header("Connection"), "close")) << "connection " << i;
      conns.push_back(std::move(c));
    }
  }

  // Waits until the single worker runs and no connection but the status
  // request itself holds a slot.
  void wait_ready(uint16_t port) {
    StatusMap st;
    ASSERT_TRUE(wait_status(
        port,
        [](const StatusMap& m) { return status_num(m, "Processes") == 1 && status_num(m, "ConnsTotal") == 1; }, 5s,
        &st))
        << status_brief(st);
  }
};

int count_char(const std::string& s, char c) { return static_cast<int>(std::count(s.begin(), s.end(), c)); }

TEST_F(ProcessLimits, ConnectionOverTheLimitWaitsWhileOthersAreBusy) {
  START_SERVER(srv, config());
  const uint16_t port = srv.port();
  wait_ready(port);
  if (HasFatalFailure()) return;

  // Three connections complete a request, then start their next request head
  // (Reading, not idle).
  std::vector<std::unique_ptr<RawConnection>> conns;
  for (int i = 0; i < kMax - 1; ++i) {
    auto c = std::make_unique<RawConnection>(port);
    ASSERT_TRUE(c->connected());
    ASSERT_TRUE(c->send(kRequest));
    ASSERT_EQ(c->read_response(3s).status, 200) << "connection " << i;
    ASSERT_TRUE(c->send("GET /index.html HTTP/1.1\r\nHost: loc"));
    conns.push_back(std::move(c));
  }
  // Through the fourth slot, wait until the server has seen the three partial
  // heads ('R'); a keep-alive connection whose bytes the server has not read
  // yet still looks idle to it and could be closed to make room.
  {
    RawConnection status(port);
    ASSERT_TRUE(status.connected());
    std::string board;
    bool seen = eventually(
        [&] {
          if (!status.send("GET /server-status?auto HTTP/1.1\r\nHost: localhost\r\n\r\n")) return false;
          HttpResponse r = status.read_response(3s);
          size_t at = r.body.find("\nScoreboard: ");
          board = at == std::string::npos ? "" : r.body.substr(at + 13, r.body.find('\n', at + 1) - at - 13);
          return count_char(board, 'R') >= kMax - 1;
        },
        3s);
    ASSERT_TRUE(seen) << "Scoreboard: " << board;
  }
  // The fourth: a new connection (not idle: it has not completed a request),
  // also in the middle of its request head.
  {
    auto c = std::make_unique<RawConnection>(port);
    ASSERT_TRUE(c->connected());
    ASSERT_TRUE(c->send("GET /index.html HTTP/1.1\r\nHost: loc"));
    conns.push_back(std::move(c));
  }

  RawConnection fifth(port);
  ASSERT_TRUE(fifth.connected());  // the kernel's backlog accepts it
  ASSERT_TRUE(fifth.send("GET /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
  HttpResponse early = fifth.read_response(500ms);
  EXPECT_EQ(early.status, 0) << "the 5th connection was served while " << kMax << " connections were busy";
  EXPECT_EQ(fifth.close_kind(), CloseKind::Timeout) << to_string(fifth.close_kind());
  // None of the busy connections was closed to make room.
  for (size_t i = 0; i < conns.size(); ++i) {
    std::string extra;
    EXPECT_FALSE(conns[i]->wait_closed(10ms, &extra)) << "busy connection " << i << " was closed; got: " << extra;
  }

  // One of the four completes its request and closes: the 5th is served.
  ASSERT_TRUE(conns[0]->send("alhost\r\nConnection: close\r\n\r\n"));
  HttpResponse r0 = conns[0]->read_response(3s);
  EXPECT_EQ(r0.status, 200);
  EXPECT_TRUE(conns[0]->wait_closed(3s));
  conns[0].reset();
  auto t0 = std::chrono::steady_clock::now();
  HttpResponse late = fifth.read_response(3s);
  auto waited = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(late.status, 200) << "close=" << to_string(fifth.close_kind());
  EXPECT_LT(waited, 1000) << "the 5th connection waited " << waited << " ms after a slot was freed";

  // The other three still complete their requests.
  for (size_t i = 1; i < conns.size(); ++i) {
    ASSERT_TRUE(conns[i]->send("alhost\r\n\r\n"));
    EXPECT_EQ(conns[i]->read_response(3s).status, 200) << "connection " << i;
  }
}

// Which of the connections the server has closed (checked after the 5th was
// served, so the closing already happened; a short wait each covers delivery).
std::vector<size_t> closed_ones(std::vector<std::unique_ptr<RawConnection>>& conns) {
  std::vector<size_t> out;
  for (size_t i = 0; i < conns.size(); ++i) {
    if (conns[i]->wait_closed(100ms)) out.push_back(i);
  }
  return out;
}

std::string list(const std::vector<size_t>& v) {
  std::string s;
  for (size_t i : v) s += (s.empty() ? "" : ",") + std::to_string(i);
  return "[" + s + "]";
}

void check_fifth_served_and_oldest_closed(uint16_t port, std::vector<std::unique_ptr<RawConnection>>& conns) {
  auto t0 = std::chrono::steady_clock::now();
  RawConnection fifth(port);
  ASSERT_TRUE(fifth.connected());
  ASSERT_TRUE(fifth.send(kRequest));
  HttpResponse r = fifth.read_response(3s);
  auto took = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.status, 200) << "close=" << to_string(fifth.close_kind());
  EXPECT_LT(took, 1000) << "the 5th connection took " << took << " ms";

  // Exactly one was closed to make room: the oldest idle one (the first).
  std::vector<size_t> closed = closed_ones(conns);
  EXPECT_EQ(list(closed), "[0]") << "connections closed to make room (0 is the oldest idle)";
  // The others are still usable.
  for (size_t i = 1; i < conns.size(); ++i) {
    if (std::find(closed.begin(), closed.end(), i) != closed.end()) continue;
    ASSERT_TRUE(conns[i]->send(kRequest));
    HttpResponse ri = conns[i]->read_response(3s);
    EXPECT_EQ(ri.status, 200) << "connection " << i << " close=" << to_string(conns[i]->close_kind());
  }
}

TEST_F(ProcessLimits, OldestIdleKeepAliveConnectionIsClosedToMakeRoom) {
  START_SERVER(srv, config());
  const uint16_t port = srv.port();
  wait_ready(port);
  if (HasFatalFailure()) return;
  std::vector<std::unique_ptr<RawConnection>> conns;
  open_idle(port, conns, 5ms);  // each goes idle at a distinct millisecond
  if (HasFatalFailure()) return;
  check_fifth_served_and_oldest_closed(port, conns);
}

TEST_F(ProcessLimits, OldestIdleIsClosedEvenWhenIdleInTheSameMillisecond) {
  START_SERVER(srv, config());
  const uint16_t port = srv.port();
  wait_ready(port);
  if (HasFatalFailure()) return;
  std::vector<std::unique_ptr<RawConnection>> conns;
  open_idle(port, conns, 0ms);  // back to back: usually within one millisecond
  if (HasFatalFailure()) return;
  check_fifth_served_and_oldest_closed(port, conns);
}

}  // namespace
}  // namespace itest
