#include "server/metadata/signature.h"

#include "core/text.h"
#include "server/site.h"

namespace pillar::server::metadata {
namespace {

void append_html(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '<': out.append("&lt;"); break;
      case '>': out.append("&gt;"); break;
      case '&': out.append("&amp;"); break;
      case '"': out.append("&quot;"); break;
      default: out.push_back(c);
    }
  }
}

// The port in "host:port" / "[v6]:port", or empty.
std::string_view authority_port(std::string_view a) {
  size_t colon = a.rfind(':');
  if (colon == std::string_view::npos || (a.find(']') != std::string_view::npos && colon < a.find(']'))) return {};
  std::string_view p = a.substr(colon + 1);
  return core::parse_decimal(p) ? p : std::string_view();
}

}  // namespace

std::string server_signature(const Request& req, std::string_view prefix) {
  if (!req.site) return {};
  config::ServerSignature sig = req.site->cfg->meta.signature.value_or(config::ServerSignature::Off);
  if (req.meta.sections_known) {
    for (const config::Metadata* m : req.meta.sections) {
      if (m->signature) sig = *m->signature;
    }
  }
  if (sig == config::ServerSignature::Off) return {};
  const config::VirtualHost& vh = *req.site->cfg;
  std::string_view name = !req.host.empty() ? std::string_view(req.host) : std::string_view(vh.server_name);
  if (name.empty()) name = req.meta.local_ip;
  std::string port(authority_port(req.head.authority));
  if (port.empty()) port = std::to_string(req.meta.local_port ? req.meta.local_port : (req.https ? 443 : 80));
  std::string out(prefix);
  out.append("<address>");
  append_html(out, req.site->server_banner);
  out.append(" Server at ");
  if (sig == config::ServerSignature::EMail) {
    out.append("<a href=\"");
    // A ServerAdmin that is a URL already ("mailto:...", "https://...") is used as it is.
    bool url = core::istarts_with(vh.server_admin, "mailto:") || vh.server_admin.find("://") != std::string::npos;
    if (!url) out.append("mailto:");
    append_html(out, vh.server_admin);
    out.append("\">");
    append_html(out, name);
    out.append("</a>");
  } else {
    append_html(out, name);
  }
  out.append(" Port ").append(port).append("</address>\n");
  return out;
}

}  // namespace pillar::server::metadata
