#include "handlers/server_status.h"

#include <unistd.h>

#include <array>
#include <cstdio>
#include <ctime>

#include <fmt/format.h>

#include "core/build_info.h"
#include "core/clock.h"
#include "http/uri.h"

#include <arpa/inet.h>

namespace pillar::handlers {
namespace {

using core::shm::ProcessState;

// ha::VrrpState's names, without depending on the ha layer (siblings).
const char* vrrp_state_name(uint8_t s) {
  static constexpr const char* kNames[] = {"INIT", "BACKUP", "MASTER", "FAULT"};
  return s < 4 ? kNames[s] : "?";
}

std::string vrrp_master(const core::shm::VrrpStatusEntry& e) {
  in_addr a{e.master_addr.load()};
  char b[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, b, sizeof b);
  return b;
}
using core::shm::SlotState;

using core::wall_ms;

// mod_status's time format: "Friday, 27-Nov-2026 03:41:05 UTC".
std::string status_time(int64_t ms) {
  time_t t = static_cast<time_t>(ms / 1000);
  tm tmv{};
  gmtime_r(&t, &tmv);
  char buf[64];
  strftime(buf, sizeof buf, "%A, %d-%b-%Y %H:%M:%S UTC", &tmv);
  return buf;
}

std::string uptime_text(int64_t secs) {
  std::string out;
  auto part = [&](int64_t v, const char* unit) {
    if (v == 0) return;
    if (!out.empty()) out += ' ';
    out += fmt::format("{} {}{}", v, unit, v == 1 ? "" : "s");
  };
  part(secs / 86400, "day");
  part(secs / 3600 % 24, "hour");
  part(secs / 60 % 60, "minute");
  part(secs % 60, "second");
  return out.empty() ? "0 seconds" : out;
}

// Apache prints ratios without a leading zero (".0813008").
std::string ratio(double v) {
  std::string s = fmt::format("{:.6g}", v);
  if (s.rfind("0.", 0) == 0) s.erase(0, 1);
  return s;
}

double clk_tck() {
  static const double t = static_cast<double>(sysconf(_SC_CLK_TCK));
  return t;
}

bool query_has(std::string_view q, std::string_view key) {
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view item = q.substr(0, amp);
    if (item.substr(0, item.find('=')) == key) return true;
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return false;
}

int query_int(std::string_view q, std::string_view key) {
  size_t pos = q.find(std::string(key) + "=");
  if (pos == std::string_view::npos) return 0;
  return std::atoi(std::string(q.substr(pos + key.size() + 1, 8)).c_str());
}

}  // namespace

StatusTotals collect_status(const core::shm::Scoreboard& board, uint32_t server_limit) {
  StatusTotals t;
  const auto& hdr = board.header();
  t.accesses = hdr.retired_requests.load();
  t.bytes = hdr.retired_bytes.load();
  t.sendfile_bytes = hdr.retired_sendfile_bytes.load();
  t.connections = hdr.retired_connections.load();
  t.cpu_user_ticks = hdr.retired_cpu_user_ticks.load();
  t.cpu_system_ticks = hdr.retired_cpu_system_ticks.load();
  t.log_lines_dropped = hdr.retired_log_lines_dropped.load();
  t.log_write_errors = hdr.retired_log_write_errors.load();
  uint32_t per_row = hdr.threads_per_child.load();
  uint32_t shown_rows = 0;
  for (uint32_t r = 0; r < board.rows(); ++r) {
    const auto& row = board.row(r);
    bool live = row.pid.load() != 0;
    if (!live && r >= server_limit) continue;  // spare rows appear only while used
    ++shown_rows;
    if (!live) {
      t.grid.append(per_row, '.');
      continue;
    }
    ++t.processes;
    if (row.state.load() == static_cast<uint8_t>(ProcessState::Draining)) ++t.stopping;
    t.accesses += row.requests.load();
    t.bytes += row.bytes.load();
    t.sendfile_bytes += row.sendfile_bytes.load();
    t.connections += row.connections.load();
    t.cpu_user_ticks += row.cpu_user_ticks.load();
    t.cpu_system_ticks += row.cpu_system_ticks.load();
    t.log_lines_dropped += row.log_lines_dropped.load();
    t.log_write_errors += row.log_write_errors.load();
    uint32_t slots = row.slots.load();
    if (slots == 0) slots = per_row;  // still starting
    for (uint32_t i = 0; i < slots && i < board.thread_limit(); ++i) {
      char c = board.slot(r, i).state.load(std::memory_order_relaxed);
      if (row.slots.load() == 0) c = static_cast<char>(SlotState::Starting);
      t.grid.push_back(c);
      ++t.by_state[static_cast<unsigned char>(c) & 127];
      if (c == static_cast<char>(SlotState::Ready)) ++t.idle;
      else if (c != static_cast<char>(SlotState::Open)) ++t.busy;
    }
    if (slots < per_row) t.grid.append(per_row - slots, '.');
  }
  (void)shown_rows;
  return t;
}

void ServerStatusHandler::handle(const http::RequestContext& ctx, http::Response& resp) {
  if (ctx.head.method != http::Method::Get && ctx.head.method != http::Method::Head) {
    resp.error(405);
    resp.add_header("Allow", "GET, HEAD");
    return;
  }
  if (!ctx_.board) {
    resp.error(503);
    return;
  }
  StatusTotals t = collect_status(*ctx_.board, cfg_.process.server_limit);
  std::string out;
  std::string_view q = ctx.head.query;
  int refresh = query_int(q, "refresh");
  if (refresh > 0) resp.add_header("Refresh", std::to_string(refresh));
  resp.add_header("Cache-Control", "no-cache");
  if (query_has(q, "auto")) {
    render_auto(t, ctx.host, out);
    resp.add_header("Content-Type", "text/plain; charset=ISO-8859-1");
  } else {
    render_html(t, out, refresh);
    resp.add_header("Content-Type", "text/html; charset=ISO-8859-1");
  }
  resp.add_text(out);
}

namespace {

// The order of cache_counts(): the `result` label of pillar_cache_requests_total.
constexpr const char* kCacheResults[] = {"hit", "miss", "pass", "coalesced", "stale"};

// Cache results of one vhost (VhostStats id): hits, misses, passes, coalesced, stale.
std::array<uint64_t, 5> cache_counts(const core::shm::VhostStats* vs, uint32_t id) {
  std::array<uint64_t, 5> t{};
  for (uint32_t r = 0; vs && r <= vs->rows(); ++r) {
    const auto& c = vs->at(r, id);
    t[0] += c.cache_hits.load(std::memory_order_relaxed);
    t[1] += c.cache_misses.load(std::memory_order_relaxed);
    t[2] += c.cache_passes.load(std::memory_order_relaxed);
    t[3] += c.cache_coalesced.load(std::memory_order_relaxed);
    t[4] += c.cache_grace_hits.load(std::memory_order_relaxed);
  }
  return t;
}

std::array<uint64_t, 5> cache_totals(const core::shm::VhostStats* vs) {
  std::array<uint64_t, 5> t{};
  for (uint32_t id = 0; vs && id < vs->count(); ++id) {
    auto c = cache_counts(vs, id);
    for (size_t i = 0; i < t.size(); ++i) t[i] += c[i];
  }
  return t;
}

}  // namespace

void ServerStatusHandler::render_auto(const StatusTotals& t, std::string_view host, std::string& out) const {
  const auto& hdr = ctx_.board->header();
  int64_t now = wall_ms();
  int64_t up = std::max<int64_t>(1, (now - hdr.start_ms.load()) / 1000);
  double loads[3] = {0, 0, 0};
  getloadavg(loads, 3);
  double cpu_u = static_cast<double>(t.cpu_user_ticks) / clk_tck();
  double cpu_s = static_cast<double>(t.cpu_system_ticks) / clk_tck();
  auto line = [&](std::string_view k, const std::string& v) {
    out.append(k);
    out.append(": ");
    out.append(v);
    out.push_back('\n');
  };
  out.append(host.empty() ? cfg_.main_server.server_name : std::string(host));
  out.push_back('\n');
  line("ServerVersion", std::string("Pillar/") + PILLAR_VERSION_STRING);
  line("ServerMPM", "event");
  line("Server Built", std::string(core::build_time()));
  line("CurrentTime", status_time(now));
  line("RestartTime", status_time(hdr.restart_ms.load()));
  line("ParentServerConfigGeneration", std::to_string(hdr.generation.load() + 1));
  line("ParentServerMPMGeneration", std::to_string(hdr.generation.load()));
  line("ServerUptimeSeconds", std::to_string(up));
  line("ServerUptime", uptime_text(up));
  line("Load1", fmt::format("{:.2f}", loads[0]));
  line("Load5", fmt::format("{:.2f}", loads[1]));
  line("Load15", fmt::format("{:.2f}", loads[2]));
  line("Total Accesses", std::to_string(t.accesses));
  line("Total kBytes", std::to_string(t.bytes / 1024));
  line("CPUUser", ratio(cpu_u));
  line("CPUSystem", ratio(cpu_s));
  line("CPUChildrenUser", "0");
  line("CPUChildrenSystem", "0");
  line("CPULoad", ratio((cpu_u + cpu_s) * 100.0 / static_cast<double>(up)));
  line("Uptime", std::to_string(up));
  line("ReqPerSec", ratio(static_cast<double>(t.accesses) / static_cast<double>(up)));
  line("BytesPerSec", ratio(static_cast<double>(t.bytes) / static_cast<double>(up)));
  line("BytesPerReq", ratio(t.accesses ? static_cast<double>(t.bytes) / static_cast<double>(t.accesses) : 0));
  line("BusyWorkers", std::to_string(t.busy));
  line("GracefulWorkers", std::to_string(t.by_state[static_cast<unsigned char>(SlotState::Graceful)]));
  line("IdleWorkers", std::to_string(t.idle));
  line("Processes", std::to_string(t.processes));
  line("Stopping", std::to_string(t.stopping));
  line("ConnsTotal", std::to_string(hdr.conns_in_use.load()));
  line("ConnsAsyncWriting", std::to_string(t.by_state[static_cast<unsigned char>(SlotState::Writing)]));
  line("ConnsAsyncKeepAlive", std::to_string(t.by_state[static_cast<unsigned char>(SlotState::KeepAlive)]));
  line("ConnsAsyncClosing", std::to_string(t.by_state[static_cast<unsigned char>(SlotState::Closing)]));
  line("ClientLimitRefusals", std::to_string(hdr.client_limit_refusals.load()));  // not in Apache's format
  line("ShedRequests", std::to_string(hdr.shed_requests.load()));
  line("RateLimited", std::to_string(hdr.rate_limited.load()));
  line("RateDelayed", std::to_string(hdr.rate_delayed.load()));
  line("LogLinesDropped", std::to_string(t.log_lines_dropped));  // not in Apache's format
  line("LogWriteErrors", std::to_string(t.log_write_errors));
  if (ctx_.cache) {  // not in Apache's format either
    auto g = ctx_.cache();
    auto c = cache_totals(ctx_.vhost_stats);
    line("CacheObjects", std::to_string(g.objects));
    line("CacheBytesUsed", std::to_string(g.bytes_used));
    line("CacheBytesTotal", std::to_string(g.bytes_total));
    line("CacheHits", std::to_string(c[0]));
    line("CacheMisses", std::to_string(c[1]));
    line("CachePasses", std::to_string(c[2]));
    line("CacheCoalesced", std::to_string(c[3]));
    line("CacheStaleHits", std::to_string(c[4]));
    line("CacheEvictions", std::to_string(g.evictions));
    line("CacheLockTimeouts", std::to_string(g.lock_timeouts));
  }
  if (ctx_.vrrp) {  // not in Apache's format; parsers skip keys they do not know
    for (const auto& e : ctx_.vrrp->entries) {
      if (!e.used.load()) continue;
      line(std::string("VrrpState_") + e.name, vrrp_state_name(e.state.load()));
      line(std::string("VrrpMaster_") + e.name, vrrp_master(e));
    }
  }
  line("Scoreboard", t.grid);
}

void ServerStatusHandler::render_html(const StatusTotals& t, std::string& out, int refresh) const {
  const auto& hdr = ctx_.board->header();
  const auto& board = *ctx_.board;
  int64_t now = wall_ms();
  int64_t up = std::max<int64_t>(1, (now - hdr.start_ms.load()) / 1000);
  double cpu_u = static_cast<double>(t.cpu_user_ticks) / clk_tck();
  double cpu_s = static_cast<double>(t.cpu_system_ticks) / clk_tck();
  double loads[3] = {0, 0, 0};
  getloadavg(loads, 3);
  std::string name = http::html_escape(cfg_.main_server.server_name);
  out += "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 3.2 Final//EN\">\n<html><head>\n";
  if (refresh > 0) out += fmt::format("<meta http-equiv=\"refresh\" content=\"{}\">\n", refresh);
  out += fmt::format("<title>Pillar Status</title>\n</head><body>\n<h1>Pillar Server Status for {}</h1>\n\n", name);
  out += fmt::format("<dl><dt>Server Version: Pillar/{}</dt>\n<dt>Server MPM: event</dt>\n"
                     "<dt>Server Built: {}\n</dt></dl><hr /><dl>\n",
                     PILLAR_VERSION_STRING, core::build_time());
  out += fmt::format("<dt>Current Time: {}</dt>\n<dt>Restart Time: {}</dt>\n", status_time(now),
                     status_time(hdr.restart_ms.load()));
  out += fmt::format("<dt>Parent Server Config. Generation: {}</dt>\n<dt>Parent Server MPM Generation: {}</dt>\n",
                     hdr.generation.load() + 1, hdr.generation.load());
  out += fmt::format("<dt>Server uptime:  {}</dt>\n", uptime_text(up));
  out += fmt::format("<dt>Server load: {:.2f} {:.2f} {:.2f}</dt>\n", loads[0], loads[1], loads[2]);
  out += fmt::format("<dt>Total accesses: {} - Total Traffic: {:.1f} kB</dt>\n", t.accesses,
                     static_cast<double>(t.bytes) / 1024.0);
  out += fmt::format("<dt>CPU Usage: u{:.2f} s{:.2f} cu0 cs0 - {}% CPU load</dt>\n", cpu_u, cpu_s,
                     ratio((cpu_u + cpu_s) * 100.0 / static_cast<double>(up)));
  out += fmt::format("<dt>{} requests/sec - {} B/second - {} B/request</dt>\n",
                     ratio(static_cast<double>(t.accesses) / static_cast<double>(up)),
                     ratio(static_cast<double>(t.bytes) / static_cast<double>(up)),
                     ratio(t.accesses ? static_cast<double>(t.bytes) / static_cast<double>(t.accesses) : 0));
  out += fmt::format("<dt>{} requests currently being processed, {} idle workers</dt>\n</dl>", t.busy, t.idle);
  out += fmt::format("<p>{} worker processes, {} stopping; {} connections (limit {}); {} crashes, {} recycles</p>\n",
                     t.processes, t.stopping, hdr.conns_in_use.load(), hdr.max_conns.load(), hdr.crashes.load(),
                     hdr.recycles.load());
  if (hdr.client_limit_refusals.load() || hdr.shed_requests.load() || hdr.rate_limited.load() || hdr.rate_delayed.load())
    out += fmt::format("<p>Overload: {} request(s) refused for PillarMaxConnectionsPerClient, {} shed by PillarShedLoad; "
                       "PillarRateLimit refused {} and delayed {}</p>\n",
                       hdr.client_limit_refusals.load(), hdr.shed_requests.load(), hdr.rate_limited.load(),
                       hdr.rate_delayed.load());
  if (t.log_lines_dropped || t.log_write_errors)
    out += fmt::format("<p>Logs: {} line(s) dropped, {} failed write(s) (see the error log)</p>\n",
                       t.log_lines_dropped, t.log_write_errors);
  if (ctx_.cache) {
    auto g = ctx_.cache();
    auto c = cache_totals(ctx_.vhost_stats);
    out += fmt::format("<p>Cache: {} objects, {:.1f} of {:.1f} MB; {} hits, {} misses, {} passes, {} coalesced, "
                       "{} stale, {} evictions, {} lock timeouts</p>\n",
                       g.objects, static_cast<double>(g.bytes_used) / 1048576.0, static_cast<double>(g.bytes_total) / 1048576.0,
                       c[0], c[1], c[2], c[3], c[4], g.evictions, g.lock_timeouts);
    // Per virtual host (those that have used the cache).
    std::string rows;
    for (uint32_t id = 0; ctx_.vhost_stats && id < ctx_.vhost_stats->count(); ++id) {
      auto v = cache_counts(ctx_.vhost_stats, id);
      uint64_t ev = ctx_.cache_evictions ? ctx_.cache_evictions(id) : 0;
      if (!v[0] && !v[1] && !v[2] && !v[3] && !v[4] && !ev) continue;
      rows += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                          http::html_escape(ctx_.vhost_stats->name(id)), v[0], v[1], v[2], v[3], v[4], ev);
    }
    if (!rows.empty())
      out += "<table border=\"0\"><tr><th>VHost</th><th>Hits</th><th>Misses</th><th>Passes</th><th>Coalesced</th>"
             "<th>Stale</th><th>Evictions</th></tr>\n" + rows + "</table>\n";
  }
  if (ctx_.vrrp) {
    std::string rows;
    for (const auto& e : ctx_.vrrp->entries) {
      if (!e.used.load()) continue;
      rows += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td><b>{}</b></td><td>{}</td><td>{}</td><td>{}</td>"
                          "<td>{}</td></tr>\n",
                          http::html_escape(e.name), http::html_escape(e.interface), e.vrid.load(),
                          vrrp_state_name(e.state.load()), e.priority.load(), vrrp_master(e), e.transitions.load(),
                          e.adverts_received.load());
    }
    if (!rows.empty())
      out += "<h2>VRRP</h2><table border=\"0\"><tr><th>Instance</th><th>Interface</th><th>VRID</th><th>State</th>"
             "<th>Priority</th><th>Master</th><th>Transitions</th><th>Adverts in</th></tr>\n" + rows + "</table>\n";
  }
  out += "<pre>";
  for (size_t i = 0; i < t.grid.size(); i += 64) {
    out.append(t.grid, i, 64);
    out.push_back('\n');
  }
  out += "</pre>\n<p>Scoreboard Key:<br />\n"
         "\"<b><code>_</code></b>\" Waiting for Connection, \"<b><code>S</code></b>\" Starting up, "
         "\"<b><code>R</code></b>\" Reading Request,<br />\n"
         "\"<b><code>W</code></b>\" Sending Reply, \"<b><code>K</code></b>\" Keepalive (read), "
         "\"<b><code>D</code></b>\" DNS Lookup,<br />\n"
         "\"<b><code>C</code></b>\" Closing connection, \"<b><code>L</code></b>\" Logging, "
         "\"<b><code>G</code></b>\" Gracefully finishing,<br /> \n"
         "\"<b><code>I</code></b>\" Idle cleanup of worker, \"<b><code>.</code></b>\" Open slot with no current "
         "process<br />\n</p>\n";
  if (cfg_.process.extended_status) {
    out += "<table border=\"0\"><tr><th>Srv</th><th>PID</th><th>Acc</th><th>M</th><th>CPU\n</th><th>SS</th>"
           "<th>Req</th><th>Dur</th><th>Conn</th><th>Child</th><th>Slot</th><th>Client</th><th>Protocol</th>"
           "<th>VHost</th><th>Request</th></tr>\n\n";
    for (uint32_t r = 0; r < board.rows(); ++r) {
      const auto& row = board.row(r);
      int pid = row.pid.load();
      if (pid == 0) continue;
      double cpu = static_cast<double>(row.cpu_user_ticks.load() + row.cpu_system_ticks.load()) / clk_tck();
      for (uint32_t i = 0; i < row.slots.load() && i < board.thread_limit(); ++i) {
        const auto& s = board.slot(r, i);
        uint64_t acc = s.access_count.load();
        char st = s.state.load();
        if (acc == 0 && st == static_cast<char>(SlotState::Ready)) continue;  // never used: keep the table short
        uint64_t last = s.last_used_ms.load();
        char client[sizeof s.client], vhost[sizeof s.vhost], request[sizeof s.request];
        std::snprintf(client, sizeof client, "%s", s.client);
        std::snprintf(vhost, sizeof vhost, "%s", s.vhost);
        std::snprintf(request, sizeof request, "%s", s.request);
        out += fmt::format(
            "<tr><td><b>{}-{}</b></td><td>{}</td><td>{}/{}/{}</td><td><b>{}</b>\n</td><td>{:.2f}</td><td>{}</td>"
            "<td>{}</td><td>{}</td><td>{:.1f}</td><td>{:.2f}</td><td>{:.2f}\n</td><td>{}</td><td>http/1.1</td>"
            "<td nowrap>{}</td><td nowrap>{}</td></tr>\n\n",
            r, row.generation.load(), pid, s.conn_requests.load(), acc, acc, st, cpu,
            last ? (now - static_cast<int64_t>(last)) / 1000 : 0, s.last_duration_us.load() / 1000,
            s.last_duration_us.load() / 1000, static_cast<double>(s.conn_bytes.load()) / 1024.0,
            static_cast<double>(row.bytes.load()) / 1048576.0, static_cast<double>(s.bytes_served.load()) / 1048576.0,
            http::html_escape(client), http::html_escape(vhost), http::html_escape(request));
      }
    }
    out += "</table>\n<hr /> <table>\n <tr><th>Srv</th><td>Child Server number - generation</td></tr>\n"
           " <tr><th>PID</th><td>OS process ID</td></tr>\n"
           " <tr><th>Acc</th><td>Number of accesses this connection / this child / this slot</td></tr>\n"
           " <tr><th>M</th><td>Mode of operation</td></tr>\n"
           " <tr><th>CPU</th><td>CPU usage, number of seconds</td></tr>\n"
           " <tr><th>SS</th><td>Seconds since beginning of most recent request</td></tr>\n"
           " <tr><th>Req</th><td>Milliseconds required to process most recent request</td></tr>\n"
           " <tr><th>Dur</th><td>Sum of milliseconds required to process all requests</td></tr>\n"
           " <tr><th>Conn</th><td>Kilobytes transferred this connection</td></tr>\n"
           " <tr><th>Child</th><td>Megabytes transferred this child</td></tr>\n"
           " <tr><th>Slot</th><td>Total megabytes transferred this slot</td></tr>\n </table>\n";
  }
  out += fmt::format("<hr>\n<address>Pillar/{} Server at {}</address>\n</body></html>\n", PILLAR_VERSION_STRING, name);
}

void MetricsHandler::handle(const http::RequestContext& ctx, http::Response& resp) {
  if (ctx.head.method != http::Method::Get && ctx.head.method != http::Method::Head) {
    resp.error(405);
    resp.add_header("Allow", "GET, HEAD");
    return;
  }
  if (!ctx_.board) {
    resp.error(503);
    return;
  }
  const auto& hdr = ctx_.board->header();
  StatusTotals t = collect_status(*ctx_.board, cfg_.process.server_limit);
  std::string out;
  auto metric = [&](std::string_view name, std::string_view type, std::string_view help, const std::string& value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
  };
  int64_t now = wall_ms();
  metric("pillar_uptime_seconds", "gauge", "Seconds since the master started.",
         std::to_string((now - hdr.start_ms.load()) / 1000));
  metric("pillar_generation", "gauge", "Configuration generation (graceful reloads).",
         std::to_string(hdr.generation.load()));
  metric("pillar_requests_total", "counter", "Requests answered.", std::to_string(t.accesses));
  metric("pillar_sent_bytes_total", "counter", "Bytes sent to clients.", std::to_string(t.bytes));
  metric("pillar_sendfile_bytes_total", "counter", "File bytes sent to clients by sendfile (EnableSendfile On).",
         std::to_string(t.sendfile_bytes));
  metric("pillar_connections_total", "counter", "Connections accepted.", std::to_string(t.connections));
  metric("pillar_connections", "gauge", "Connections open now (each holds a slot).",
         std::to_string(hdr.conns_in_use.load()));
  metric("pillar_connections_limit", "gauge", "MaxRequestWorkers.", std::to_string(hdr.max_conns.load()));
  metric("pillar_worker_processes", "gauge", "Worker processes alive.", std::to_string(t.processes));
  metric("pillar_worker_processes_stopping", "gauge", "Worker processes draining.", std::to_string(t.stopping));
  metric("pillar_client_limit_refusals_total", "counter",
         "Requests refused because their client held more than PillarMaxConnectionsPerClient connections.",
         std::to_string(hdr.client_limit_refusals.load()));
  metric("pillar_shed_requests_total", "counter", "Low-priority requests refused while PillarShedLoad's bound was passed.",
         std::to_string(hdr.shed_requests.load()));
  metric("pillar_rate_limited_requests_total", "counter", "Requests PillarRateLimit refused (429).",
         std::to_string(hdr.rate_limited.load()));
  metric("pillar_rate_delayed_requests_total", "counter", "Requests PillarRateLimit delayed to its zone's rate.",
         std::to_string(hdr.rate_delayed.load()));
  metric("pillar_shed_load_average", "gauge", "The 1-minute load average PillarShedLoad compares (sampled each second).",
         fmt::format("{}.{:03}", hdr.load_milli.load() / 1000, hdr.load_milli.load() % 1000));
  metric("pillar_worker_crashes_total", "counter", "Workers that died on a signal.", std::to_string(hdr.crashes.load()));
  metric("pillar_worker_recycles_total", "counter", "Workers recycled (MaxConnectionsPerChild, MaxMemoryPerChild).",
         std::to_string(hdr.recycles.load()));
  metric("pillar_log_lines_dropped_total", "counter",
         "Access and error log lines not written (full disk, write errors, queue full).",
         std::to_string(t.log_lines_dropped));
  metric("pillar_log_write_errors_total", "counter", "Log writes that failed or were cut short.",
         std::to_string(t.log_write_errors));
  metric("pillar_tls_handshakes_total", "counter", "TLS handshakes completed.", std::to_string(hdr.tls.handshakes.load()));
  metric("pillar_tls_resumed_total", "counter", "Of the TLS handshakes, resumed sessions (tickets).",
         std::to_string(hdr.tls.resumed.load()));
  metric("pillar_tls_failures_total", "counter", "TLS handshakes that failed or were abandoned after the client spoke.",
         std::to_string(hdr.tls.failures.load()));
  {
    const auto& h2 = hdr.h2;
    metric("pillar_http2_sessions_total", "counter", "HTTP/2 connections begun (ALPN h2 or the h2c preface).",
           std::to_string(h2.sessions.load()));
    metric("pillar_http2_streams_total", "counter", "Requests carried by HTTP/2 streams.", std::to_string(h2.streams.load()));
    metric("pillar_http2_refused_streams_total", "counter", "HTTP/2 streams refused (over H2MaxSessionStreams).",
           std::to_string(h2.refused_streams.load()));
    metric("pillar_http2_rapid_resets_total", "counter", "HTTP/2 connections closed for rapid stream resets.",
           std::to_string(h2.rapid_resets.load()));
    metric("pillar_http2_header_floods_total", "counter",
           "HTTP/2 header lists over the limits and CONTINUATION floods.", std::to_string(h2.header_floods.load()));
    metric("pillar_http2_control_floods_total", "counter",
           "HTTP/2 connections closed for SETTINGS, PING, WINDOW_UPDATE or empty-frame floods.",
           std::to_string(h2.control_floods.load()));
    metric("pillar_http2_stalled_streams_total", "counter",
           "HTTP/2 streams reset after Timeout behind a closed flow-control window.",
           std::to_string(h2.stalled_streams.load()));
    metric("pillar_http2_protocol_errors_total", "counter", "HTTP/2 connections ended by a client's protocol error.",
           std::to_string(h2.protocol_errors.load()));
  }
  out += "# HELP pillar_cpu_seconds_total CPU time used by worker processes.\n# TYPE pillar_cpu_seconds_total counter\n";
  out += fmt::format("pillar_cpu_seconds_total{{mode=\"user\"}} {:.2f}\n",
                     static_cast<double>(t.cpu_user_ticks) / clk_tck());
  out += fmt::format("pillar_cpu_seconds_total{{mode=\"system\"}} {:.2f}\n",
                     static_cast<double>(t.cpu_system_ticks) / clk_tck());
  out += "# HELP pillar_slots Connection slots by mod_status state.\n# TYPE pillar_slots gauge\n";
  static constexpr std::pair<char, std::string_view> kStates[] = {
      {'_', "waiting"}, {'R', "reading"}, {'W', "writing"}, {'K', "keepalive"}, {'C', "closing"}, {'G', "graceful"}};
  for (const auto& [c, name] : kStates)
    out += fmt::format("pillar_slots{{state=\"{}\"}} {}\n", name, t.by_state[static_cast<unsigned char>(c)]);
  if (const auto* vs = ctx_.vhost_stats) {
    // Per virtual host: requests by status class, bytes, latency histogram, cache results.
    std::string req, bytes, hist, cache_req, cache_ev;
    for (uint32_t id = 0; id < vs->count(); ++id) {
      core::shm::VhostCounters sum;
      for (uint32_t r = 0; r <= vs->rows(); ++r) {
        const auto& c = vs->at(r, id);
        sum.requests += c.requests.load(std::memory_order_relaxed);
        sum.bytes += c.bytes.load(std::memory_order_relaxed);
        for (size_t i = 0; i < 6; ++i) sum.status_class[i] += c.status_class[i].load(std::memory_order_relaxed);
        for (size_t i = 0; i < core::shm::kLatencyBuckets; ++i) sum.latency[i] += c.latency[i].load(std::memory_order_relaxed);
        sum.latency_sum_us += c.latency_sum_us.load(std::memory_order_relaxed);
      }
      if (sum.requests.load() == 0) continue;
      std::string vh = std::string(vs->name(id));
      if (ctx_.cache) {
        auto c = cache_counts(vs, id);
        for (size_t i = 0; i < c.size(); ++i)
          cache_req += fmt::format("pillar_cache_requests_total{{vhost=\"{}\",result=\"{}\"}} {}\n", vh, kCacheResults[i], c[i]);
        if (ctx_.cache_evictions)
          cache_ev += fmt::format("pillar_cache_evictions_total{{vhost=\"{}\"}} {}\n", vh, ctx_.cache_evictions(id));
      }
      static constexpr const char* kClass[] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
      for (size_t i = 0; i < 6; ++i) {
        if (sum.status_class[i].load() == 0) continue;
        req += fmt::format("pillar_vhost_requests_total{{vhost=\"{}\",code=\"{}\"}} {}\n", vh, kClass[i],
                           sum.status_class[i].load());
      }
      bytes += fmt::format("pillar_vhost_sent_bytes_total{{vhost=\"{}\"}} {}\n", vh, sum.bytes.load());
      uint64_t cumulative = 0;
      for (size_t i = 0; i < core::shm::kLatencyBuckets; ++i) {
        cumulative += sum.latency[i].load();
        std::string le = i + 1 < core::shm::kLatencyBuckets
                             ? fmt::format("{:g}", static_cast<double>(core::shm::kLatencyBucketsUs[i]) / 1e6)
                             : "+Inf";
        hist += fmt::format("pillar_request_duration_seconds_bucket{{vhost=\"{}\",le=\"{}\"}} {}\n", vh, le,
                            cumulative);
      }
      hist += fmt::format("pillar_request_duration_seconds_sum{{vhost=\"{}\"}} {:.6f}\n", vh,
                          static_cast<double>(sum.latency_sum_us.load()) / 1e6);
      hist += fmt::format("pillar_request_duration_seconds_count{{vhost=\"{}\"}} {}\n", vh, cumulative);
    }
    out += "# HELP pillar_vhost_requests_total Requests per virtual host and status class.\n"
           "# TYPE pillar_vhost_requests_total counter\n" + req;
    out += "# HELP pillar_vhost_sent_bytes_total Bytes sent per virtual host.\n"
           "# TYPE pillar_vhost_sent_bytes_total counter\n" + bytes;
    out += "# HELP pillar_request_duration_seconds Time from the first request byte to the last response byte.\n"
           "# TYPE pillar_request_duration_seconds histogram\n" + hist;
    if (ctx_.cache) {
      out += "# HELP pillar_cache_requests_total Cacheable requests per virtual host: hit, miss (fetched), pass, "
             "coalesced (waited for another fetch), stale (grace or stale-if-error).\n"
             "# TYPE pillar_cache_requests_total counter\n" + cache_req;
      out += "# HELP pillar_cache_evictions_total Objects evicted to make room, by the virtual host that stored them.\n"
             "# TYPE pillar_cache_evictions_total counter\n" + cache_ev;
    }
  }
  if (ctx_.cache) {
    auto g = ctx_.cache();
    out += fmt::format("# HELP pillar_cache_objects Objects in the cache store.\n# TYPE pillar_cache_objects gauge\n"
                       "pillar_cache_objects {}\n", g.objects);
    out += fmt::format("# HELP pillar_cache_bytes Cache store bytes (CacheSize) used and in all.\n"
                       "# TYPE pillar_cache_bytes gauge\npillar_cache_bytes{{kind=\"used\"}} {}\n"
                       "pillar_cache_bytes{{kind=\"total\"}} {}\n", g.bytes_used, g.bytes_total);
    out += fmt::format("# HELP pillar_cache_lock_timeouts_total Requests served uncached (passed) because the cache "
                       "store's lock was not had within its bound (a stalled holder).\n"
                       "# TYPE pillar_cache_lock_timeouts_total counter\npillar_cache_lock_timeouts_total {}\n",
                       g.lock_timeouts);
  }
  if (ctx_.vrrp) {
    std::string state, trans, sent, recv, dropped;
    for (const auto& e : ctx_.vrrp->entries) {
      if (!e.used.load()) continue;
      state += fmt::format("pillar_vrrp_state{{instance=\"{}\",state=\"{}\"}} 1\n", e.name, vrrp_state_name(e.state.load()));
      trans += fmt::format("pillar_vrrp_transitions_total{{instance=\"{}\"}} {}\n", e.name, e.transitions.load());
      sent += fmt::format("pillar_vrrp_adverts_sent_total{{instance=\"{}\"}} {}\n", e.name, e.adverts_sent.load());
      recv += fmt::format("pillar_vrrp_adverts_received_total{{instance=\"{}\"}} {}\n", e.name,
                          e.adverts_received.load());
      uint64_t d = 0;
      for (const auto& x : e.dropped) d += x.load();
      dropped += fmt::format("pillar_vrrp_packets_dropped_total{{instance=\"{}\"}} {}\n", e.name, d);
    }
    if (!state.empty()) {
      out += "# HELP pillar_vrrp_state The VRRP state of each instance (1 for the current state).\n"
             "# TYPE pillar_vrrp_state gauge\n" + state;
      out += "# TYPE pillar_vrrp_transitions_total counter\n" + trans;
      out += "# TYPE pillar_vrrp_adverts_sent_total counter\n" + sent;
      out += "# TYPE pillar_vrrp_adverts_received_total counter\n" + recv;
      out += "# HELP pillar_vrrp_packets_dropped_total Malformed, hostile or foreign VRRP packets dropped.\n"
             "# TYPE pillar_vrrp_packets_dropped_total counter\n" + dropped;
    }
  }
  resp.add_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  resp.add_header("Cache-Control", "no-cache");
  resp.add_text(out);
}

}  // namespace pillar::handlers
