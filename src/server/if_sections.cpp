// Choosing the true <If> sections of a request and the Site that merges
// them (see if_sections.h).
#include "server/if_sections.h"

#include "config/loader.h"
#include "core/assert.h"
#include "core/log.h"
#include "rewrite/site_rules.h"
#include "server/site.h"

namespace pillar::server {
namespace {

// One list of sections: each chain (an <If>, its <ElseIf>s, an <Else>)
// contributes its first true section, and that section's nested ones.
void walk(const std::vector<config::IfSection>& list, const config::ExprInput& in,
          std::vector<const config::IfSection*>& out) {
  bool taken = false;  // a section of the current chain held
  for (const auto& s : list) {
    if (s.kind == config::IfSection::Kind::If) taken = false;
    if (taken) continue;
    PILLAR_ASSERT(s.kind == config::IfSection::Kind::Else || s.cond);
    if (s.kind != config::IfSection::Kind::Else && !s.cond->evaluate(in)) continue;
    taken = true;
    out.push_back(&s);
    walk(s.nested, in, out);
  }
}

}  // namespace

void select_if_sections(const config::VirtualHost& vh, const config::ExprInput& in, std::string_view filename,
                        std::string_view path, std::vector<const config::IfSection*>& out) {
  walk(vh.ifs, in, out);
  if (!filename.empty()) {
    std::string_view base = filename;
    if (size_t slash = base.rfind('/'); slash != std::string_view::npos) base.remove_prefix(slash + 1);
    for (const auto& d : vh.directories) {
      if (!d.from_if && !d.ifs.empty() && rewrite::path_under(filename, d.path)) walk(d.ifs, in, out);
    }
    if (!base.empty()) {
      for (const auto& f : vh.files) {
        if (!f.ifs.empty() && f.matches(base)) walk(f.ifs, in, out);
      }
      for (const auto& d : vh.directories) {
        if (d.from_if || !rewrite::path_under(filename, d.path)) continue;
        for (const auto& f : d.files) {
          if (!f.ifs.empty() && f.matches(base)) walk(f.ifs, in, out);
        }
      }
    }
  }
  for (const auto& l : vh.locations) {
    if (!l.ifs.empty() && l.matches(path)) walk(l.ifs, in, out);
  }
}

IfSiteCache& thread_if_cache() {
  thread_local IfSiteCache cache;
  return cache;
}

IfOutcome IfSiteCache::resolve(const Runtime& rt, const Site& base, const std::shared_ptr<const Site>& base_hold,
                               const std::vector<const config::IfSection*>& chosen) {
  IfOutcome out;
  out.site = &base;
  if (chosen.empty()) return out;
  // The base Site's address and serial, then the sections': all live as
  // long as the entry (the configuration is the Runtime's, the .htaccess
  // Site is held by it).
  thread_local std::string key;  // reused: a lookup allocates nothing
  key.clear();
  key.append(reinterpret_cast<const char*>(&base.serial), sizeof base.serial);
  auto append_ptr = [&](const void* p) { key.append(reinterpret_cast<const char*>(&p), sizeof p); };
  append_ptr(&base);
  for (const auto* s : chosen) append_ptr(s);
  Built* b = sites_.find(key);
  if (!b) {
    ++builds_;
    Built fresh;
    fresh.base_hold = base_hold;
    auto vh = std::make_shared<config::VirtualHost>(*base.cfg);
    std::vector<config::ConfigError> errors;
    std::vector<std::string> notices;
    for (const auto* s : chosen) {
      config::DirectorySection sec;
      sec.path = "/";
      sec.from_if = true;
      sec.where = s->where;
      config::apply_if_body(*s->body, rt.config().server_root, *vh, sec, errors, notices);
      vh->directories.push_back(std::move(sec));  // last: after every other section (no re-sorting)
    }
    for (const auto& n : notices) core::log(core::LogLevel::Warn, "core", "{}", n);
    std::shared_ptr<Site> site;
    if (errors.empty()) site = derive_site(rt, base, vh, errors);
    if (!errors.empty()) {
      fresh.status = 500;
      fresh.error = errors[0].to_string();
    } else {
      fresh.site = std::move(site);
    }
    b = &sites_.put(key, std::move(fresh));
  }
  if (b->status) {
    out.status = b->status;
    out.error = b->error;
    return out;
  }
  out.hold = b->site;
  out.site = b->site.get();
  return out;
}

}  // namespace pillar::server
