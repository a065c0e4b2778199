#include "server/metadata/sections.h"

#include "rewrite/site_rules.h"
#include "server/site.h"

namespace pillar::server::metadata {

void collect_sections(Request& req) {
  auto& out = req.meta.sections;
  out.clear();
  req.meta.sections_known = true;
  if (!req.site) return;
  const config::VirtualHost& vh = *req.site->cfg;
  out.push_back(&vh.meta);
  if (req.head_len == 0 || req.path_error || req.path.empty() || req.head.path == "*") return;
  const bool proxied = req.route && req.route->balancer;
  if (!proxied) {
    std::string filename = req.rewrite.filename;
    if (filename.empty()) filename = (vh.document_root == "/" ? std::string() : vh.document_root) + req.path;
    std::string_view base = filename;
    if (size_t slash = base.rfind('/'); slash != std::string_view::npos) base.remove_prefix(slash + 1);
    thread_local std::vector<const config::DirectorySection*> dirs;
    dirs.clear();
    for (const auto& d : vh.directories) {
      if (!d.from_if && rewrite::path_under(filename, d.path)) dirs.push_back(&d);
    }
    for (const auto* d : dirs) {
      if (!d->meta.empty()) out.push_back(&d->meta);
    }
    if (!base.empty()) {
      for (const auto& f : vh.files) {
        if (!f.meta.empty() && f.matches(base)) out.push_back(&f.meta);
      }
      for (const auto* d : dirs) {
        for (const auto& f : d->files) {
          if (!f.meta.empty() && f.matches(base)) out.push_back(&f.meta);
        }
      }
    }
  }
  for (const auto& l : vh.locations) {
    if (!l.meta.empty() && l.matches(req.path)) out.push_back(&l.meta);
  }
  // The request's true <If> sections (server/if_sections.h): last, proxied or not.
  for (const auto& d : vh.directories) {
    if (d.from_if && !d.meta.empty()) out.push_back(&d.meta);
  }
}

std::span<const config::Metadata* const> sections(Request& req) {
  if (!req.meta.sections_known) collect_sections(req);
  return req.meta.sections;
}

}  // namespace pillar::server::metadata
