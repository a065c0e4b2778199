#include "server/metadata/headers_filter.h"

#include "core/text.h"
#include "http/http_date.h"
#include "server/metadata/expires.h"
#include "server/metadata/header_edit.h"
#include "server/metadata/request_format.h"
#include "server/metadata/sections.h"
#include "server/request/expr_input.h"
#include "server/site.h"

namespace pillar::server::metadata {
namespace {

enum class Origin : uint8_t { LocalSuccess, LocalError, Member, Script };

Origin origin_of(const Request& req, int status) {
  if (req.meta.local_answer) return (status >= 200 && status < 300) || status == 304 ? Origin::LocalSuccess : Origin::LocalError;
  if (req.route && req.route->balancer) return Origin::Member;
  return Origin::Script;
}

// Apache's ap_scan_script_header_err: these go to r->headers_out, the rest
// of a script's fields to r->err_headers_out.
bool script_onsuccess_field(std::string_view n) {
  for (std::string_view f : {"Location", "ETag", "Last-Modified", "Content-Length", "Content-Range", "Transfer-Encoding"}) {
    if (core::iequals(n, f)) return true;
  }
  return false;
}

bool force_http10(const Request& req) {
  return req.head.version_major == 1 && req.head.version_minor == 0 && req.env.has("force-response-1.0");
}

bool wants_filter(std::span<const config::Metadata* const> secs) {
  for (const config::Metadata* m : secs) {
    if (!m->expires.empty()) return true;
    for (const auto& h : m->headers) {
      if (!h.request) return true;
    }
  }
  return false;
}

}  // namespace

std::string& HeadersFilter::begin_head(int status, std::string_view reason) {
  status_ = status;
  reason_.assign(reason);
  lines_.clear();
  return lines_;
}

void HeadersFilter::end_head(http::BodyLength body, uint64_t length) {
  const Origin origin = origin_of(req_, status_);
  thread_local std::vector<ResponseField> fields;
  fields.clear();
  FieldTable table = origin == Origin::LocalError ? FieldTable::None
                     : origin == Origin::Script   ? FieldTable::Always
                                                  : FieldTable::OnSuccess;
  parse_fields(lines_, table, fields);
  for (auto& f : fields) {
    if (origin == Origin::Script && script_onsuccess_field(f.name)) f.table = FieldTable::OnSuccess;
    if (origin != Origin::Member && core::iequals(f.name, "Server")) f.table = FieldTable::None;
  }
  auto secs = sections(req_);
  RequestFormatSource src(req_);
  if (status_ >= 200 && status_ < 400) {
    ExpiresInput in;
    uint64_t t_us = src.request_time_us();
    in.request_time = static_cast<time_t>(t_us / 1000000u);
    in.table = origin == Origin::LocalError ? FieldTable::None : FieldTable::OnSuccess;
    if (origin == Origin::LocalSuccess) {
      in.media_type = req_.resp.media_type;  // a 304's, which sends no Content-Type
      for (const auto& f : fields) {
        if (core::iequals(f.name, "Last-Modified")) in.modified = http::parse_http_date(f.value);
      }
    }
    apply_expires(secs, fields, in);
  }
  // Apache's order: `early` lines (when the head was read), then the
  // always table's lines, then the onsuccess table's, each in section order.
  // expr= conditions read the request and, through resp() and
  // CONTENT_TYPE, the response's fields as they stand when the line runs.
  config::ExprInput in = expr_input(req_);
  in.content_type = req_.resp.media_type;
  in.response_ctx = &fields;
  in.response_field = [](const void* ctx, std::string_view name) -> std::string_view {
    for (const auto& f : *static_cast<const std::vector<ResponseField>*>(ctx)) {
      if (core::iequals(f.name, name)) return f.value;
    }
    return {};
  };
  using Table = config::HeaderAction::Table;
  for (bool early : {true, false}) {
    for (Table t : {Table::Always, Table::OnSuccess}) {
      if (t == Table::OnSuccess && origin == Origin::LocalError) continue;
      for (const config::Metadata* m : secs) {
        for (const auto& a : m->headers) {
          if (a.request || a.early != early || a.table != t || !condition_holds(a, req_.env, &in)) continue;
          apply_response_action(a, fields, req_.head.headers, src, req_.meta.notes);
        }
      }
    }
  }
  std::string& out = next().begin_head(status_, reason_);
  if (force_http10(req_) && out.size() >= 2) {
    // The status line the sink just wrote ends the buffer: HTTP/1.1 -> HTTP/1.0.
    size_t prev = out.size() > 2 ? out.rfind("\r\n", out.size() - 3) : std::string::npos;
    size_t start = prev == std::string::npos ? 0 : prev + 2;
    if (out.compare(start, 9, "HTTP/1.1 ") == 0) out[start + 7] = '0';
  }
  std::string& sent = req_.meta.sent_fields;  // what %{NAME}o logs, as Apache logs after mod_headers
  sent.clear();
  for (const auto& f : fields) sent.append(f.name).append(": ").append(f.value).append("\r\n");
  out.append(sent);
  next().end_head(body, length);
}

void maybe_push_headers_filter(Request& req) {
  if (!req.site) return;
  if (!wants_filter(sections(req)) && !force_http10(req)) return;
  req.filters.push(std::make_unique<HeadersFilter>(req));
}

}  // namespace pillar::server::metadata
