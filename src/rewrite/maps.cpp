// RewriteMap sources. A txt:/rnd: file is read once at load (Apache
// re-reads it when its mtime changes; a reload does it here). Lines are
// "key value", '#' starts a comment, the first value wins for a repeated
// key... as Apache, which stops at the first matching line.
#include "rewrite/maps.h"

#include <fstream>
#include <random>

#include "core/text.h"

namespace pillar::rewrite {
namespace {

std::string escape(std::string_view s) {  // ap_escape_uri: as a path, '/' kept
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        std::string_view("-_.~/!$&'()*+,;=:@").find(static_cast<char>(c)) != std::string_view::npos) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && core::hex_digit(s[i + 1]) >= 0 && core::hex_digit(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(core::hex_digit(s[i + 1]) * 16 + core::hex_digit(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

bool Maps::start_programs(std::chrono::milliseconds timeout, std::string_view user, std::string_view group,
                          std::string& error) {
  for (auto& [n, m] : maps_) {
    if (m.program && !m.program->start(timeout, user, group, error)) return false;
  }
  return true;
}

void Maps::program_fds(std::vector<int>& out) const {
  for (const auto& [n, m] : maps_) {
    if (m.program) m.program->worker_fds(out);
  }
}

std::string Maps::define(std::string_view name, std::string_view spec, std::string_view options) {
  size_t colon = spec.find(':');
  if (colon == std::string_view::npos)
    return "RewriteMap " + std::string(name) + ": '" + std::string(spec) + "' is not TYPE:SOURCE (txt:/path, rnd:/path, int:tolower)";
  std::string type = core::lowercase(spec.substr(0, colon));
  std::string_view source = spec.substr(colon + 1);
  Map m;
  if (type == "int") {
    std::string fn = core::lowercase(source);
    if (fn == "tolower") m.kind = Kind::IntToLower;
    else if (fn == "toupper") m.kind = Kind::IntToUpper;
    else if (fn == "escape") m.kind = Kind::IntEscape;
    else if (fn == "unescape") m.kind = Kind::IntUnescape;
    else return "RewriteMap int:" + std::string(source) + " is unknown; use int:tolower, int:toupper, int:escape or int:unescape";
  } else if (type == "txt" || type == "rnd") {
    m.kind = type == "txt" ? Kind::Txt : Kind::Rnd;
    std::ifstream f{std::string(source)};
    if (!f) return "RewriteMap " + std::string(name) + ": cannot read " + std::string(source) + "; check the path";
    std::string line;
    while (std::getline(f, line)) {
      std::string_view l = line;
      size_t hash = l.find('#');
      if (hash != std::string_view::npos) l = l.substr(0, hash);
      auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
      size_t i = 0;
      while (i < l.size() && ws(l[i])) ++i;
      size_t k = i;
      while (i < l.size() && !ws(l[i])) ++i;
      std::string_view key = l.substr(k, i - k);
      while (i < l.size() && ws(l[i])) ++i;
      size_t v = i;
      while (i < l.size() && !ws(l[i])) ++i;
      std::string_view value = l.substr(v, i - v);
      if (key.empty() || value.empty()) continue;
      m.entries.emplace(std::string(key), std::string(value));  // first line wins
    }
  } else if (type == "prg") {
    std::string why;
    m.kind = Kind::Prg;
    m.program = ProgramMap::create(name, source, options, why);
    if (!m.program) return why;
  } else {
    return "RewriteMap " + std::string(name) + ": type " + type + ": is not supported; use txt:, rnd:, int: or prg:";
  }
  maps_[std::string(name)] = std::move(m);
  return {};
}

bool Maps::lookup(std::string_view name, std::string_view key, std::string& value) const {
  auto it = maps_.find(name);
  if (it == maps_.end()) return false;
  const Map& m = it->second;
  switch (m.kind) {
    case Kind::IntToLower: value = core::lowercase(key); return true;
    case Kind::IntToUpper: value = std::string(key); core::uppercase_in_place(value); return true;
    case Kind::IntEscape: value = escape(key); return true;
    case Kind::IntUnescape: value = unescape(key); return true;
    case Kind::Prg: return m.program->lookup(key, value);
    case Kind::Txt:
    case Kind::Rnd: break;
  }
  auto e = m.entries.find(key);
  if (e == m.entries.end()) return false;
  if (m.kind == Kind::Txt) {
    value = e->second;
    return true;
  }
  // rnd: one of the '|'-separated alternatives.
  std::vector<std::string_view> alts;
  std::string_view v = e->second;
  for (size_t p = 0;;) {
    size_t bar = v.find('|', p);
    alts.push_back(v.substr(p, bar == std::string_view::npos ? std::string_view::npos : bar - p));
    if (bar == std::string_view::npos) break;
    p = bar + 1;
  }
  thread_local std::minstd_rand rng{std::random_device{}()};
  value = std::string(alts[rng() % alts.size()]);
  return true;
}

}  // namespace pillar::rewrite
