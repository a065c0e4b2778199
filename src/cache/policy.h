// RFC 9111 policy for Pillar's shared cache: pure functions, no I/O, no clock
// (every time is a Unix-seconds argument), so the cache state machine can ask
// "may I store this?", "is this entry still fresh?" and "which variant is
// this?" and the answers are testable in isolation.
//
// Shared-cache decisions (where RFC 9111 leaves a choice or Pillar adds one):
//  * Only GET responses are stored; HEAD is answered from a stored GET.
//  * Responses to requests with Authorization are stored only when the
//    response says public, s-maxage or must-revalidate (§3.5).
//  * Qualified no-cache="f" / private="f" do not stop storing: the named
//    fields are left out of the stored head (stored_head()). The unqualified
//    forms, and malformed qualifications, count in full.
//  * Numeric directive values: delta-seconds, quoted form accepted, values
//    over 2^31 are read as 2^31 (§1.2.2). A lifetime directive with an
//    invalid value (`max-age=1.5`, `max-age=a1`, `max-age = 5`, no value)
//    counts as 0: invalid freshness information means stale (§4.2.1). A
//    directive given more than once, on one line or several, keeps its most
//    restrictive value (the smallest; the largest for min-fresh).
//  * Age: the first member of a list-based value; an invalid one is ignored
//    (§5.1).
//  * Serving stale: must-revalidate / proxy-revalidate forbid it entirely.
//    no-cache and s-maxage (which implies proxy-revalidate for a shared
//    cache, §5.2.2.10) forbid the configured defaults (CacheGrace,
//    CacheStaleIfError) but an explicit stale-while-revalidate /
//    stale-if-error from the origin is its own permission (RFC 5861).
//    no-cache always has grace 0: the entry is revalidated before each use.
//  * Targeted cache control (RFC 9213, targeted.h): the first field of the
//    target list (Pillar-Cache-Control, CDN-Cache-Control by default) with a
//    valid, non-empty Dictionary value replaces Cache-Control and Expires in
//    every decision about the response; an invalid or empty one is ignored.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "config/model.h"
#include "http/request.h"
#include "http/response_parser.h"
#include "http/structured_fields.h"

namespace pillar::cache {

// Cache-Control directives (RFC 9111 §5.2), merged over every Cache-Control
// field. -1 means absent.
struct CacheControl {
  bool no_store = false, no_cache = false, private_ = false, public_ = false;
  bool must_revalidate = false, proxy_revalidate = false, only_if_cached = false;
  int64_t max_age = -1, s_maxage = -1, stale_while_revalidate = -1, stale_if_error = -1;
  int64_t max_stale = -1;  // request: max-stale without value = INT64_MAX
  int64_t min_fresh = -1;
};

// Parses one Cache-Control field value and merges it into cc. Directive names
// are case-insensitive; unknown directives are ignored; see the header note
// for invalid and repeated values.
void merge_cache_control(CacheControl& cc, std::string_view value);

// All Cache-Control fields of the request; when there is none, Pragma:
// no-cache sets no_cache (RFC 9111 §5.4).
CacheControl request_cache_control(const http::RequestHead& h);
// All Cache-Control fields of the response (Pragma is not read).
CacheControl response_cache_control(const http::ResponseHead& h);
// A targeted field's Dictionary (RFC 9213 §2.1) read as response directives,
// with Cache-Control's meanings. Each directive's value must have the type
// RFC 9213 infers for it: lifetimes are non-negative Integers (a Decimal, a
// String, a negative Integer... counts as an invalid lifetime, i.e. 0, as in
// Cache-Control); a no-cache/private field list is a String (any other value
// is the unqualified form); public counts only as Boolean true; the other
// restrictive flags count whatever their value. Parameters are ignored.
CacheControl cache_control_from_dictionary(const http::sf::Dictionary& d);

// The target list RFC 9213 §2.2 asks a cache to keep, most applicable first:
// CacheControlTarget's names; by default Pillar-Cache-Control, then
// CDN-Cache-Control (targeted.h has the functions that use it).
std::span<const std::string> default_cache_targets();

struct Settings {                 // from the location's Cache* directives
  int64_t default_ttl = 3600;     // CacheDefaultExpire (s) used only when heuristic freshness is allowed
  int64_t max_ttl = 86400;        // CacheMaxExpire: freshness lifetime is capped to this
  int64_t min_ttl = 0;            // CacheMinExpire: floor for heuristic lifetimes
  // CacheHeuristic: LastModified (default) gives (Date - Last-Modified) * lm_factor to responses without an
  // explicit lifetime; On also gives default_ttl to those without Last-Modified; Off: neither.
  config::CacheHeuristic heuristic = config::CacheHeuristic::LastModified;
  double lm_factor = 0.1;         // CacheLastModifiedFactor
  bool store_cookies = false;     // CacheStoreCookies on: store responses carrying Set-Cookie (caller strips Set-Cookie)
  bool ignore_no_cache = false;   // CacheIgnoreCacheControl on: request Cache-Control/Pragma never force revalidation
  int64_t grace = 0;              // CacheGrace: stale-while-revalidate window when the response does not say (0: none, RFC 9111 §4.2.4)
  int64_t stale_if_error = 0;     // CacheStaleIfError: stale-if-error window when the response does not say
  uint64_t max_object_size = 1000000;  // CacheMaxObjectSize (bytes)
};

// What a response allows, decided when its head arrives.
struct StoreDecision {
  bool store = false;
  // When !store, a short static reason for logs and tests: "method", "not final", "status 206", "status 304",
  // "no-store", "private", "Authorization", "Set-Cookie", "Vary: *", "too large", "no-cache" (no validator to
  // revalidate with), "no freshness".
  const char* why = "";
  int64_t ttl = 0;                 // freshness lifetime in seconds (after caps)
  int64_t initial_age = 0;         // corrected_initial_age (RFC 9111 §4.2.3), seconds
  int64_t grace = 0;               // stale-while-revalidate window (see the header note for when it is 0)
  int64_t stale_if_error = 0;      // stale-if-error window (see the header note)
  bool revalidate_always = false;  // response no-cache (unqualified): stored, ttl 0, revalidated before each use
};

// request_time: when the request was sent upstream; response_time: when the
// head arrived (Unix seconds). content_length: declared body size, or -1 when
// unknown (chunked/close-delimited: the caller enforces the size while
// streaming).
//
// Freshness lifetime: s-maxage > max-age > Expires - Date (an invalid Expires
// means already expired). Without those, a heuristically cacheable status
// (200 203 204 300 301 308 404 405 410 414 501) or `public` gets heuristic
// freshness (§4.2.2) unless Settings::heuristic is Off: (Date -
// Last-Modified) * lm_factor (10% by default, as §4.2.2 suggests); without
// Last-Modified, default_ttl only when heuristic is On; at least min_ttl.
// Every lifetime is capped to max_ttl (CacheMaxExpire, one day by default),
// which is also the cap of heuristic lifetimes. A lifetime of 0 is stored only when the response has a validator
// (ETag or Last-Modified), so it can be revalidated.
//
// With a targeted field in force (targeted.h), its directives stand for
// Cache-Control and Expires is not read (RFC 9213 §2.2).
StoreDecision decide_store(const http::RequestHead& req, const http::ResponseHead& resp, int64_t request_time,
                           int64_t response_time, int64_t content_length, const Settings& s,
                           std::span<const std::string> targets = default_cache_targets());

// Interim responses (RFC 9110 §15.2, RFC 9111 §3): is this response from the
// origin a 1xx to pass on to the client (100 Continue, 102 Processing, 103
// Early Hints, and unknown 1xx codes) before the final response? It is never
// stored nor reused (decide_store() refuses it as "not final"), and the
// cache goes on waiting for the final response. 101 Switching Protocols is
// no interim response: it ends HTTP on the connection. An HTTP/1.0 client
// gets none of them (§15.2: a server MUST NOT send it a 1xx), so the answer
// is false for `client_minor_version` 0 of HTTP/1. `continue_answered`: Pillar
// already sent the client its own 100 Continue (it answers Expect itself),
// so the origin's 100 would only repeat it (§15.2 lets a proxy drop a 1xx it
// caused).
bool forward_interim(int status, uint8_t client_major_version, uint8_t client_minor_version, bool continue_answered);

// Fields a stored head never keeps whatever the response says (RFC 9111
// §3.1): hop-by-hop and proxy-hop fields, the framing and Age that every
// answer from the store gets anew, X-Cache, and Set-Cookie (Pillar's choice:
// see CacheStoreCookies). Everything else is stored as sent, Set-Cookie2
// included.
bool never_stored(std::string_view name);
// `lines` ("Name: value\r\n"..., the head as relayed to the client) without
// never_stored() fields, fields named by the response's Connection, and
// fields named by a qualified private="..." or no-cache="..." (§5.2.2.4,
// §5.2.2.7), in Cache-Control or in the targeted field in force (both are
// honoured: leaving a field out is the safe side). Targeted fields are kept:
// a later 304 is judged with them; strip_targeted() removes them on the way
// to the client.
std::string stored_head(std::string_view lines, const http::ResponseHead& resp,
                        std::span<const std::string> targets = default_cache_targets());

// Secondary key (RFC 9111 §4.1): for each field named in the response's Vary
// (in Vary order, names lower-cased) "name:value\n", value being every
// instance of that request field joined with ",", whitespace around commas
// removed and runs of spaces/tabs collapsed to one space. Accept,
// Accept-Charset, Accept-Encoding and Accept-Language (lists of
// case-insensitive items ranked by q-value, not by order) are also stripped
// of whitespace outside quotes, lower-cased except parameter values, emptied
// of empty members and sorted, so "gzip, deflate" and "deflate,gzip" match,
// and so do "en-US, de;q=0.5" and "de;q=0.5,en-us". A field absent from the request
// gives "name\n" (no colon): absent and empty differ ("Accept-Encoding:"
// empty means identity only). Empty string when Vary names nothing.
std::string vary_key(std::string_view vary_field_values /* all Vary fields joined with "," */,
                     const http::RequestHead& req);
// All Vary field values joined with ","; "" when none.
std::string join_vary(const http::ResponseHead& resp);
// Does a request select a stored entry whose response had Vary `vary_names`
// (join_vary()) and whose request gave `stored_key` (vary_key())?
bool vary_matches(std::string_view vary_names, std::string_view stored_key, const http::RequestHead& req);

// The cache key's primary part: lower-cased host (the caller has already
// removed the port and normalised it) + '\n' + request target as received.
std::string primary_key(std::string_view host, std::string_view target);

// Age (RFC 9111 §4.2.3), in whole seconds.
// corrected_initial_age = max(apparent_age, corrected_age_value), with
// apparent_age = max(0, response_time - date_value) (0 without a valid Date:
// the time of receipt stands in, RFC 9110 §6.6.1), corrected_age_value =
// age_value + response_delay, age_value the Age field (0 when absent or
// invalid, §5.1) and response_delay = response_time - request_time (never
// negative). decide_store() stores this as StoreDecision::initial_age.
int64_t corrected_initial_age(const http::ResponseHead& resp, int64_t request_time, int64_t response_time);
// current_age = corrected_initial_age + resident_time, resident_time = now -
// response_time counted in whole seconds elapsed (milliseconds in, so a
// response stored at x.9 s is not a second old at x+1.0), never negative
// (a clock stepping back), at most 2^31 (§1.2.2). The value of the Age field
// of every response served from the store, the first one after a slow fill
// included (its response_delay is in the initial age).
int64_t current_age(int64_t corrected_initial_age, int64_t response_time_ms, int64_t now_ms);

// Freshness at lookup (§4.2): age = initial_age + (now - stored_at); fresh
// while age < ttl. The two windows are about a stale entry: within_grace
// while staleness (age - ttl) < grace, within_stale_if_error likewise; both
// false while fresh.
struct Freshness {
  bool fresh;
  bool within_grace;
  bool within_stale_if_error;
  int64_t age;
};
Freshness freshness(int64_t now, int64_t stored_at, int64_t initial_age, int64_t ttl, int64_t grace,
                    int64_t stale_if_error);

// Does the client's request force a trip to the origin for an entry of this
// age and ttl? Request no-cache, max-age=0, max-age=N with age > N, or
// min-fresh=N with less than N seconds of freshness left. Always false with
// Settings::ignore_no_cache. (max-stale and only-if-cached are the caller's:
// they widen what may be served, they never force a fetch.)
bool request_needs_revalidation(const CacheControl& req_cc, int64_t age, int64_t ttl, const Settings& s);

}  // namespace pillar::cache
