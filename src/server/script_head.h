// A script's response head as the client gets it, shared by the two script
// exchanges (CGI's stdout pipe, a FastCGI application's STDOUT records):
// the CGI head (RFC 3875 §6) is parsed once it is whole; a local redirect
// (`Location: /path` alone) is handed to the phases instead of answered;
// otherwise the head goes to the sink with the script's fields, a Date when
// the script gave none, and the framing its Content-Length allows.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/exchange.h"

namespace pillar::server {

struct Request;

enum class ScriptHead : uint8_t {
  Incomplete,  // more of the head is needed
  Malformed,   // not a CGI head: `why` says how (the exchange answers its error)
  Redirect,    // a local redirect was asked for (request/local_redirect.h): the script's answer is dropped
  Sent,        // the head is in the sink; `rest` holds the body bytes that followed it
};

struct ScriptHeadOut {
  int status = 0;
  bool known_length = false;  // the body is exactly `body_left` bytes
  bool discard_body = false;  // HEAD, 204, 304: the script's body is not sent
  uint64_t body_left = 0;
  std::string rest;
  const char* why = nullptr;
};

// `head_buf`: the script's output so far (cleared once the head is used);
// `request_done`: the whole request body has reached the script (else a
// chunked or large rest closes the connection after the answer).
ScriptHead write_script_head(http::ExchangeHost& host, Request& req, std::string& head_buf, size_t head_max,
                             bool request_done, std::string_view date, ScriptHeadOut& out);

}  // namespace pillar::server
