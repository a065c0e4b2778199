// A location's synchronous handler (static files, server-status, metrics,
// balancer-manager) behind the asynchronous Exchange interface, so the
// connection runs every content handler the same way and an HTTP/2 stream
// can run them through its own sink: the request's method and path checks,
// the request body for a handler that reads one (a form POST, through the
// host's RequestBody, with its read timeout), the handler, ErrorDocument,
// and the response written into the host's sink.
#pragma once
#include <cstdint>
#include <string_view>

#include "http/exchange.h"
#include "http/handler.h"
#include "server/request/request.h"

namespace pillar::server {

struct Site;

// The Date and Server fields every answer of the server's own carries.
struct HeadDefaults {
  std::string_view date;    // IMF-fixdate, formatted once a second by the loop
  std::string_view server;  // ServerTokens
};

// Writes `req.resp` (a synchronous handler's answer, or the server's own)
// into `sink`: the head with `defaults`, the handler's fields and the
// framing, then the body's text and file parts (none for HEAD, 1xx, 204,
// 304). Statuses after which the request stream cannot be trusted close the
// connection (Apache's ap_status_drops_connection).
void write_response(http::ExchangeHost& host, Request& req, const HeadDefaults& defaults);

class HandlerExchange final : public http::Exchange {
 public:
  explicit HandlerExchange(http::ExchangeHost& host) : host_(host) {}
  // A new request for `handler` (null: the location's Require refused the
  // client, 403). The exchange is reused, request after request.
  void reset(Request& req, http::Handler* handler, uint16_t local_port, const HeadDefaults& defaults);

  Step proceed() override;
  Outcome outcome() const override { return outcome_; }
  bool reading_body() const override { return reading_; }
  void body_timeout() override;

 private:
  bool read_body();  // false while more is to come
  void answer();     // runs the handler and writes its response
  void answer_error(int status, const char* why);

  http::ExchangeHost& host_;
  Request* req_ = nullptr;
  http::Handler* handler_ = nullptr;
  uint16_t local_port_ = 0;
  HeadDefaults defaults_;
  bool reading_ = false, done_ = false;
  Outcome outcome_;
};

}  // namespace pillar::server
