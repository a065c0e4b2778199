// libFuzzer target for the HTTP/1.1 request-head parser and the chunked
// decoder. Small limits so the 414/431 paths are reachable; if the head is
// Complete and chunked, the rest of the input is fed to ChunkedDecoder, first
// whole and then split at an input-derived point, and both runs must agree.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/chunked_decoder.h"
#include "http/request_parser.h"
#include "http/uri.h"

namespace {

using pillar::http::ChunkedDecoder;

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Keep a non-null pointer even for empty input.
  static const char kEmpty[1] = {0};
  const char* bytes = size ? reinterpret_cast<const char*>(data) : kEmpty;
  const std::string_view buf(bytes, size);

  pillar::http::ParseLimits limits;
  limits.request_line = 256;
  limits.field_count = 16;
  limits.field_size = 256;

  pillar::http::RequestHead head;
  pillar::http::ParseOutcome out = pillar::http::parse_request_head(buf, limits, head);

  switch (out.kind) {
    case pillar::http::ParseOutcome::Error:
      FUZZ_CHECK(out.status == 400 || out.status == 414 || out.status == 417 || out.status == 431 ||
                 out.status == 501 || out.status == 505);
      return 0;
    case pillar::http::ParseOutcome::Incomplete:
      return 0;
    case pillar::http::ParseOutcome::Complete:
      break;
  }

  FUZZ_CHECK(out.consumed >= 4 && out.consumed <= size);
  FUZZ_CHECK(buf.substr(out.consumed - 4, 4) == "\r\n\r\n");
  FUZZ_CHECK(head.headers.size() <= limits.field_count);
  FUZZ_CHECK(!(head.chunked && head.has_content_length));
  for (const auto& h : head.headers) {
    FUZZ_CHECK(h.name.data() >= bytes && h.name.data() + h.name.size() <= bytes + out.consumed);
    FUZZ_CHECK(!h.name.empty() && h.name.size() <= limits.field_size);
    if (!h.value.empty()) {
      FUZZ_CHECK(h.value.front() != ' ' && h.value.front() != '\t');
      FUZZ_CHECK(h.value.back() != ' ' && h.value.back() != '\t');
    }
    (void)head.find(h.name);
  }
  FUZZ_CHECK(!head.target.empty() && head.target.size() <= limits.request_line);

  // The path goes through normalization before any handler sees it.
  if (!head.path.empty() && head.path.front() == '/') {
    std::string norm;
    int status = 0;
    if (pillar::http::normalize_path(head.path, norm, status)) {
      FUZZ_CHECK(!norm.empty() && norm.front() == '/');
      FUZZ_CHECK(norm.find("/../") == std::string::npos && norm != "/..");
      (void)pillar::http::url_escape_path(norm);
      (void)pillar::http::html_escape(norm);
    } else {
      FUZZ_CHECK(status == 400 || status == 404);
    }
  }

  if (head.chunked) {
    std::string_view body = buf.substr(out.consumed);
    size_t split = body.empty() ? 0 : static_cast<unsigned char>(body.front()) % (body.size() + 1);
    BodyResult whole = decode_chunked(body, body.size());
    BodyResult halves = decode_chunked(body, split);
    // Any split of the input gives the same result.
    FUZZ_CHECK(whole.kind == halves.kind);
    if (whole.kind != ChunkedDecoder::Step::Error) {
      FUZZ_CHECK(whole.body == halves.body);
      FUZZ_CHECK(whole.consumed == halves.consumed);
    }
    FUZZ_CHECK(whole.consumed <= body.size());
  }
  return 0;
}
