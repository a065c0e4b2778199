#include "server/server.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

#include "core/log.h"
#include "core/socket_address.h"
#include "server/site.h"
#include "server/worker_loop.h"

namespace pillar::server {

namespace {

constexpr auto kStopGrace = std::chrono::seconds(5);

bool bind_listeners(const config::ServerConfig& cfg, std::vector<ListenerSocket>& out) {
  for (const auto& la : cfg.listens) {
    std::string err;
    int fd = core::open_listener(la.addr, la.addr_len, cfg.listen_backlog, err);
    if (fd < 0) {
      std::fprintf(stderr, "pillar: could not bind to %s: %s\n", la.text.c_str(), err.c_str());
      core::log(core::LogLevel::Emerg, "core", "could not bind to {}: {}", la.text, err);
      for (auto& l : out) ::close(l.fd);
      out.clear();
      return false;
    }
    ListenerSocket l;
    l.fd = fd;
    l.addr = la;
    socklen_t len = sizeof l.bound;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&l.bound), &len);
    out.push_back(l);
  }
  return true;
}

int event_threads(const config::ServerConfig& cfg) {
  if (cfg.event_threads > 0) return cfg.event_threads;
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

}  // namespace

int run_foreground(std::unique_ptr<config::ServerConfig> cfg) {
  // Signals are taken synchronously by the main thread; loops never see them.
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGWINCH}) sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  core::raise_fd_limit();
  std::string error;
  auto rt = Runtime::build(std::move(cfg), error);
  if (!rt) {
    std::fprintf(stderr, "pillar: %s\n", error.c_str());
    return 1;
  }
  const auto& c = rt->config();
  core::ErrorLog::configure(rt->error_sink(), static_cast<core::LogLevel>(c.log_level));
  for (const auto& n : c.notices) core::log(core::LogLevel::Notice, "core", "{}", n);

  std::vector<ListenerSocket> listeners;
  if (!bind_listeners(c, listeners)) {
    core::ErrorLog::flush();
    return 1;
  }
  for (const auto& l : listeners) {
    std::string ep = core::endpoint_text(l.bound);
    // Always on stderr too: tests and users learn ephemeral ports from it.
    std::fprintf(stderr, "pillar: listening on http://%s/\n", ep.c_str());
    core::log(core::LogLevel::Notice, "core", "listening on {}", ep);
  }
  std::fflush(stderr);

  core::start_async_logging();
  int n = event_threads(c);
  std::vector<std::unique_ptr<WorkerLoop>> loops;
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) loops.push_back(std::make_unique<WorkerLoop>(*rt, listeners));
  for (auto& l : loops) threads.emplace_back([w = l.get()] { w->run(); });
  core::log(core::LogLevel::Notice, "core", "Pillar {} started: {} event thread(s)", PILLAR_VERSION_STRING, n);

  for (;;) {
    int sig = 0;
    sigwait(&set, &sig);
    if (sig == SIGHUP || sig == SIGUSR1) {
      std::string err;
      if (!rt->reopen_logs(err)) core::log(core::LogLevel::Error, "core", "reopening logs: {}", err);
      else core::log(core::LogLevel::Notice, "core", "logs reopened (signal {})", sig);
      continue;
    }
    core::log(core::LogLevel::Notice, "core", "caught signal {}, shutting down", strsignal(sig));
    break;
  }
  for (auto& l : loops) l->stop();
  // Listeners close now so the port is released even while connections drain.
  for (auto& l : listeners) ::close(l.fd);
  auto deadline = std::chrono::steady_clock::now() + kStopGrace;
  for (size_t i = 0; i < threads.size(); ++i) {
    while (!loops[i]->exited() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (!loops[i]->exited()) {
      WorkerLoop* w = loops[i].get();
      w->loop().post([w] { w->force_close_all(); });
    }
    threads[i].join();
  }
  loops.clear();
  core::ErrorLog::flush();
  return 0;
}

}  // namespace pillar::server
