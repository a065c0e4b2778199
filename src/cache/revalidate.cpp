// 304 freshening; see revalidate.h for the decisions. The field filtering is
// stored_head()'s (policy.cpp), applied to the 304's fields before the merge
// and to the merged head after it, so what a 304 may add and what a stored
// head may keep can never drift apart.
#include "cache/revalidate.h"

#include <optional>

#include "http/http_date.h"
#include "core/text.h"
#include "http/response.h"

namespace pillar::cache {

namespace {

using core::trim_ows;

// entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E / obs-text
// (RFC 9110 §8.8.3; "W/" is case-sensitive, a backslash is an ordinary etagc).
struct EntityTag {
  bool valid = false;
  bool weak = false;
  std::string_view opaque;  // with its quotes
};

EntityTag parse_etag(std::string_view v) {
  EntityTag t;
  v = trim_ows(v);
  if (v.substr(0, 2) == "W/") {
    t.weak = true;
    v.remove_prefix(2);
  }
  if (v.size() < 2 || v.front() != '"' || v.back() != '"') return t;
  for (char c : v.substr(1, v.size() - 2)) {
    auto u = static_cast<unsigned char>(c);
    if (!(u == 0x21 || (u >= 0x23 && u <= 0x7e) || u >= 0x80)) return t;
  }
  t.valid = true;
  t.opaque = v;
  return t;
}

// A message's validators as §4.3.4 compares them.
struct Validators {
  EntityTag etag;
  std::optional<time_t> last_modified;
  bool lm_strong = false;  // Date at least a second after Last-Modified (RFC 9110 §8.8.2.2)

  bool any() const { return etag.valid || last_modified.has_value(); }
  bool strong() const { return (etag.valid && !etag.weak) || (!etag.valid && lm_strong); }
};

Validators validators(std::string_view etag, std::string_view last_modified, std::string_view date) {
  Validators v;
  v.etag = parse_etag(etag);
  v.last_modified = http::parse_http_date(trim_ows(last_modified));
  if (v.last_modified) {
    std::optional<time_t> d = http::parse_http_date(trim_ows(date));
    v.lm_strong = d && *d >= *v.last_modified + 1;
  }
  return v;
}

// Does the candidate say it is another representation than the 304's?
bool contradicts(const Validators& resp, const Validators& c) {
  if (resp.etag.valid && c.etag.valid && resp.etag.opaque != c.etag.opaque) return true;
  if (resp.last_modified && c.last_modified && *resp.last_modified != *c.last_modified) return true;
  return false;
}

// Strong comparison (RFC 9110 §8.8.3.2): both strong, same opaque-tag; a
// strong Last-Modified compares by equality. With a strong ETag in the 304,
// only the ETag decides.
bool strong_match(const Validators& resp, const Validators& c) {
  if (resp.etag.valid && !resp.etag.weak) return c.etag.valid && !c.etag.weak && c.etag.opaque == resp.etag.opaque;
  return resp.lm_strong && c.last_modified && *c.last_modified == *resp.last_modified;
}

// Weak comparison: same opaque-tag whatever W/, or the same Last-Modified.
bool weak_match(const Validators& resp, const Validators& c) {
  if (resp.etag.valid) return c.etag.valid && c.etag.opaque == resp.etag.opaque;
  return resp.last_modified && c.last_modified && *c.last_modified == *resp.last_modified;
}

std::string lines_of(const http::ResponseHead& h) {
  std::string out;
  for (const auto& f : h.headers) out.append(f.name).append(": ").append(f.value).append("\r\n");
  return out;
}

}  // namespace

void head_fields(std::string_view lines, std::vector<http::HeaderField>& out) {
  out.clear();
  while (!lines.empty()) {
    size_t end = lines.find("\r\n");
    std::string_view line = lines.substr(0, end);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos) out.push_back({line.substr(0, colon), trim_ows(line.substr(colon + 1))});
    if (end == std::string_view::npos) break;
    lines.remove_prefix(end + 2);
  }
}

std::string freshen_head(std::string_view stored_lines, const http::ResponseHead& not_modified,
                         std::span<const std::string> targets) {
  // What the 304 may bring: what a stored head may keep of it (§3.2 first
  // exception), without Content-Range.
  const std::string update_lines = stored_head(lines_of(not_modified), not_modified, targets);
  std::vector<http::HeaderField> update, stored;
  head_fields(update_lines, update);
  head_fields(stored_lines, stored);
  auto in_update = [&](std::string_view name) {
    if (http::iequals(name, "content-range")) return false;
    for (const auto& f : update)
      if (http::iequals(f.name, name)) return true;
    return false;
  };

  std::string merged;
  merged.reserve(stored_lines.size() + update_lines.size());
  std::vector<std::string_view> placed;  // names whose update lines are already in `merged`
  auto place = [&](std::string_view name) {
    for (std::string_view p : placed)
      if (http::iequals(p, name)) return;
    placed.push_back(name);
    for (const auto& f : update)
      if (http::iequals(f.name, name)) merged.append(f.name).append(": ").append(f.value).append("\r\n");
  };
  for (const auto& f : stored) {
    if (in_update(f.name)) place(f.name);  // every stored line of the name goes; the 304's lines take the first's place
    else merged.append(f.name).append(": ").append(f.value).append("\r\n");
  }
  for (const auto& f : update)
    if (in_update(f.name)) place(f.name);

  // The new head's own no-cache="…"/private="…" apply to what it keeps.
  http::ResponseHead merged_head;
  head_fields(merged, merged_head.headers);
  return stored_head(merged, merged_head, targets);
}

StoredCandidate StoredCandidate::from_head(std::string_view lines, int64_t stored_at) {
  StoredCandidate c;
  c.etag = http::find_header_line(lines, "ETag");
  c.last_modified = http::find_header_line(lines, "Last-Modified");
  c.date = http::find_header_line(lines, "Date");
  c.stored_at = stored_at;
  return c;
}

FreshenSelection select_for_freshening(const http::ResponseHead& not_modified,
                                       std::span<const StoredCandidate> initial_set,
                                       bool from_candidate_validators) {
  const Validators resp = validators(not_modified.find("etag"), not_modified.find("last-modified"),
                                     not_modified.find("date"));
  std::vector<Validators> cands;
  cands.reserve(initial_set.size());
  for (const auto& c : initial_set) cands.push_back(validators(c.etag, c.last_modified, c.date));

  FreshenSelection sel;
  if (resp.strong()) {
    for (size_t i = 0; i < cands.size(); ++i)
      if (!contradicts(resp, cands[i]) && strong_match(resp, cands[i])) sel.update.push_back(i);
    if (!sel.update.empty()) sel.match = FreshenMatch::Strong;  // else: MUST NOT update any
    return sel;
  }
  if (resp.any()) {
    std::optional<size_t> best;
    for (size_t i = 0; i < cands.size(); ++i) {
      if (contradicts(resp, cands[i]) || !weak_match(resp, cands[i])) continue;
      if (!best || initial_set[i].stored_at > initial_set[*best].stored_at) best = i;
    }
    if (best) {
      sel.match = FreshenMatch::Weak;
      sel.update.push_back(*best);
    }
    return sel;
  }
  if (initial_set.size() == 1 && (!cands[0].any() || from_candidate_validators)) {
    sel.match = FreshenMatch::NoValidator;
    sel.update.push_back(0);
  }
  return sel;
}

bool freshens(const http::ResponseHead& not_modified, std::string_view stored_lines) {
  const StoredCandidate c = StoredCandidate::from_head(stored_lines, 0);
  return select_for_freshening(not_modified, std::span<const StoredCandidate>(&c, 1), true).match !=
         FreshenMatch::None;
}

}  // namespace pillar::cache
