#include "handlers/conditional.h"

#include "core/text.h"
#include "http/http_date.h"

namespace pillar::handlers {

namespace {
using core::trim_ows;
std::string_view opaque(std::string_view tag, bool& weak) {
  weak = tag.size() >= 2 && tag[0] == 'W' && tag[1] == '/';
  return weak ? tag.substr(2) : tag;
}
}  // namespace

bool etag_list_matches(std::string_view list, std::string_view etag, bool weak_compare) {
  if (trim_ows(list) == "*") return true;  // a current representation exists
  bool etag_weak;
  std::string_view ours = opaque(etag, etag_weak);
  while (!list.empty()) {
    list = trim_ows(list);
    if (!list.empty() && list.front() == ',') {  // empty list elements are allowed (RFC 9110 §5.6.1.2)
      list.remove_prefix(1);
      continue;
    }
    if (list.empty()) break;
    // An entity-tag may contain commas only inside its quotes.
    bool w = list.size() >= 2 && list[0] == 'W' && list[1] == '/';
    size_t start = w ? 2 : 0;
    if (start >= list.size() || list[start] != '"') return false;
    size_t close = list.find('"', start + 1);
    if (close == std::string_view::npos) return false;
    std::string_view theirs = list.substr(start, close - start + 1);
    if (theirs == ours && (weak_compare || (!w && !etag_weak))) return true;
    list.remove_prefix(close + 1);
    list = trim_ows(list);
    if (!list.empty() && list.front() == ',') list.remove_prefix(1);
  }
  return false;
}

// A list field may be split over several field lines (RFC 9110 §5.3); they
// form one list. True when any line's list matches.
static bool any_line_matches(const http::RequestHead& req, std::string_view name, std::string_view etag, bool weak) {
  for (const auto& h : req.headers) {
    if (http::iequals(h.name, name) && etag_list_matches(h.value, etag, weak)) return true;
  }
  return false;
}

int evaluate_preconditions(const http::RequestHead& req, const Validators& v, time_t now) {
  bool get_or_head = req.method == http::Method::Get || req.method == http::Method::Head;
  std::string_view im = req.find("If-Match");
  if (!im.empty()) {
    if (!any_line_matches(req, "If-Match", v.etag, false)) return 412;
  } else {
    std::string_view ius = req.find("If-Unmodified-Since");
    if (!ius.empty()) {
      auto t = http::parse_http_date(ius);
      if (t && v.last_modified > *t) return 412;
    }
  }
  std::string_view inm = req.find("If-None-Match");
  if (!inm.empty()) {
    if (any_line_matches(req, "If-None-Match", v.etag, true)) return get_or_head ? 304 : 412;
  } else if (get_or_head) {
    std::string_view ims = req.find("If-Modified-Since");
    if (!ims.empty()) {
      auto t = http::parse_http_date(ims);
      if (t && *t <= now && v.last_modified <= *t) return 304;
    }
  }
  return 0;
}

bool if_range_allows(const http::RequestHead& req, const Validators& v) {
  std::string_view ir = trim_ows(req.find("If-Range"));
  if (ir.empty()) return true;
  if (ir.front() == '"' || (ir.size() > 2 && ir[0] == 'W' && ir[1] == '/')) {
    bool weak;
    opaque(ir, weak);
    return !weak && ir == v.etag;  // strong comparison only
  }
  auto t = http::parse_http_date(ir);
  return t && *t == v.last_modified;
}

}  // namespace pillar::handlers
