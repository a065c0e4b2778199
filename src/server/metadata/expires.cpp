#include "server/metadata/expires.h"

#include <string>

#include "core/text.h"
#include "http/http_date.h"

namespace pillar::server::metadata {
namespace {

// "Text/HTML; charset=utf-8" -> "text/html".
std::string bare_type(std::string_view ct) {
  size_t semi = ct.find(';');
  return core::lowercase(core::trim_ows(ct.substr(0, semi)));
}

}  // namespace

bool apply_expires(std::span<const config::Metadata* const> sections, std::vector<ResponseField>& fields,
                   const ExpiresInput& in) {
  // Merged as mod_expires merges directory configs: the deepest section
  // that says wins, per type for ExpiresByType.
  bool active = false;
  const config::ExpiresRule* fallback = nullptr;
  std::vector<const std::pair<std::string, config::ExpiresRule>*> types;
  for (const config::Metadata* m : sections) {
    const auto& e = m->expires;
    if (e.active) active = *e.active;
    if (e.default_rule) fallback = &*e.default_rule;
    for (const auto& t : e.by_type) {
      std::erase_if(types, [&](const auto* o) { return o->first == t.first; });
      types.push_back(&t);
    }
  }
  if (!active || (types.empty() && !fallback)) return false;
  std::string_view content_type = in.media_type;
  bool typed = false;
  for (const auto& f : fields) {
    if (core::iequals(f.name, "Expires")) return false;  // set by whoever made the response
    if (!typed && core::iequals(f.name, "Content-Type")) {
      content_type = f.value;
      typed = true;
    }
  }
  const config::ExpiresRule* rule = nullptr;
  if (!content_type.empty()) {
    std::string type = bare_type(content_type);
    std::string major = type.substr(0, type.find('/')) + "/*";
    for (const auto* t : types) {
      if (t->first == type) rule = &t->second;
    }
    if (!rule) {
      for (const auto* t : types) {
        if (t->first == major) rule = &t->second;
      }
    }
  }
  if (!rule) rule = fallback;
  if (!rule) return false;
  time_t base = in.request_time;
  if (rule->base == config::ExpiresRule::Base::Modification) {
    if (!in.modified) return false;
    base = *in.modified;
  }
  time_t expires = base + static_cast<time_t>(rule->seconds);
  if (expires < in.request_time) expires = in.request_time;
  std::string max_age = "max-age=" + std::to_string(static_cast<long long>(expires - in.request_time));
  ResponseField* cc = nullptr;
  for (auto& f : fields) {
    if (core::iequals(f.name, "Cache-Control") && (f.table == in.table || f.table == FieldTable::Both)) {
      cc = &f;
      break;
    }
  }
  if (cc) cc->value.append(", ").append(max_age);
  else fields.push_back({"Cache-Control", std::move(max_age), in.table});
  char date[30];
  size_t n = http::format_http_date(expires, date);
  fields.push_back({"Expires", std::string(date, n), in.table});
  return true;
}

}  // namespace pillar::server::metadata
