// What the metadata modules (mod_setenvif, mod_env, mod_headers,
// mod_expires, ServerSignature: src/server/metadata) keep for one request,
// in the Request: the configuration sections that apply to it in Apache's
// merge order, who wrote the response head (which of mod_headers' tables
// the fields are in), storage for the values RequestHeader gives the
// request head, and what the format specifiers need. Reset when the
// request's head is read (metadata/metadata_phase.h).
#pragma once
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "http/request_env.h"

namespace pillar::config {
struct Metadata;
}
namespace pillar::core {
class Transport;
namespace shm {
struct ScoreboardHeader;
}
}  // namespace pillar::core

namespace pillar::server {

struct MetadataState {
  // The vhost's Metadata first, then <Directory> (shortest path first),
  // <Files>, <Location> (configuration order): collected once the request
  // is mapped (metadata/sections.h), or when a response needs them before.
  std::vector<const config::Metadata*> sections;
  bool sections_known = false;
  // The head was written by write_response: the server's own answer (a
  // static file, a built-in page, an error page), not a member's or an
  // application's. With a status other than 2xx or 304 it is one of
  // Apache's locally generated answers, which only `Header always` edits.
  bool local_answer = false;
  std::deque<std::string> values;  // RequestHeader's values: the head's views point here
  http::RequestEnv notes;          // Header note (logged by %{NAME}n)
  std::string sent_fields;         // the fields the headers filter sent, for %{NAME}o ("" without the filter)
  uint64_t start_wall_us = 0;      // %t: when the head was read, microseconds since the epoch
  // The connection's, the same for each of its requests (kept by reset()).
  uint16_t local_port = 0;         // the port the request came to (ServerSignature without a Host port)
  std::string local_ip;            // Server_Addr
  const core::Transport* transport = nullptr;  // %{VAR}s: the client's connection (TLS variables)
  const core::shm::ScoreboardHeader* board = nullptr;  // %i %b: the node's connections in use and the limit

  void reset() {
    sections.clear();
    sections_known = false;
    local_answer = false;
    values.clear();
    notes.clear();
    sent_fields.clear();
    start_wall_us = 0;
  }
};

}  // namespace pillar::server
