#include "server/balancer_manager.h"

#include <chrono>
#include <string>

#include <fmt/format.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/text.h"
#include "http/uri.h"
#include "proxy/balancer_runtime.h"
#include "server/site.h"

namespace pillar::server {
namespace {

// The value of `key` in an application/x-www-form-urlencoded body ('+' is
// a space, %XX a byte); a malformed escape sets `bad`.
std::string form_value(std::string_view form, std::string_view key, bool& bad) {
  while (!form.empty()) {
    size_t amp = form.find('&');
    std::string_view item = form.substr(0, amp);
    size_t eq = item.find('=');
    if (item.substr(0, eq) == key && eq != std::string_view::npos) {
      std::string out;
      std::string_view v = item.substr(eq + 1);
      for (size_t i = 0; i < v.size(); ++i) {
        if (v[i] == '+') {
          out.push_back(' ');
        } else if (v[i] == '%') {
          int hi = i + 2 < v.size() ? core::hex_digit(v[i + 1]) : -1, lo = hi >= 0 ? core::hex_digit(v[i + 2]) : -1;
          if (lo < 0) {
            bad = true;
            return {};
          }
          out.push_back(static_cast<char>(hi * 16 + lo));
          i += 2;
        } else {
          out.push_back(v[i]);
        }
      }
      return out;
    }
    if (amp == std::string_view::npos) break;
    form.remove_prefix(amp + 1);
  }
  return {};
}

}  // namespace

void BalancerManager::handle(const http::RequestContext& ctx, http::Response& resp) {
  const auto method = ctx.head.method;
  std::string nonce = fmt::format("{:016x}", table_ ? table_->nonce : 0);
  std::string message;
  if (method == http::Method::Post) {
    // The form's fields come in the body, as a browser posts them (never
    // from the query string: a link must not change anything).
    std::string_view q = ctx.body;
    bool bad = false;
    std::string got_nonce = form_value(q, "nonce", bad);
    std::string b = form_value(q, "b", bad), w = form_value(q, "w", bad), op = form_value(q, "op", bad);
    std::string lf_text = form_value(q, "lf", bad);
    if (bad) {
      resp.error(400);
      return;
    }
    if (got_nonce != nonce) {
      resp.error(403);
      return;
    }
    bool done = false;
    for (const auto& br : rt_.balancers()) {
      if (proxy::balancer_key(*br->cfg) != b) continue;
      auto span = br->span();
      for (size_t i = 0; i < span.size(); ++i) {
        if (br->cfg_index[i] < 0 || br->member_cfg(static_cast<int>(i)).url != w) continue;
        auto& m = span[i];
        if (op == "drain") m.status_flags.fetch_or(proxy::kStatusDrain);
        else if (op == "undrain") m.status_flags.fetch_and(~uint32_t{proxy::kStatusDrain});
        else if (op == "disable") m.status_flags.fetch_or(proxy::kStatusDisabled);
        else if (op == "enable") {
          m.status_flags.fetch_and(~uint32_t{proxy::kStatusDisabled | proxy::kStatusDrain | proxy::kStatusError});
          br->error_until(static_cast<int>(i)).store(0);
        } else if (op == "weight") {
          auto lf = core::parse_decimal(lf_text);
          if (!lf || *lf < 1 || *lf > 100) {
            resp.error(400);
            return;
          }
          m.lbfactor = static_cast<uint32_t>(*lf);
        } else {
          resp.error(400);
          return;
        }
        done = true;
        core::log(core::LogLevel::Notice, "proxy", "balancer-manager: {} {} {} (client {})", b, w, op, ctx.client_ip);
      }
    }
    if (!done) {
      resp.error(404);
      return;
    }
    message = "<p><b>Done:</b> " + http::html_escape(b) + " " + http::html_escape(w) + " " + http::html_escape(op) + "</p>\n";
  } else if (method != http::Method::Get && method != http::Method::Head) {
    resp.error(405);
    resp.add_header("Allow", "GET, HEAD, POST");
    return;
  }
  std::string self(ctx.path);
  std::string out = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Balancer Manager</title>"
                    "<style>body{font-family:sans-serif}td,th{padding:2px 8px;text-align:left}"
                    "form{display:inline}</style></head><body>\n<h1>Load Balancer Manager</h1>\n" + message;
  const uint64_t now = core::mono_ms();
  for (const auto& br : rt_.balancers()) {
    std::string key = proxy::balancer_key(*br->cfg);
    out += "<h2>balancer://" + http::html_escape(key) + "</h2>\n<table border=\"1\"><tr><th>Worker URL</th><th>Route</th>"
           "<th>Factor</th><th>Status</th><th>Busy</th><th>Elected</th><th>Traffic</th><th>Actions</th></tr>\n";
    auto span = br->span();
    for (size_t i = 0; i < span.size(); ++i) {
      if (br->cfg_index[i] < 0) continue;
      const auto& m = span[i];
      const std::string& url = br->member_cfg(static_cast<int>(i)).url;
      std::string fields = fmt::format(
          "<input type=\"hidden\" name=\"nonce\" value=\"{}\"><input type=\"hidden\" name=\"b\" value=\"{}\">"
          "<input type=\"hidden\" name=\"w\" value=\"{}\">",
          nonce, http::html_escape(key), http::html_escape(url));
      auto button = [&](const char* op, const char* label) {
        return fmt::format("<form method=\"post\" action=\"{}\">{}<input type=\"hidden\" name=\"op\" value=\"{}\">"
                           "<button>{}</button></form> ",
                           http::html_escape(http::url_escape_path(self)), fields, op, label);
      };
      out += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}{}{}{}</td></tr>\n",
                         http::html_escape(url), http::html_escape(std::string(proxy::member_route(m))), m.lbfactor,
                         proxy::status_flags_text(br->shown_flags(static_cast<int>(i), now), proxy::FlagStyle::Words), m.busy.load(), m.elected.load(), m.transferred.load(),
                         button("drain", "Drain"), button("undrain", "Undrain"), button("disable", "Disable"),
                         button("enable", "Enable"));
    }
    out += "</table>\n";
  }
  out += "</body></html>\n";
  resp.add_header("Content-Type", "text/html; charset=utf-8");
  resp.add_header("Cache-Control", "no-store");
  resp.add_text(out);
}

}  // namespace pillar::server
