// libFuzzer target for the upstream response-head parser (and the chunked
// decoder behind it). Small limits so the limit paths are reachable. Like the
// proxy, it skips interim (1xx) responses and parses the next head from
// `consumed`; on the final head it checks the invariants of the result, that
// the parse does not depend on bytes after the head nor on being split, that
// an answer to HEAD differs only in framing, and, if chunked, feeds the rest
// to ChunkedDecoder whole and split, which must agree.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/chunked_decoder.h"
#include "http/response_parser.h"

namespace {

using pillar::http::ChunkedDecoder;
using pillar::http::ParseOutcome;
using pillar::http::parse_response_head;
using pillar::http::ResponseHead;
using pillar::http::ResponseLimits;
using Framing = pillar::http::ResponseHead::Framing;

#define FUZZ_CHECK(cond) \
  do {                   \
    if (!(cond)) std::abort(); \
  } while (0)

struct BodyResult {
  ChunkedDecoder::Step::Kind kind = ChunkedDecoder::Step::NeedMore;
  std::string body;
  size_t consumed = 0;
};

// Feeds `in` to a fresh decoder in two pieces [0, split) and [split, end),
// keeping unconsumed bytes pending like a connection would.
BodyResult decode_chunked(std::string_view in, size_t split) {
  ChunkedDecoder d;
  BodyResult r;
  std::string pending;
  size_t fed = 0;
  const size_t cuts[2] = {split < in.size() ? split : in.size(), in.size()};
  for (size_t cut : cuts) {
    pending.append(in.substr(fed, cut - fed));
    fed = cut;
    std::string_view rest = pending;
    while (true) {
      ChunkedDecoder::Step st = d.next(rest);
      FUZZ_CHECK(st.consumed <= rest.size());
      r.consumed += st.consumed;
      if (st.kind == ChunkedDecoder::Step::Data) {
        FUZZ_CHECK(!st.data.empty());
        FUZZ_CHECK(st.data.data() >= rest.data() && st.data.data() + st.data.size() <= rest.data() + rest.size());
        r.body.append(st.data);
        rest.remove_prefix(st.consumed);
        continue;
      }
      rest.remove_prefix(st.consumed);
      if (st.kind != ChunkedDecoder::Step::NeedMore) {
        r.kind = st.kind;
        FUZZ_CHECK(d.body_bytes() == r.body.size());
        return r;
      }
      break;
    }
    pending = std::string(rest);
  }
  r.kind = ChunkedDecoder::Step::NeedMore;
  return r;
}

bool inside(std::string_view v, std::string_view buf) {
  return v.data() >= buf.data() && v.data() + v.size() <= buf.data() + buf.size();
}

void check_complete(std::string_view buf, const ParseOutcome& out, const ResponseHead& head,
                    const ResponseLimits& limits, bool request_was_head) {
  FUZZ_CHECK(out.consumed >= 16 && out.consumed <= buf.size());  // "HTTP/1.x NNN\r\n\r\n"
  FUZZ_CHECK(buf.substr(out.consumed - 4, 4) == "\r\n\r\n");
  FUZZ_CHECK(buf.substr(0, 7) == "HTTP/1.");
  FUZZ_CHECK(head.version_major == 1 && head.version_minor <= 1);
  FUZZ_CHECK(head.status >= 100 && head.status <= 599);
  FUZZ_CHECK(head.reason.empty() || inside(head.reason, buf.substr(0, out.consumed)));
  FUZZ_CHECK(head.reason.find_first_of("\r\n") == std::string_view::npos);
  FUZZ_CHECK(head.headers.size() <= limits.field_count);
  for (const auto& h : head.headers) {
    FUZZ_CHECK(inside(h.name, buf.substr(0, out.consumed)) && inside(h.value, buf.substr(0, out.consumed)));
    FUZZ_CHECK(!h.name.empty() && h.name.size() <= limits.field_size);
    FUZZ_CHECK(h.value.find_first_of("\r\n") == std::string_view::npos);
    if (!h.value.empty()) {
      FUZZ_CHECK(h.value.front() != ' ' && h.value.front() != '\t');
      FUZZ_CHECK(h.value.back() != ' ' && h.value.back() != '\t');
    }
    FUZZ_CHECK(head.has(h.name));
    (void)head.find(h.name);
  }
  const bool no_body = request_was_head || head.status < 200 || head.status == 204 || head.status == 304;
  FUZZ_CHECK((head.framing == Framing::None) == no_body);
  if (head.framing != Framing::ContentLength) FUZZ_CHECK(head.content_length == 0);
  if (head.framing == Framing::UntilClose) FUZZ_CHECK(!head.keep_alive);
  if (head.upgrade) FUZZ_CHECK(head.status == 101 && !head.keep_alive);
  if (head.status == 101) FUZZ_CHECK(head.upgrade);
  FUZZ_CHECK(head.interim() == (head.status < 200 && head.status != 101));
}

void check_chunked_body(std::string_view body) {
  size_t split = body.empty() ? 0 : static_cast<unsigned char>(body.front()) % (body.size() + 1);
  BodyResult whole = decode_chunked(body, body.size());
  BodyResult halves = decode_chunked(body, split);
  FUZZ_CHECK(whole.kind == halves.kind);
  if (whole.kind != ChunkedDecoder::Step::Error) {
    FUZZ_CHECK(whole.body == halves.body);
    FUZZ_CHECK(whole.consumed == halves.consumed);
  }
  FUZZ_CHECK(whole.consumed <= body.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Keep a non-null pointer even for empty input.
  static const char kEmpty[1] = {0};
  const char* bytes = size ? reinterpret_cast<const char*>(data) : kEmpty;
  std::string_view buf(bytes, size);

  ResponseLimits limits;
  limits.status_line = 128;
  limits.field_count = 12;
  limits.field_size = 128;

  ResponseHead head, head_for_head;
  for (int responses = 0; responses < 8; ++responses) {
    ParseOutcome out = parse_response_head(buf, limits, false, head);
    // The same bytes as an answer to HEAD: same outcome, only framing differs.
    ParseOutcome out_head = parse_response_head(buf, limits, true, head_for_head);
    FUZZ_CHECK(out.kind == out_head.kind);

    if (out.kind == ParseOutcome::Error) {
      FUZZ_CHECK(out.status == 502 && out.reason && *out.reason);
      FUZZ_CHECK(out_head.status == 502);
      return 0;
    }
    FUZZ_CHECK(out.status == 0);
    if (out.kind == ParseOutcome::Incomplete) {
      FUZZ_CHECK(out.consumed == 0);
      return 0;
    }

    check_complete(buf, out, head, limits, false);
    check_complete(buf, out_head, head_for_head, limits, true);
    FUZZ_CHECK(out_head.consumed == out.consumed);
    FUZZ_CHECK(head_for_head.status == head.status && head_for_head.upgrade == head.upgrade);
    // Without a body to frame, only a Connection-level decision can close.
    FUZZ_CHECK(!head.keep_alive || head_for_head.keep_alive);
    FUZZ_CHECK(head_for_head.headers.size() == head.headers.size());

    // The head alone parses the same; any shorter prefix is not Complete.
    ResponseHead again;
    ParseOutcome exact = parse_response_head(buf.substr(0, out.consumed), limits, false, again);
    FUZZ_CHECK(exact.kind == ParseOutcome::Complete && exact.consumed == out.consumed);
    FUZZ_CHECK(again.status == head.status && again.framing == head.framing &&
               again.keep_alive == head.keep_alive && again.content_length == head.content_length &&
               again.headers.size() == head.headers.size());
    size_t cut = static_cast<unsigned char>(buf[out.consumed - 5]) % out.consumed;
    ParseOutcome prefix = parse_response_head(buf.substr(0, cut), limits, false, again);
    FUZZ_CHECK(prefix.kind == ParseOutcome::Incomplete);

    std::string_view rest = buf.substr(out.consumed);
    if (head.interim()) {  // the proxy skips 1xx and reads the next response
      buf = rest;
      continue;
    }
    if (head.framing == Framing::Chunked) check_chunked_body(rest);
    return 0;
  }
  return 0;
}
