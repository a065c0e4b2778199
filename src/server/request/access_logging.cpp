#include "server/request/access_logging.h"

#include <algorithm>
#include <string>

#include "core/assert.h"
#include "core/socket_address.h"
#include "server/access_log.h"
#include "server/request/request.h"
#include "server/site.h"
#include "server/worker_loop.h"

namespace pillar::server {

void write_access_logs(const Request& req, const CarrierLogFacts& f) {
  if (!req.site || req.site->access_logs.empty()) return;
  PILLAR_ASSERT(f.local != nullptr);
  LogRecord r;
  const bool parsed = req.head_len > 0;
  r.head = parsed ? &req.head : nullptr;
  r.request_line = f.request_line;
  if (parsed) {
    r.path = req.head.path;
    r.query = req.head.query;
  }
  r.client_ip = req.client_ip;
  r.user = req.remote_user;  // %u
  r.local_port = f.local_port;
  const std::string local_ip = core::address_text(*f.local);
  r.local_ip = local_ip;
  r.server_name = req.site->cfg->server_name;
  r.host = parsed ? req.head.authority : std::string_view();
  r.status = req.resp.status;
  r.body_bytes = req.body_bytes;
  r.bytes_in = req.bytes_in;
  r.bytes_out = f.bytes_out;
  r.duration_us = f.duration_us;
  r.start_time = req.wall ? req.wall : f.now;
  // %{X}o: the fields as the headers filter sent them, when it edited them.
  r.response_headers = req.meta.sent_fields.empty() ? &req.resp.header_block() : &req.meta.sent_fields;
  r.env = &req.env;
  r.notes = &req.meta.notes;
  r.keepalive_count = f.keepalive_count;
  r.connection_status = f.connection_status;
  r.transport = f.transport;
  thread_local std::string line;
  for (const auto& log : req.site->access_logs) {
    line.clear();
    log.format->render(r, line);
    log.sink->append(line);
  }
}

void count_request(WorkerLoop& w, const Request& req, core::shm::ConnSlot* slot, uint64_t sent, uint64_t took_us) {
  w.stats().bytes_out += sent;
  auto& row = w.row();
  row.requests.fetch_add(1, std::memory_order_relaxed);
  row.bytes.fetch_add(sent, std::memory_order_relaxed);
  if (slot) {
    slot->access_count.fetch_add(1, std::memory_order_relaxed);
    slot->bytes_served.fetch_add(sent, std::memory_order_relaxed);
    slot->conn_requests.fetch_add(1, std::memory_order_relaxed);
    slot->conn_bytes.fetch_add(sent, std::memory_order_relaxed);
    slot->last_used_ms.store(static_cast<uint64_t>(w.loop().wall_time()) * 1000, std::memory_order_relaxed);
    slot->last_duration_us.store(static_cast<uint32_t>(std::min<uint64_t>(took_us, UINT32_MAX)), std::memory_order_relaxed);
  }
  if (const auto* vs = w.runtime().builtin().vhost_stats; vs && req.site)
    vs->at(w.row_index(), req.site->stats_id).record(req.resp.status, sent, took_us);
}

}  // namespace pillar::server
