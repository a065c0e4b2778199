// The request's phases (Varnish's steps, nginx's phases), run for any
// carrier of a request: an HTTP/1.1 connection now, an HTTP/2 stream next.
//
//   route -> metadata (early) -> rewrite -> purge -> access -> limits
//         -> metadata (fixups) -> filters
//         -> proxy (the cache filter around it) -> cgi -> fastcgi -> content
//
// Each step answers the request (the server's own answer, an error), hands
// it to an exchange that answers later, or passes it on; the content step
// always answers. The log step is the carrier's, when the answer is done.
// The steps see the carrier only through RequestCarrier, so none of them
// knows which protocol carries the request.
#pragma once
#include <sys/socket.h>

#include <cstdint>
#include <memory>

#include "core/shm/scoreboard.h"
#include "core/transport.h"
#include "http/exchange.h"

namespace pillar::server {

class WorkerLoop;
class HandlerExchange;
struct HeadDefaults;
struct Request;

class RequestCarrier : public http::ExchangeHost {
 public:
  virtual WorkerLoop& worker() = 0;
  // The request in progress: its head parsed, its client set (after RemoteIP).
  virtual Request& request() = 0;
  virtual const sockaddr_storage& local_address() const = 0;
  virtual uint16_t local_port() const = 0;
  // The client's transport: secure() for HTTPS, the TLS session for the SNI check.
  virtual core::Transport& transport() = 0;
  virtual core::shm::ConnSlot& slot() = 0;
  // The carrier's synchronous-handler exchange, reused request after request.
  virtual HandlerExchange& content() = 0;
  // Answers queued ahead of this request leave now, before one that may
  // take a while; false when the client is gone (the carrier aborted the request).
  virtual bool flush_ahead() = 0;
  // The connection is one more than PillarMaxConnectionsPerClient lets its
  // client hold: its requests are refused (503) by the limits step.
  virtual bool over_client_limit() const = 0;
  // The server's own answer, in request().resp: framed and queued.
  virtual void respond() = 0;
  // An error answer (with its ErrorDocument), logged with `reason`; the carrier
  // carries no further request after it.
  virtual void respond_error(int status, const char* reason) = 0;
  // The exchange answers the request from here (the carrier runs it).
  virtual void run_exchange(std::unique_ptr<http::Exchange> x) = 0;
  virtual void run_exchange(http::Exchange& x) = 0;  // not owned: content()
};

// Runs the phases for the carrier's request.
void run_request_phases(RequestCarrier& c);

// For the steps (phases.cpp, fastcgi_phase.cpp):
//   Next       the next step runs;
//   Handled    the request is answered, or an exchange answers it;
//   Suspended  the step set Request::resume and runs an exchange that ends
//              with Outcome::Kind::Resume (a password checked off the loop):
//              the carrier then calls resume_request_phases, which runs
//              the resume function and, if it says Next, the steps after
//              the suspended one.
enum class PhaseStep : uint8_t { Next, Handled, Suspended };
void resume_request_phases(RequestCarrier& c);
// A request body nobody reads is dropped after the answer when small and
// complete; otherwise (large, chunked, or not sent yet because of Expect)
// the carrier cannot carry another request after it.
void close_if_body_unread(RequestCarrier& c);
PhaseStep phase_fastcgi(RequestCarrier& c);  // server/fastcgi_phase.cpp
PhaseStep phase_cgi(RequestCarrier& c);      // server/cgi_phase.cpp
PhaseStep phase_metadata_early(RequestCarrier& c);   // server/metadata_phase.cpp: SetEnvIf, RequestHeader early
PhaseStep phase_metadata_fixups(RequestCarrier& c);  // per-directory SetEnvIf, SetEnv, RequestHeader
// What every response head of this worker says (Date, Server).
HeadDefaults head_defaults(WorkerLoop& w);

}  // namespace pillar::server
