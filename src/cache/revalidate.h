// Freshening stored responses with a 304 (RFC 9111 §4.3.4, §3.2): which
// stored responses a 304 applies to, and the stored head it leaves. Pure
// functions over stored heads ("Name: value\r\n"... as stored_head() makes
// them) and parsed 304 heads.
//
// Decisions (where RFC 9111 leaves a choice or says nothing):
//  * Updated from the 304: every field it carries, replacing all stored lines
//    of that name (a field sent on several lines keeps all of them), in the
//    place of the first stored line; new fields go last. Not updated (§3.2):
//    the fields a stored head never keeps (never_stored(): hop-by-hop,
//    Content-Length, Age, Set-Cookie...), the fields the 304's Connection
//    names, the fields its qualified private="…"/no-cache="…" name (§3.1),
//    and Content-Range (§3.2 lets an implementation omit it: a stored 200
//    has none to refresh). Content-Type, Content-Encoding, ETag, Expires,
//    Cache-Control, targeted fields and custom fields are updated: Pillar
//    stores the bytes it received, so nothing it holds depends on them.
//    After the update the new head's own private="…"/no-cache="…" apply.
//  * Selection (§4.3.4, first match): a 304 with a strong validator updates
//    every candidate with the same strong validator (none if none has it); a
//    304 with only weak validators updates the most recently stored match;
//    a 304 with no validator updates the only candidate if it has none
//    either. A strong ETag is one without W/; a Last-Modified is strong when
//    the message's Date is at least one second later (RFC 9110 §8.8.2.2) and
//    counts only in a 304 without ETag (an ETag, when there is one, decides). A
//    candidate whose ETag or Last-Modified contradicts the 304's is never
//    updated (RFC 9110 §8.8.3.2 weak comparison, or unequal dates), so a 304
//    that repeats an old Last-Modified cannot refresh a different ETag.
//    Malformed ETags (unquoted, lower-case w/) are no validator (RFC 9110
//    §8.8.3).
//  * One addition: when the cache built the conditional request from the
//    validators of the only candidate (Pillar's own revalidation), a 304
//    without validators is about that candidate (§4.3.1: it can answer
//    nothing else) and updates it, although §4.3.4's third case asks the
//    candidate to lack validators too.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cache/policy.h"
#include "http/request.h"
#include "http/response_parser.h"

namespace pillar::cache {

// The stored head updated with the 304's fields (§3.2, §4.3.4).
std::string freshen_head(std::string_view stored_lines, const http::ResponseHead& not_modified,
                         std::span<const std::string> targets = default_cache_targets());

// `lines` ("Name: value\r\n"...) as header fields, views into `lines`, so a
// stored head can be given to decide_store() as a ResponseHead's headers.
void head_fields(std::string_view lines, std::vector<http::HeaderField>& out);

// A stored response of the initial set (§4.3.4: those the request could have
// selected, fresh or not).
struct StoredCandidate {
  std::string_view etag;           // its ETag field value, "" without one
  std::string_view last_modified;  // its Last-Modified field value, "" without one
  std::string_view date;           // its Date field value, "" without one
  int64_t stored_at = 0;           // when it was stored (the most recent wins among weak matches)

  static StoredCandidate from_head(std::string_view lines, int64_t stored_at);
};

enum class FreshenMatch : uint8_t { Strong, Weak, NoValidator, None };

struct FreshenSelection {
  FreshenMatch match = FreshenMatch::None;
  std::vector<size_t> update;  // indices into the initial set, ascending; empty with None
};

// `from_candidate_validators`: the conditional request carried the validators
// of the only candidate (see the header note).
FreshenSelection select_for_freshening(const http::ResponseHead& not_modified,
                                       std::span<const StoredCandidate> initial_set,
                                       bool from_candidate_validators);

// Pillar's revalidation of one stored object with its own validators: does
// the 304 apply to it?
bool freshens(const http::ResponseHead& not_modified, std::string_view stored_lines);

}  // namespace pillar::cache
