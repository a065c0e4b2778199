#include "server/http2/response_head.h"

#include <algorithm>
#include <charconv>

#include "core/text.h"
#include "http/request.h"

namespace pillar::server::http2 {

namespace {

constexpr size_t kCommonFields = 16;

bool dropped(std::string_view name) {
  using http::iequals;
  return iequals(name, "Connection") || iequals(name, "Keep-Alive") || iequals(name, "Proxy-Connection") ||
         iequals(name, "Transfer-Encoding") || iequals(name, "Upgrade");
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Calls fn(name, value) for each "Name: value\r\n" line of `lines`.
template <typename Fn>
void each_line(std::string_view lines, Fn fn) {
  while (!lines.empty()) {
    size_t nl = lines.find('\n');
    std::string_view line = lines.substr(0, nl);
    lines = nl == std::string_view::npos ? std::string_view() : lines.substr(nl + 1);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;  // not a field (a blank line ends nothing here)
    fn(line.substr(0, colon), trim(line.substr(colon + 1)));
  }
}

}  // namespace

void ResponseFields::add(std::string_view name, std::string_view value) {
  const size_t at = storage_.size();
  storage_.append(name);
  for (size_t i = at; i < storage_.size(); ++i) {
    char& c = storage_[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  storage_.append(value);
  spans_.push_back({static_cast<uint32_t>(at), static_cast<uint32_t>(name.size()), static_cast<uint32_t>(value.size())});
}

// The nv entries point into storage_, so they are made once it is whole.
void ResponseFields::finish() {
  nv_.clear();
  nv_.reserve(spans_.size());
  auto* base = reinterpret_cast<uint8_t*>(storage_.data());
  for (const Span& f : spans_)
    nv_.push_back({base + f.at, base + f.at + f.name_len, f.name_len, f.value_len, NGHTTP2_NV_FLAG_NONE});
}

void ResponseFields::build(int status, std::string_view lines, http::BodyLength body, uint64_t length) {
  status_ = status;
  storage_.clear();
  spans_.clear();
  // What is kept is never more than the lines, ":status", its digits and a
  // content-length with its digits: one allocation for the storage; the
  // spans room for a common answer's fields (counting the lines would cost
  // more than the rare growth).
  storage_.reserve(lines.size() + 64);
  spans_.reserve(kCommonFields);
  char num[24];
  auto r = std::to_chars(num, num + sizeof num, status);
  add(":status", std::string_view(num, static_cast<size_t>(r.ptr - num)));
  // One walk over the lines; Connection's own tokens name more hop-by-hop
  // fields (RFC 9110 §7.6.1), before or after it: those are taken out
  // afterwards (rare), the last Connection field's list counting.
  std::string_view connection_tokens;
  const bool known = body == http::BodyLength::Known;
  each_line(lines, [&](std::string_view n, std::string_view v) {
    if (http::iequals(n, "Connection")) connection_tokens = v;
    if (dropped(n)) return;
    if (known && http::iequals(n, "Content-Length")) return;  // the framing says it below
    add(n, v);
  });
  if (!connection_tokens.empty()) {
    std::erase_if(spans_, [&](const Span& f) {
      return f.at != 0 && http::has_token(connection_tokens, std::string_view(storage_).substr(f.at, f.name_len));
    });
  }
  if (known) {
    auto e = std::to_chars(num, num + sizeof num, length);
    add("content-length", std::string_view(num, static_cast<size_t>(e.ptr - num)));
  }
  finish();
}

bool ResponseFields::build_interim(std::string_view raw) {
  // "HTTP/1.x NNN reason\r\n" then fields, then an empty line.
  if (raw.size() < 12 || raw.substr(0, 7) != "HTTP/1." || raw[8] != ' ') return false;
  int status = 0;
  auto r = std::from_chars(raw.data() + 9, raw.data() + 12, status);
  if (r.ec != std::errc() || r.ptr != raw.data() + 12 || status < 100 || status > 199 || status == 101) return false;
  size_t first = raw.find('\n');
  size_t end = raw.find("\r\n\r\n");
  std::string_view lines = first == std::string_view::npos || end == std::string_view::npos || end < first
                               ? std::string_view()
                               : raw.substr(first + 1, end + 2 - (first + 1));
  build(status, lines, http::BodyLength::None, 0);
  return true;
}

std::string_view ResponseFields::find(std::string_view name) const {
  for (const auto& f : nv_) {
    std::string_view n(reinterpret_cast<const char*>(f.name), f.namelen);
    if (n == name) return {reinterpret_cast<const char*>(f.value), f.valuelen};
  }
  return {};
}

}  // namespace pillar::server::http2
