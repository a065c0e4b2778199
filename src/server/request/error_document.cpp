#include "server/request/error_document.h"

#include "http/field_rules.h"
#include "http/uri.h"
#include "server/error_page.h"
#include "server/metadata/signature.h"
#include "server/site.h"

namespace pillar::server {

void apply_error_document(Request& req, const Site* site, const http::RequestContext* ctx) {
  int status = req.resp.status;
  const config::ErrorDocument* doc = nullptr;
  if (site) {
    auto it = site->cfg->error_documents.find(status);
    if (it != site->cfg->error_documents.end()) doc = &it->second;
  }
  req.resp.use_error_page = false;
  if (doc && doc->kind == config::ErrorDocument::Kind::LocalPath && ctx) {
    // Internal redirect: serve the local document as a GET, keep the status.
    http::RequestHead sub = req.head;
    sub.method = http::Method::Get;
    sub.method_name = "GET";
    std::erase_if(sub.headers, [](const http::HeaderField& f) { return http::conditional_or_range(f.name); });
    std::string sub_path;
    int st = 0;
    if (http::normalize_path(doc->value, sub_path, st)) {
      std::string saved_headers = req.resp.header_block();
      http::RequestContext sctx{sub, sub_path, ctx->host, ctx->client, ctx->client_ip, ctx->local_port};
      http::Response sub_resp;
      const LocationRoute* route = site->match(sub_path);
      http::Handler* h = route && route->handler ? route->handler : site->static_handler.get();
      h->handle(sctx, sub_resp);
      if (sub_resp.status == 200 && !sub_resp.use_error_page) {
        req.resp.clear();
        req.resp.status = status;
        // Keep the sub-response's entity headers (Content-Type...), not its validators.
        std::string_view block = sub_resp.header_block();
        while (!block.empty()) {
          size_t eol = block.find("\r\n");
          std::string_view line = block.substr(0, eol);
          size_t colon = line.find(':');
          std::string_view name = line.substr(0, colon);
          if (colon != std::string_view::npos && http::iequals(name, "Content-Type"))
            req.resp.add_header(name, line.substr(colon + 2));
          if (eol == std::string_view::npos) break;
          block.remove_prefix(eol + 2);
        }
        for (size_t i = 0; i < sub_resp.part_count(); ++i) {
          const auto& p = sub_resp.parts()[i];
          if (p.file) req.resp.add_file(p.file, p.offset, p.length);
          else req.resp.add_text(p.text);
        }
        return;
      }
    }
    // Fall through to the built-in page when the document cannot be served.
    doc = nullptr;
  }
  // From here on the page is the server's own: no content filters on it
  // (Apache's ap_send_error_response runs only the protocol filters), so no
  // compression and no Vary for one.
  req.filters.drop_content_filters();
  if (doc && doc->kind == config::ErrorDocument::Kind::Redirect) {
    req.resp.status = 302;
    req.resp.add_header("Location", doc->value);
    req.resp.add_header("Content-Type", "text/html; charset=utf-8");
    render_error_page(302, req.resp, metadata::server_signature(req, "<hr>\n"));
    return;
  }
  if (doc && doc->kind == config::ErrorDocument::Kind::Text) {
    req.resp.add_header("Content-Type", "text/html; charset=utf-8");
    req.resp.add_text(doc->value);
    return;
  }
  if (status == 405 && !req.resp.has_header("Allow")) req.resp.add_header("Allow", "GET, HEAD, OPTIONS");
  req.resp.add_header("Content-Type", "text/html; charset=utf-8");
  render_error_page(status, req.resp, metadata::server_signature(req, "<hr>\n"));
}

}  // namespace pillar::server
