#include "proxy/health_check.h"

#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/log.h"

namespace pillar::proxy {

void HealthChecker::set_targets(std::vector<HealthTarget> targets, uint64_t now_ms) {
  probes_.clear();  // closes the checks in flight
  for (auto& t : targets) {
    Probe p;
    p.t = std::move(t);
    p.next = now_ms;  // first check at once
    probes_.push_back(std::move(p));
  }
}

void HealthChecker::fds(std::vector<pollfd>& out) const {
  for (const auto& p : probes_) {
    if (p.io) out.push_back({p.io->fd(), p.wait, 0});
    else if (p.fd) out.push_back({p.fd.get(), POLLOUT, 0});  // the connect
  }
}

uint64_t HealthChecker::deadline() const {
  uint64_t d = UINT64_MAX;
  for (const auto& p : probes_) d = std::min(d, p.in_flight() ? p.started + p.t.timeout_ms : p.next);
  return d;
}

bool HealthChecker::response_ok(const std::string& r, int expect, const std::string& body) {
  if (r.size() < 12 || r.compare(0, 7, "HTTP/1.") != 0) return false;
  int status = std::atoi(r.c_str() + 9);
  bool status_ok = expect ? status == expect : status >= 200 && status < 400;
  if (!status_ok) return false;
  if (body.empty()) return true;
  size_t head_end = r.find("\r\n\r\n");
  return head_end != std::string::npos && r.find(body, head_end + 4) != std::string::npos;
}

void HealthChecker::start(Probe& p, uint64_t now) {
  p.fd.reset(::socket(p.t.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  p.started = now;
  p.io.reset();
  p.out.clear();
  p.out_pos = 0;
  p.in.clear();
  if (p.fd && ::connect(p.fd.get(), reinterpret_cast<const sockaddr*>(&p.t.addr), p.t.addr_len) != 0 &&
      errno != EINPROGRESS) {
    verdict(p, now, false, strerror(errno));
  }
}

HealthChange health_result(HealthRuns& runs, bool in_error, bool ok, uint32_t rise, uint32_t fall) {
  // A change restarts both runs: the Error flag also changes by hand
  // (balancer-manager, pillarctl enable), and the run that led to the last
  // change must not count towards the next one.
  if (ok) {
    runs.fails = 0;
    if (in_error && ++runs.passes >= rise) {
      runs.passes = 0;
      return HealthChange::Up;
    }
  } else {
    runs.passes = 0;
    if (!in_error && ++runs.fails >= fall) {
      runs.fails = 0;
      return HealthChange::Down;
    }
  }
  return HealthChange::None;
}

void HealthChecker::verdict(Probe& p, uint64_t now, bool ok, const char* why) {
  p.fd.reset();
  p.io.reset();
  p.next = now + p.t.interval_ms;
  bool in_error = p.t.member->status_flags.load() & kStatusError;
  switch (health_result(p.runs, in_error, ok, p.t.passes, p.t.fails)) {
    case HealthChange::Up:
      p.t.member->status_flags.fetch_and(~uint32_t{kStatusError});
      core::log(core::LogLevel::Notice, "proxy", "health check: {} is up again", p.t.name);
      break;
    case HealthChange::Down:
      p.t.member->status_flags.fetch_or(kStatusError);
      core::log(core::LogLevel::Error, "proxy", "health check: {} is down ({})", p.t.name, why);
      break;
    case HealthChange::None: break;
  }
}

void HealthChecker::step(uint64_t now, const std::vector<pollfd>& ready) {
  for (auto& p : probes_) {
    if (!p.in_flight()) {
      if (now >= p.next) start(p, now);
      continue;
    }
    const int fd = p.io ? p.io->fd() : p.fd.get();
    short rev = 0;
    for (const auto& f : ready) {
      if (f.fd == fd) rev = f.revents;
    }
    if (now >= p.started + p.t.timeout_ms) {
      verdict(p, now, false, "timeout");
      continue;
    }
    if (!rev) continue;
    if (!p.io) connected(p, now);
    else exchange(p, now);
  }
}

// The connect finished (or failed): TCP checks end here; the others send
// their request through the transport (TLS: the handshake comes first).
void HealthChecker::connected(Probe& p, uint64_t now) {
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(p.fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  if (err) return verdict(p, now, false, strerror(err));
  if (p.t.method == "TCP") return verdict(p, now, true, "");
  p.io = p.t.tls ? p.t.tls(std::move(p.fd)) : std::make_unique<core::PlainTransport>(std::move(p.fd));
  p.out = p.t.method + " " + p.t.uri + " HTTP/1.1\r\nHost: " + p.t.host +
          "\r\nUser-Agent: pillar-health-check\r\nConnection: close\r\n\r\n";
  p.wait = POLLOUT;
  exchange(p, now);
}

void HealthChecker::exchange(Probe& p, uint64_t now) {
  while (p.out_pos < p.out.size()) {
    core::Io r = p.io->write(p.out.data() + p.out_pos, p.out.size() - p.out_pos);
    if (r.again()) {
      p.wait = p.io->wait_events(true);
      return;
    }
    if (!r.ok()) return verdict(p, now, false, r.error ? strerror(r.error) : "send failed");
    p.out_pos += r.n;
  }
  for (;;) {
    char buf[4096];
    core::Io r = p.io->read(buf, sizeof buf);
    if (r.ok() && r.n > 0) {
      if (p.in.size() < 64 * 1024) p.in.append(buf, r.n);
      // Without a body to look for, the status line decides at once.
      if (p.t.body.empty() && p.in.find("\r\n") != std::string::npos)
        return verdict(p, now, response_ok(p.in, p.t.expect, ""), "bad status");
      continue;
    }
    if (r.again()) {
      p.wait = p.io->wait_events(false);
      return;
    }
    const bool eof = r.status == core::Io::Status::Eof;
    return verdict(p, now, response_ok(p.in, p.t.expect, p.t.body),
                   eof ? "unexpected response" : (r.error ? strerror(r.error) : "read failed"));
  }
}

}  // namespace pillar::proxy
