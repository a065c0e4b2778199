#include "server/request/handler_exchange.h"

#include <algorithm>

#include "core/assert.h"
#include "core/log.h"
#include "server/metadata/signature.h"
#include "server/request/error_document.h"
#include "server/request/response_filters.h"
#include "server/request/rewrite_phase.h"
#include "server/site.h"

namespace pillar::server {

void write_response(http::ExchangeHost& host, Request& req, const HeadDefaults& defaults) {
  const int status = req.resp.status;
  req.meta.local_answer = true;  // the server's own answer (mod_headers' tables follow from it)
  if (!req.filters.installed()) {  // an answer before the filter step (a redirect, a 413)
    install_response_filters(req);
    req.filters.drop_content_filters();  // it is the server's own page: no DEFLATE on it (error_document.cpp)
  }
  switch (status) {
    case 400: case 408: case 411: case 413: case 414: case 417: case 500: case 501: case 503:
      host.close_after();
      break;
    default: break;
  }
  if (req.resp.close_connection) host.close_after();
  http::ResponseSink& sink = host.sink();
  std::string& out = sink.begin_head(status);
  out.append("Date: ");
  out.append(defaults.date);
  out.append("\r\nServer: ");
  out.append(defaults.server);
  out.append("\r\n");
  out.append(req.resp.header_block());
  const bool no_body = status == 304 || status == 204 || (status >= 100 && status < 200);
  const uint64_t clen = req.resp.content_length();
  sink.end_head(no_body ? http::BodyLength::None : http::BodyLength::Known, clen);
  req.body_bytes = 0;
  if (no_body || req.head.method == http::Method::Head) return;
  for (size_t i = 0; i < req.resp.part_count(); ++i) {
    const auto& p = req.resp.parts()[i];
    if (!p.file) {
      sink.body(p.text);
    } else if (!sink.file(p.file, p.offset, p.length)) {
      host.close_after();  // the file changed under us: the client sees a short body and a close
      break;
    }
  }
  sink.end_body();
  req.body_bytes = clen;
}

void HandlerExchange::reset(Request& req, http::Handler* handler, uint16_t local_port, const HeadDefaults& defaults) {
  req_ = &req;
  handler_ = handler;
  local_port_ = local_port;
  defaults_ = defaults;
  reading_ = done_ = false;
  outcome_ = {};
  // A handler that reads the body (a form POST) gets it whole first.
  const auto& h = req.head;
  if (handler && !req.path_error && handler->body_limit() > 0 && h.method != http::Method::Other &&
      (req.body_chunked || req.body_left > 0)) {
    if (h.has_content_length && h.content_length > handler->body_limit()) {
      answer_error(413, "request body larger than the handler takes");
      return;
    }
    req.body_text.clear();
    reading_ = true;
  }
}

http::Exchange::Step HandlerExchange::proceed() {
  if (!done_ && reading_) {
    if (!read_body()) return Step::Again;
  }
  if (!done_) answer();
  return Step::Done;
}

// Reads the request body into body_text; true once it is whole (or the
// request was answered with an error instead).
bool HandlerExchange::read_body() {
  const size_t limit = handler_->body_limit();
  for (;;) {
    std::string_view data;
    size_t room = limit - std::min(limit, req_->body_text.size());
    switch (host_.body().read(data, room + 1)) {
      case http::RequestBody::Status::Data:
        req_->body_text.append(data);
        if (req_->body_text.size() > limit) {
          answer_error(413, "request body larger than the handler takes");
          return true;
        }
        continue;
      case http::RequestBody::Status::End:
        reading_ = false;
        return true;
      case http::RequestBody::Status::Again:
        return false;
      case http::RequestBody::Status::Bad:
        answer_error(400, "malformed chunked request body");
        return true;
      case http::RequestBody::Status::Gone:
        reading_ = false;
        done_ = true;
        outcome_ = {Outcome::Kind::Cut, 0, 0};  // never answered
        return true;
    }
  }
}

void HandlerExchange::body_timeout() {
  if (!done_ && reading_) answer_error(408, "request body read timeout");
}

void HandlerExchange::answer_error(int status, const char* why) {
  core::log(core::LogLevel::Info, "core", "[client {}] {} {}", req_->client_ip, status, why);
  reading_ = false;
  host_.close_after();  // the rest of the body is not read
  req_->body_left = 0;
  req_->body_chunked = false;
  req_->resp.clear();
  set_error_answer(*req_, status);
  write_response(host_, *req_, defaults_);
  done_ = true;
  outcome_ = {Outcome::Kind::Answered, status, req_->body_bytes};
}

// The method and target checks every content handler shares, then the
// handler (null: the location's Require refused the client).
void HandlerExchange::answer() {
  Request& req = *req_;
  http::Response& resp = req.resp;
  if (req.head.method == http::Method::Other) {
    resp.error(501);
  } else if (req.head.method == http::Method::Trace || req.head.method == http::Method::Connect) {
    resp.error(405);
  } else if (req.head.path == "*") {
    if (req.head.method == http::Method::Options) {
      resp.add_header("Allow", "GET, HEAD, OPTIONS");
    } else {
      resp.error(400);
    }
  } else if (req.path_error) {
    resp.error(req.path_error);
  } else {
    std::string signature = metadata::server_signature(req, "");  // a listing's footer
    http::RequestContext ctx{req.head, req.path, req.host, req.client, req.client_ip, local_port_, req.body_text,
                             req.rewrite.filename, req.rewrite.forced_type, signature,
                             req.remote_user.empty() ? nullptr : &req.remote_user, &req.user_groups};
    std::string self_url;
    if (!req.head.authority.empty()) self_url = (req.https ? "https://" : "http://") + std::string(req.head.authority);
    ctx.self_url = self_url;
    if (!handler_) {
      resp.error(403);
    } else {
      handler_->handle(ctx, resp);
      apply_rewrite_headers(req);  // CO=, T=
    }
    if (resp.use_error_page) apply_error_document(req, req.site, &ctx);
  }
  if (resp.use_error_page) apply_error_document(req, req.site, nullptr);
  write_response(host_, req, defaults_);
  done_ = true;
  outcome_ = {Outcome::Kind::Answered, resp.status, req.body_bytes};
}

}  // namespace pillar::server
