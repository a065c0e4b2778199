#include "http/accept_encoding.h"

namespace pillar::http {

int parse_qvalue(std::string_view q) {
  if (q.empty() || q.size() > 5) return -1;
  if (q[0] != '0' && q[0] != '1') return -1;
  int whole = q[0] - '0';
  if (q.size() == 1) return whole * 1000;
  if (q[1] != '.') return -1;
  int frac = 0, digits = 0;
  for (char c : q.substr(2)) {
    if (!core::is_digit(c)) return -1;
    frac = frac * 10 + (c - '0');
    ++digits;
  }
  for (; digits < 3; ++digits) frac *= 10;
  if (whole == 1 && frac != 0) return -1;  // "1.5" is not a qvalue
  return whole * 1000 + frac;
}

namespace {

// The codings gzip answers to (x-gzip is its old name).
bool names(std::string_view element, std::string_view coding) {
  if (iequals(element, coding)) return true;
  return iequals(coding, "gzip") && iequals(element, "x-gzip");
}

// Weights seen so far: the coding's own (-2: not listed) and "*"'s.
struct Weights {
  int own = -2, star = -2;
};

void scan(std::string_view list, std::string_view coding, Weights& w) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view element = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    size_t semi = element.find(';');
    std::string_view name = core::trim_ows(element.substr(0, semi));
    if (name.empty()) continue;  // "gzip,,br": empty elements are allowed (RFC 9110 §5.6.1)
    int q = 1000;
    while (semi != std::string_view::npos) {
      element.remove_prefix(semi + 1);
      semi = element.find(';');
      std::string_view param = core::trim_ows(element.substr(0, semi));
      size_t eq = param.find('=');
      if (eq == std::string_view::npos) continue;
      std::string_view key = core::trim_ows(param.substr(0, eq));
      if (iequals(key, "q")) q = parse_qvalue(core::trim_ows(param.substr(eq + 1)));
    }
    if (q < 0) q = 0;  // a malformed weight: not acceptable
    if (names(name, coding)) {
      if (q > w.own) w.own = q;  // listed twice (gzip and x-gzip): the better one
    } else if (name == "*") {
      if (q > w.star) w.star = q;
    }
  }
}

bool verdict(const Weights& w) {
  if (w.own != -2) return w.own > 0;
  return w.star > 0;
}

}  // namespace

bool accepts_coding(std::string_view accept_encoding, std::string_view coding) {
  Weights w;
  scan(accept_encoding, coding, w);
  return verdict(w);
}

bool accepts_coding(const RequestHead& head, std::string_view coding) {
  Weights w;
  for (const auto& h : head.headers) {
    if (iequals(h.name, "Accept-Encoding")) scan(h.value, coding, w);
  }
  return verdict(w);
}

}  // namespace pillar::http
