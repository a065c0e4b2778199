// mod_deflate's and mod_brotli's filter step. The sections that cover the
// request are merged in request/output_filter_sections.cpp.
//
// The request environment is mod_rewrite's E= and the vhost's SetEnv:
// no-gzip (no DEFLATE, and no Vary for it), no-brotli (the same for
// BROTLI_COMPRESS), gzip-only-text/html=1, force-gzip.
#include "server/request/compression.h"

#include <memory>

#include "deflate/deflate_filter.h"
#include "http/accept_encoding.h"
#include "server/request/output_filter_sections.h"
#include "server/request/request.h"
#include "server/site.h"

namespace pillar::server {

namespace {

// A variable of the request's environment (SetEnvIf, SetEnv, E=), or null.
const std::string* env_value(const Request& req, std::string_view name) { return req.env.find(name); }

}  // namespace

void maybe_push_deflate_filter(Request& req, OutputFilterSections& m) {
  const config::VirtualHost& vh = *req.site->cfg;
  // no-gzip: Apache's BrowserMatch recipe (not even Vary); no-brotli: mod_brotli's.
  const bool no_gzip = env_value(req, "no-gzip") != nullptr, no_brotli = env_value(req, "no-brotli") != nullptr;
  if (no_gzip && no_brotli) return;

  const std::string_view base = m.base;
  deflate::DeflateRequest d;
  if (!no_gzip) {
    d.gzip.any_type = m.deflate.set.value_or(false) || m.deflate.extension_says(base);
    d.gzip.types = std::move(m.deflate.types);
  }
  if (!no_brotli) {
    d.brotli.any_type = m.brotli.set.value_or(false) || m.brotli.extension_says(base);
    d.brotli.types = std::move(m.brotli.types);
  }
  if (!d.gzip.any() && !d.brotli.any()) return;
  d.accepts_gzip = env_value(req, "force-gzip") || http::accepts_coding(req.head, "gzip");
  d.accepts_br = http::accepts_coding(req.head, "br");
  d.head = req.head.method == http::Method::Head;
  d.range = req.head.has("Range");
  d.no_transform = http::has_token(req.head.find("Cache-Control"), "no-transform");
  const std::string* only_html = env_value(req, "gzip-only-text/html");
  d.gzip_only_html = only_html && *only_html == "1";
  req.filters.push(std::make_unique<deflate::DeflateFilter>(vh.deflate, vh.brotli, std::move(d)));
}

}  // namespace pillar::server
