// libFuzzer target for the cache policy: the input is split into a request
// head and a response head (at the first NUL); when both parse, every policy
// function runs on them and must keep its invariants (a stored response has
// a non-negative lifetime within CacheMaxExpire, a request always selects
// the variant keyed from itself).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cache/policy.h"
#include "cache/targeted.h"
#include "http/request_parser.h"
#include "http/response_parser.h"

#define FUZZ_CHECK(cond) \
  do {                   \
    if (!(cond)) std::abort(); \
  } while (0)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nul = in.find('\0');
  if (nul == std::string_view::npos) return 0;
  std::string_view req_bytes = in.substr(0, nul), resp_bytes = in.substr(nul + 1);
  namespace cache = pillar::cache;
  namespace http = pillar::http;

  cache::CacheControl cc;
  cache::merge_cache_control(cc, resp_bytes);  // any bytes as a field value
  if (auto dict = pillar::http::sf::parse_dictionary(resp_bytes)) {  // and as a targeted field (RFC 9213)
    for (const auto& m : *dict) FUZZ_CHECK(!m.key.empty());
    (void)cache::cache_control_from_dictionary(*dict);
  }

  http::RequestHead req;
  http::ParseLimits limits{8190, 100, 8190};
  if (http::parse_request_head(req_bytes, limits, req).kind != http::ParseOutcome::Complete) return 0;
  http::ResponseHead resp;
  http::ResponseLimits rlimits;
  if (http::parse_response_head(resp_bytes, rlimits, false, resp).kind != http::ParseOutcome::Complete) return 0;

  cache::Settings s;
  s.heuristic = static_cast<pillar::config::CacheHeuristic>(size % 3);
  s.store_cookies = (size & 2) != 0;
  auto d = cache::decide_store(req, resp, 1000000, 1000001, resp.framing == http::ResponseHead::Framing::ContentLength
                                                               ? static_cast<int64_t>(resp.content_length)
                                                               : -1,
                               s);
  if (d.store) {
    FUZZ_CHECK(d.ttl >= 0 && d.ttl <= s.max_ttl);
    FUZZ_CHECK(d.initial_age >= 0 && d.grace >= 0 && d.stale_if_error >= 0);
  }
  std::string names = cache::join_vary(resp);
  std::string key = cache::vary_key(names, req);
  if (names.find('*') == std::string::npos) FUZZ_CHECK(cache::vary_matches(names, key, req));
  auto rcc = cache::request_cache_control(req);
  auto f = cache::freshness(1000100, 1000001, d.initial_age, d.ttl, d.grace, d.stale_if_error);
  (void)cache::request_needs_revalidation(rcc, f.age, d.ttl, s);
  (void)cache::primary_key("example.com", req.target);
  (void)cache::stored_head(resp_bytes, resp);
  (void)cache::strip_targeted(resp_bytes, cache::default_cache_targets());
  return 0;
}
