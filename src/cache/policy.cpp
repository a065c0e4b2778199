// RFC 9111 shared-cache policy; see policy.h for the decisions. The
// Cache-Control reader is a small cursor over the field value rather than a
// split on ',' because quoted-strings may contain commas
// (no-cache="Set-Cookie, X-Id").
#include "cache/policy.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <vector>

#include "cache/targeted.h"
#include "core/text.h"
#include "http/http_date.h"

namespace pillar::cache {

namespace {

constexpr int64_t kDeltaMax = int64_t{1} << 31;  // RFC 9111 §1.2.2: larger delta-seconds read as 2^31

using core::is_ows;
using core::trim_ows;

// delta-seconds: 1*DIGIT, saturating at 2^31.
std::optional<int64_t> parse_delta(std::string_view s) {
  if (s.empty()) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (!core::is_digit(c)) return std::nullopt;
    v = std::min(kDeltaMax, v * 10 + (c - '0'));
  }
  return v;
}

// Repeated directives, on one field line or several, keep the most
// restrictive value (§4.2.1 allows "first occurrence" or "stale"; the
// smallest lifetime is never less safe than either).
void keep_min(int64_t& field, int64_t v) { field = field < 0 ? v : std::min(field, v); }
void keep_max(int64_t& field, int64_t v) { field = std::max(field, v); }

// One directive as read from the field. `value` is the raw text (inside the
// quotes when quoted, escapes left in place: only digits and emptiness matter
// to us). `clean` is false when junk follows the value or a quote is unclosed.
// A Cache-Control value (token or quoted-string) may be read as a number or
// as a field list; a targeted field's typed value only as its type allows
// (RFC 9213 §2.1: values that violate the inferred type are not consumed).
struct Directive {
  std::string_view name;
  std::string_view value;
  bool has_value = false;
  bool clean = true;
  bool as_number = true;
  bool as_list = true;
};

// Reads the directive starting at `pos` (after separators), advances `pos`
// past its terminating comma.
Directive next_directive(std::string_view v, size_t& pos) {
  Directive d;
  size_t i = pos;
  size_t start = i;
  while (i < v.size() && v[i] != ',' && v[i] != '=' && !is_ows(v[i])) ++i;
  d.name = v.substr(start, i - start);
  // cache-directive = token [ "=" ( token / quoted-string ) ]: no whitespace
  // either side of "=" (§5.2). `max-age = 5` is read, but as malformed.
  size_t before_eq = i;
  while (i < v.size() && is_ows(v[i])) ++i;
  if (i < v.size() && v[i] == '=') {
    d.has_value = true;
    if (i != before_eq) d.clean = false;
    ++i;
    if (i < v.size() && is_ows(v[i])) d.clean = false;
    while (i < v.size() && is_ows(v[i])) ++i;
    if (i < v.size() && v[i] == '"') {
      size_t vstart = ++i;
      bool closed = false;
      for (; i < v.size(); ++i) {
        if (v[i] == '\\' && i + 1 < v.size()) {
          ++i;
        } else if (v[i] == '"') {
          closed = true;
          break;
        }
      }
      d.value = v.substr(vstart, i - vstart);
      if (closed) ++i;
      else d.clean = false;
    } else {
      size_t vstart = i;
      while (i < v.size() && v[i] != ',' && !is_ows(v[i])) ++i;
      d.value = v.substr(vstart, i - vstart);
    }
  }
  while (i < v.size() && is_ows(v[i])) ++i;
  if (i < v.size() && v[i] != ',') {
    d.clean = false;
    while (i < v.size() && v[i] != ',') ++i;
  }
  pos = i < v.size() ? i + 1 : i;
  return d;
}

// A qualified no-cache/private (a non-empty field list) is what a shared
// cache may ignore; anything less well-formed is read as the unqualified,
// stricter form.
bool qualified(const Directive& d) { return d.has_value && d.clean && d.as_list && !trim_ows(d.value).empty(); }

std::optional<int64_t> number(const Directive& d) {
  if (!d.has_value || !d.clean || !d.as_number) return std::nullopt;
  return parse_delta(d.value);
}

// A lifetime directive whose value is not delta-seconds (`max-age=1.5`,
// `max-age=a100`, `max-age`, `max-age = 5`) is invalid freshness
// information: the response is stale (§4.2.1), so it counts as 0, and it
// still hides any Expires (it is present, only unusable).
int64_t lifetime(const Directive& d) { return number(d).value_or(0); }

void apply(CacheControl& cc, const Directive& d) {
  using http::iequals;
  const std::string_view n = d.name;
  // Restrictive flags count whatever follows them: misreading them as absent
  // could store or serve what the origin forbade.
  if (iequals(n, "no-store")) cc.no_store = true;
  else if (iequals(n, "no-cache")) cc.no_cache |= !qualified(d);
  else if (iequals(n, "private")) cc.private_ |= !qualified(d);
  else if (iequals(n, "must-revalidate")) cc.must_revalidate = true;
  else if (iequals(n, "proxy-revalidate")) cc.proxy_revalidate = true;
  else if (iequals(n, "only-if-cached")) cc.only_if_cached = true;
  // public widens what is stored, so only its exact form counts.
  else if (iequals(n, "public")) cc.public_ |= !d.has_value && d.clean;
  // In a request an invalid max-age likewise asks for a copy of age 0.
  else if (iequals(n, "max-age")) keep_min(cc.max_age, lifetime(d));
  else if (iequals(n, "s-maxage")) keep_min(cc.s_maxage, lifetime(d));
  else if (iequals(n, "stale-while-revalidate")) keep_min(cc.stale_while_revalidate, lifetime(d));
  else if (iequals(n, "stale-if-error")) keep_min(cc.stale_if_error, lifetime(d));
  // Request-only permissions and demands: an invalid one grants nothing.
  else if (iequals(n, "min-fresh")) {
    if (auto v = number(d)) keep_max(cc.min_fresh, *v);
  } else if (iequals(n, "max-stale")) {
    if (!d.has_value && d.clean) keep_min(cc.max_stale, std::numeric_limits<int64_t>::max());
    else if (auto v = number(d)) keep_min(cc.max_stale, *v);
  }
}

template <typename Head>
void merge_all(CacheControl& cc, const Head& h, bool& any) {
  for (const auto& f : h.headers) {
    if (!http::iequals(f.name, "cache-control")) continue;
    any = true;
    merge_cache_control(cc, f.value);
  }
}

bool heuristically_cacheable(int status) {
  switch (status) {
    case 200: case 203: case 204: case 300: case 301: case 308:
    case 404: case 405: case 410: case 414: case 501:
      return true;
    default:
      return false;
  }
}

StoreDecision refuse(const char* why) {
  StoreDecision d;
  d.why = why;
  return d;
}

// Age (§5.1): a singleton, but a list-based value uses its first member
// (`Age: 7200, 0` is 7200, as is `Age: 7200` followed by `Age: 0`); a first
// member that is not delta-seconds (`old`, `7200.0`, `-1`, `5;x=y`) makes the
// field ignored: the age then comes from Date and the delays alone.
std::optional<int64_t> age_field(const http::ResponseHead& resp) {
  for (const auto& f : resp.headers) {
    if (!http::iequals(f.name, "age")) continue;
    std::string_view rest = f.value;
    while (true) {
      size_t comma = rest.find(',');
      std::string_view member = trim_ows(rest.substr(0, comma));
      if (!member.empty()) return parse_delta(member);
      if (comma == std::string_view::npos) break;  // an empty line: the next line holds the first member
      rest.remove_prefix(comma + 1);
    }
  }
  return std::nullopt;
}


// Content-negotiation fields whose values are lists of case-insensitive
// items (codings, charsets, language tags, media ranges) preferred by q-value,
// not by order: their members can be reordered and case-folded without
// changing what the request means (§4.1 allows exactly that).
bool unordered_list_field(std::string_view name) {
  for (std::string_view n : {"accept", "accept-charset", "accept-encoding", "accept-language"})
    if (http::iequals(name, n)) return true;
  return false;
}

// Splits on commas outside quoted-strings.
std::vector<std::string_view> list_members(std::string_view v) {
  std::vector<std::string_view> out;
  bool quoted = false;
  size_t start = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    if (quoted && v[i] == '\\') ++i;
    else if (v[i] == '"') quoted = !quoted;
    else if (!quoted && v[i] == ',') {
      out.push_back(trim_ows(v.substr(start, i - start)));
      start = i + 1;
    }
  }
  out.push_back(trim_ows(v.substr(std::min(start, v.size()))));
  return out;
}

// One member of an unordered list field: whitespace outside quotes dropped
// (it is only ever optional there), item and parameter names lower-cased,
// parameter values kept (a media-type parameter may be case-sensitive).
std::string fold_member(std::string_view m) {
  std::string out;
  bool quoted = false, param_value = false;
  for (size_t i = 0; i < m.size(); ++i) {
    char c = m[i];
    if (quoted) {
      out += c;
      if (c == '\\' && i + 1 < m.size()) out += m[++i];
      else if (c == '"') quoted = false;
      continue;
    }
    if (is_ows(c)) continue;
    if (c == '"') quoted = true;
    else if (c == ';') param_value = false;
    else if (c == '=') param_value = true;
    out += param_value ? c : core::ascii_lower(c);
  }
  return out;
}

// Normalised value of every instance of request field `name`, or nullopt
// when the request has none.
std::optional<std::string> vary_value(std::string_view name, const http::RequestHead& req) {
  std::string joined;
  bool found = false;
  for (const auto& f : req.headers) {
    if (!http::iequals(f.name, name)) continue;
    if (found) joined += ',';
    joined.append(f.value);
    found = true;
  }
  if (!found) return std::nullopt;

  std::vector<std::string_view> elems = list_members(joined);
  std::string out;
  if (unordered_list_field(name)) {
    std::vector<std::string> items;
    for (std::string_view e : elems) {
      std::string c = fold_member(e);
      if (!c.empty()) items.push_back(std::move(c));  // empty list members carry nothing (RFC 9110 §5.6.1)
    }
    std::sort(items.begin(), items.end());
    for (size_t i = 0; i < items.size(); ++i) {
      if (i) out += ',';
      out += items[i];
    }
    return out;
  }
  for (size_t i = 0; i < elems.size(); ++i) {
    if (i) out += ',';
    bool space = false;
    for (char ch : elems[i]) {
      if (is_ows(ch)) {
        space = true;
        continue;
      }
      if (space) out += ' ';
      space = false;
      out += ch;
    }
  }
  return out;
}

}  // namespace

void merge_cache_control(CacheControl& cc, std::string_view value) {
  size_t pos = 0;
  while (pos < value.size()) {
    while (pos < value.size() && (is_ows(value[pos]) || value[pos] == ',')) ++pos;
    if (pos >= value.size()) break;
    apply(cc, next_directive(value, pos));
  }
}

CacheControl request_cache_control(const http::RequestHead& h) {
  CacheControl cc;
  bool any = false;
  merge_all(cc, h, any);
  if (!any) {
    for (const auto& f : h.headers)
      if (http::iequals(f.name, "pragma") && http::has_token(f.value, "no-cache")) cc.no_cache = true;
  }
  return cc;
}

CacheControl response_cache_control(const http::ResponseHead& h) {
  CacheControl cc;
  bool any = false;
  merge_all(cc, h, any);
  return cc;
}

CacheControl cache_control_from_dictionary(const http::sf::Dictionary& dict) {
  using http::sf::Type;
  CacheControl cc;
  for (const http::sf::Member& m : dict) {
    Directive d;
    d.name = m.key;
    std::string digits;
    switch (m.type) {
      case Type::Boolean:  // true: the bare directive; false fits no directive
        d.has_value = !m.boolean;
        d.clean = m.boolean;
        break;
      case Type::Integer:
        d.has_value = true;
        d.clean = m.integer >= 0;
        digits = std::to_string(m.integer);
        d.value = digits;
        d.as_list = false;
        break;
      case Type::String:
        d.has_value = true;
        d.value = m.text;
        d.as_number = false;
        break;
      default:  // Token, Decimal, Byte Sequence, Inner List: no cache directive takes these
        d.has_value = true;
        d.clean = false;
        break;
    }
    apply(cc, d);
  }
  return cc;
}

StoreDecision decide_store(const http::RequestHead& req, const http::ResponseHead& resp, int64_t request_time,
                           int64_t response_time, int64_t content_length, const Settings& s,
                           std::span<const std::string> targets) {
  if (req.method != http::Method::Get) return refuse("method");
  if (resp.status < 200) return refuse("not final");
  // 206 would need range-aware storage; 304 updates an entry, it is not one.
  if (resp.status == 206) return refuse("status 206");
  if (resp.status == 304) return refuse("status 304");

  const CacheControl req_cc = request_cache_control(req);
  bool targeted = false;
  const CacheControl cc = effective_cache_control(resp, targets, &targeted);
  if (req_cc.no_store || cc.no_store) return refuse("no-store");
  if (cc.private_) return refuse("private");
  if (req.has("authorization") && !cc.public_ && cc.s_maxage < 0 && !cc.must_revalidate)
    return refuse("Authorization");
  if (!s.store_cookies && resp.has("set-cookie")) return refuse("Set-Cookie");
  if (http::has_token(join_vary(resp), "*")) return refuse("Vary: *");
  if (content_length >= 0 && static_cast<uint64_t>(content_length) > s.max_object_size) return refuse("too large");

  // Without a Date the time of receipt stands in (RFC 9110 §6.6.1).
  const std::optional<time_t> date = http::parse_http_date(resp.find("date"));
  const int64_t date_value = date ? static_cast<int64_t>(*date) : response_time;
  const std::optional<time_t> last_modified = http::parse_http_date(resp.find("last-modified"));
  const bool validator = resp.has("etag") || last_modified.has_value();

  int64_t ttl = -1;  // explicit lifetime, -1 when the response gives none
  if (cc.s_maxage >= 0) ttl = cc.s_maxage;
  else if (cc.max_age >= 0) ttl = cc.max_age;
  else if (!targeted && resp.has("expires")) {  // a targeted field in force hides Expires (RFC 9213 §2.2)
    std::optional<time_t> expires = http::parse_http_date(resp.find("expires"));
    ttl = expires ? std::max<int64_t>(0, *expires - date_value) : 0;  // invalid ("0") = already expired
  }
  const bool explicit_ttl = ttl >= 0;

  StoreDecision d;
  if (cc.no_cache) {
    // Stored only to be revalidated, which needs a validator.
    if (!validator) return refuse("no-cache");
    if (!explicit_ttl && !cc.public_ && !heuristically_cacheable(resp.status)) return refuse("no freshness");
    d.revalidate_always = true;
    ttl = 0;
  } else if (!explicit_ttl) {
    using H = config::CacheHeuristic;
    if (s.heuristic == H::Off || !(cc.public_ || heuristically_cacheable(resp.status))) return refuse("no freshness");
    if (!last_modified && s.heuristic != H::On) return refuse("no freshness");  // nothing to estimate from
    if (last_modified && *last_modified <= date_value) {
      double h = static_cast<double>(date_value - *last_modified) * s.lm_factor;
      ttl = std::isfinite(h) && h > 0 ? static_cast<int64_t>(std::min(h, static_cast<double>(kDeltaMax))) : 0;
    } else if (last_modified) {
      ttl = 0;  // modified "in the future": no basis for any lifetime
    } else {
      ttl = s.default_ttl;
    }
    ttl = std::max(ttl, s.min_ttl);
  }
  ttl = std::max<int64_t>(0, std::min(ttl, s.max_ttl));
  if (ttl == 0 && !validator) return refuse("no freshness");

  d.store = true;
  d.ttl = ttl;
  d.initial_age = corrected_initial_age(resp, request_time, response_time);
  const bool no_stale = cc.must_revalidate || cc.proxy_revalidate;
  // Explicit origin windows are their own permission; our defaults are not
  // allowed to override no-cache or s-maxage (proxy-revalidate semantics).
  const bool defaults_barred = cc.no_cache || cc.s_maxage >= 0;
  if (!no_stale && !cc.no_cache)
    d.grace = cc.stale_while_revalidate >= 0 ? cc.stale_while_revalidate : defaults_barred ? 0 : s.grace;
  if (!no_stale)
    d.stale_if_error = cc.stale_if_error >= 0 ? cc.stale_if_error : defaults_barred ? 0 : s.stale_if_error;
  return d;
}

bool forward_interim(int status, uint8_t client_major_version, uint8_t client_minor_version, bool continue_answered) {
  if (status < 100 || status > 199 || status == 101) return false;
  if (status == 100 && continue_answered) return false;
  return client_major_version > 1 || (client_major_version == 1 && client_minor_version >= 1);
}

bool never_stored(std::string_view name) {
  for (std::string_view n : {// hop-by-hop (RFC 9110 §7.6.1)
                             "Connection", "Keep-Alive", "Proxy-Connection", "TE", "Transfer-Encoding", "Upgrade",
                             // specific to the proxy hop (§3.1)
                             "Proxy-Authenticate", "Proxy-Authentication-Info", "Proxy-Authorization",
                             // framing and age, made again for every answer from the store
                             "Trailer", "Content-Length", "Age", "X-Cache",
                             // Pillar's choice: a cookie is for the client that fetched (CacheStoreCookies)
                             "Set-Cookie"})
    if (http::iequals(name, n)) return true;
  return false;
}

namespace {

// Is `name` in the comma-separated list `names` (field names, maybe quoted)?
bool in_name_list(std::string_view names, std::string_view name) {
  for (std::string_view m : list_members(names)) {
    if (m.size() >= 2 && m.front() == '"' && m.back() == '"') m = trim_ows(m.substr(1, m.size() - 2));
    if (http::iequals(m, name)) return true;
  }
  return false;
}

// Fields the response itself says not to keep: named by Connection (hop-by-hop,
// RFC 9110 §7.6.1), by private="..." (a shared cache MUST NOT store them,
// §5.2.2.7) or by no-cache="..." (not to be reused without revalidation,
// §5.2.2.4: dropping them satisfies that), in Cache-Control or in the
// targeted field in force (`targeted`).
bool named_unstored(const http::ResponseHead& resp, const std::optional<http::sf::Dictionary>& targeted,
                    std::string_view name) {
  if (targeted) {
    for (const http::sf::Member& m : *targeted)
      if ((m.key == "private" || m.key == "no-cache") && m.type == http::sf::Type::String &&
          in_name_list(m.text, name))
        return true;
  }
  for (const auto& f : resp.headers) {
    if (http::iequals(f.name, "connection")) {
      if (in_name_list(f.value, name)) return true;
    } else if (http::iequals(f.name, "cache-control")) {
      for (size_t pos = 0; pos < f.value.size();) {
        while (pos < f.value.size() && (is_ows(f.value[pos]) || f.value[pos] == ',')) ++pos;
        if (pos >= f.value.size()) break;
        Directive d = next_directive(f.value, pos);
        if ((http::iequals(d.name, "private") || http::iequals(d.name, "no-cache")) && qualified(d) &&
            in_name_list(d.value, name))
          return true;
      }
    }
  }
  return false;
}

}  // namespace

std::string stored_head(std::string_view lines, const http::ResponseHead& resp,
                        std::span<const std::string> targets) {
  const std::optional<http::sf::Dictionary> targeted = selected_targeted_field(resp, targets);
  std::string out;
  out.reserve(lines.size());
  while (!lines.empty()) {
    size_t end = lines.find("\r\n");
    std::string_view line = lines.substr(0, end == std::string_view::npos ? lines.size() : end + 2);
    size_t colon = line.find(':');
    std::string_view name = colon == std::string_view::npos ? std::string_view{} : line.substr(0, colon);
    if (colon == std::string_view::npos || (!never_stored(name) && !named_unstored(resp, targeted, name))) out.append(line);
    lines.remove_prefix(line.size());
  }
  return out;
}

std::string join_vary(const http::ResponseHead& resp) {
  std::string out;
  for (const auto& f : resp.headers) {
    if (!http::iequals(f.name, "vary") || f.value.empty()) continue;
    if (!out.empty()) out += ',';
    out.append(f.value);
  }
  return out;
}

std::string vary_key(std::string_view vary_field_values, const http::RequestHead& req) {
  std::string key;
  std::string_view rest = vary_field_values;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view name = trim_ows(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    if (name.empty()) continue;
    for (char c : name) key += core::ascii_lower(c);
    if (std::optional<std::string> v = vary_value(name, req)) {
      key += ':';
      key += *v;
    }
    key += '\n';
  }
  return key;
}

bool vary_matches(std::string_view vary_names, std::string_view stored_key, const http::RequestHead& req) {
  return vary_key(vary_names, req) == stored_key;
}

std::string primary_key(std::string_view host, std::string_view target) {
  std::string key;
  key.reserve(host.size() + 1 + target.size());
  for (char c : host) key += core::ascii_lower(c);
  key += '\n';
  key.append(target);
  return key;
}

int64_t corrected_initial_age(const http::ResponseHead& resp, int64_t request_time, int64_t response_time) {
  const std::optional<time_t> date = http::parse_http_date(resp.find("date"));
  const int64_t apparent_age = date ? std::max<int64_t>(0, response_time - *date) : 0;
  const int64_t age_value = age_field(resp).value_or(0);
  const int64_t response_delay = std::max<int64_t>(0, response_time - request_time);
  return std::max(apparent_age, age_value + response_delay);
}

int64_t current_age(int64_t corrected_initial_age, int64_t response_time_ms, int64_t now_ms) {
  const int64_t resident_time = std::max<int64_t>(0, now_ms - response_time_ms) / 1000;
  return std::min(kDeltaMax, std::max<int64_t>(0, corrected_initial_age) + resident_time);
}

Freshness freshness(int64_t now, int64_t stored_at, int64_t initial_age, int64_t ttl, int64_t grace,
                    int64_t stale_if_error) {
  Freshness f{};
  // A clock stepping backwards must not make an entry younger than it was stored.
  f.age = initial_age + std::max<int64_t>(0, now - stored_at);
  f.fresh = f.age < ttl;
  const int64_t staleness = f.age - ttl;
  f.within_grace = !f.fresh && staleness < grace;
  f.within_stale_if_error = !f.fresh && staleness < stale_if_error;
  return f;
}

bool request_needs_revalidation(const CacheControl& req_cc, int64_t age, int64_t ttl, const Settings& s) {
  if (s.ignore_no_cache) return false;
  if (req_cc.no_cache) return true;
  // max-age=0 is the browser's "reload": with whole seconds, age 0 can still
  // be older than the client wants.
  if (req_cc.max_age == 0 || (req_cc.max_age > 0 && age > req_cc.max_age)) return true;
  if (req_cc.min_fresh >= 0 && ttl - age < req_cc.min_fresh) return true;
  return false;
}

}  // namespace pillar::cache
