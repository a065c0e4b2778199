// RFC 3986 §5.2 reference resolution, enough for Location and
// Content-Location: the reference is split into its five parts, resolved
// against the target URI, and the result's origin compared with the
// target's. A reference that is not a URI-reference (blanks, controls) is
// skipped.
#include "cache/invalidate.h"

#include "core/text.h"

#include <algorithm>
#include <optional>

#include "cache/policy.h"

namespace pillar::cache {

namespace {

constexpr char lower(char c) { return core::ascii_lower(c); }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
using core::is_digit;

struct Uri {
  std::string scheme;  // lower-case
  bool has_authority = false;
  std::string authority;
  std::string path;
  bool has_query = false;
  std::string query;
};

std::optional<Uri> split_reference(std::string_view r) {
  for (char c : r)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return std::nullopt;
  if (size_t hash = r.find('#'); hash != std::string_view::npos) r = r.substr(0, hash);
  Uri u;
  size_t colon = r.find(':');
  size_t delim = r.find_first_of("/?");
  if (colon != std::string_view::npos && colon > 0 && (delim == std::string_view::npos || colon < delim) &&
      is_alpha(r[0]) &&
      std::all_of(r.begin(), r.begin() + colon,
                  [](char c) { return is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.'; })) {
    for (char c : r.substr(0, colon)) u.scheme += lower(c);
    r.remove_prefix(colon + 1);
  }
  if (r.substr(0, 2) == "//") {
    r.remove_prefix(2);
    size_t end = r.find_first_of("/?");
    u.has_authority = true;
    u.authority = std::string(r.substr(0, end));
    r = end == std::string_view::npos ? std::string_view{} : r.substr(end);
  }
  size_t q = r.find('?');
  u.path = std::string(r.substr(0, q));
  if (q != std::string_view::npos) {
    u.has_query = true;
    u.query = std::string(r.substr(q + 1));
  }
  return u;
}

// RFC 3986 §5.2.4
std::string remove_dot_segments(std::string_view in) {
  std::string out;
  while (!in.empty()) {
    if (in.substr(0, 3) == "../") in.remove_prefix(3);
    else if (in.substr(0, 2) == "./") in.remove_prefix(2);
    else if (in.substr(0, 3) == "/./") in.remove_prefix(2);
    else if (in == "/.") in = "/";
    else if (in.substr(0, 4) == "/../" || in == "/..") {
      in = in.size() == 3 ? std::string_view("/") : in.substr(3);
      size_t last = out.rfind('/');
      out.erase(last == std::string::npos ? 0 : last);
    } else if (in == "." || in == "..") {
      in = {};
    } else {
      size_t next = in.find('/', in.front() == '/' ? 1 : 0);
      out.append(in.substr(0, next));
      in = next == std::string_view::npos ? std::string_view{} : in.substr(next);
    }
  }
  return out;
}

// RFC 3986 §5.2.2 (strict: a reference's own scheme is never dropped).
Uri resolve(const Uri& base, const Uri& r) {
  Uri t;
  if (!r.scheme.empty()) {
    t = r;
    t.path = remove_dot_segments(r.path);
    return t;
  }
  t.scheme = base.scheme;
  if (r.has_authority) {
    t.has_authority = true;
    t.authority = r.authority;
    t.path = remove_dot_segments(r.path);
    t.has_query = r.has_query;
    t.query = r.query;
    return t;
  }
  t.has_authority = base.has_authority;
  t.authority = base.authority;
  if (r.path.empty()) {
    t.path = base.path;
    t.has_query = r.has_query || base.has_query;
    t.query = r.has_query ? r.query : base.query;
    return t;
  }
  if (r.path.front() == '/') {
    t.path = remove_dot_segments(r.path);
  } else {  // §5.2.3 merge
    std::string merged;
    if (base.has_authority && base.path.empty()) merged = "/" + r.path;
    else {
      size_t slash = base.path.rfind('/');
      merged = (slash == std::string::npos ? std::string() : base.path.substr(0, slash + 1)) + r.path;
    }
    t.path = remove_dot_segments(merged);
  }
  t.has_query = r.has_query;
  t.query = r.query;
  return t;
}

struct Origin {
  std::string scheme, host;
  int port = -1;
  bool operator==(const Origin&) const = default;
};

int default_port(std::string_view scheme) { return scheme == "https" ? 443 : scheme == "http" ? 80 : -1; }

// The host as the cache key has it (see connection.cpp's host_from_authority)
// and the port, the scheme's default when absent or empty.
std::optional<Origin> origin_of(std::string_view scheme, std::string_view authority) {
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  Origin o;
  o.scheme = std::string(scheme);
  std::string_view host = authority, port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(0, close + 1);
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.empty()) return std::nullopt;
  for (char c : host) o.host += lower(c);
  if (port.empty()) {
    o.port = default_port(o.scheme);
  } else {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), is_digit)) return std::nullopt;
    o.port = std::stoi(std::string(port));
  }
  return o;
}

std::string target_of(std::string_view path, std::string_view query) {
  std::string t(path.empty() ? std::string_view("/") : path);
  if (!query.empty()) t.append("?").append(query);
  return t;
}

}  // namespace

bool unsafe_method(http::Method m) {
  switch (m) {
    case http::Method::Get: case http::Method::Head: case http::Method::Options: case http::Method::Trace:
      return false;
    default:
      return true;
  }
}

std::vector<std::string> invalidation_keys(const http::RequestHead& req, std::string_view scheme,
                                           const http::ResponseHead& resp) {
  std::vector<std::string> keys;
  if (!unsafe_method(req.method) || req.method == http::Method::Connect) return keys;
  if (resp.status < 200 || resp.status >= 400) return keys;
  Uri base;
  for (char c : scheme) base.scheme += lower(c);
  base.has_authority = true;
  base.authority = std::string(req.authority);
  base.path = std::string(req.path);
  base.has_query = !req.query.empty();
  base.query = std::string(req.query);
  const std::optional<Origin> origin = origin_of(base.scheme, base.authority);
  if (!origin) return keys;
  keys.push_back(primary_key(origin->host, target_of(req.path, req.query)));

  for (std::string_view field : {"location", "content-location"}) {
    for (const auto& f : resp.headers) {
      if (!http::iequals(f.name, field)) continue;
      std::optional<Uri> ref = split_reference(f.value);
      if (!ref) continue;
      Uri t = resolve(base, *ref);
      if (!t.has_authority) continue;
      std::optional<Origin> o = origin_of(t.scheme, t.authority);
      if (!o || !(*o == *origin)) continue;  // another origin: never (§4.4)
      std::string key = primary_key(o->host, target_of(t.path, t.query));
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(std::move(key));
    }
  }
  return keys;
}

}  // namespace pillar::cache
