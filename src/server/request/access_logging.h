// The log step of a request: one line per CustomLog of its vhost and its
// share of the scoreboard and counters, the same for every carrier (an
// HTTP/1.1 connection, an HTTP/2 stream). The carrier says what only it
// knows (its addresses, bytes on the wire, keep-alive count); the rest
// comes from the Request.
#pragma once
#include <sys/socket.h>

#include <cstdint>
#include <ctime>
#include <string_view>

namespace pillar::core {
class Transport;
namespace shm {
struct ConnSlot;
}
}  // namespace pillar::core

namespace pillar::server {

struct Request;
class WorkerLoop;

struct CarrierLogFacts {
  std::string_view request_line;       // as received; may be a prefix of an unparsed head
  uint16_t local_port = 0;
  const sockaddr_storage* local = nullptr;
  uint64_t bytes_out = 0;              // %O: what the carrier sent for this request
  uint64_t duration_us = 0;
  time_t now = 0;                      // %t when the request has no start time
  uint32_t keepalive_count = 0;        // %k
  char connection_status = '+';        // %X
  const core::Transport* transport = nullptr;
};

// Appends the request's line to each access log of its vhost (none: nothing).
void write_access_logs(const Request& req, const CarrierLogFacts& f);

// Counts a finished request of `sent` bytes that took `took_us`: the loop's
// and the process row's totals, the connection's scoreboard slot (null: an
// internal request without one) and the vhost's counters (server-status,
// /metrics). The carrier publishes its slot's request text itself.
void count_request(WorkerLoop& w, const Request& req, core::shm::ConnSlot* slot, uint64_t sent, uint64_t took_us);

}  // namespace pillar::server
