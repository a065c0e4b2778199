// libFuzzer target for the FastCGI record decoder (src/fastcgi/record.cpp):
// an application's answer fed whole and split at a point taken from the
// input must decode to the same STDOUT/STDERR bytes and the same outcome;
// every view lies inside the input, consumed never passes it. The first
// byte picks the split, the second the request id (1 or another). The
// STDOUT bytes then go to the CGI head parser (src/fastcgi/cgi_response.cpp)
// as the exchange feeds it: whole, and the head alone must parse the same.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fastcgi/cgi_response.h"
#include "fastcgi/record.h"

namespace {

using pillar::fastcgi::RecordDecoder;

#define FUZZ_CHECK(cond) \
  do {                   \
    if (!(cond)) std::abort(); \
  } while (0)

struct Result {
  std::string out, err;
  int outcome = 0;  // 0 more, 1 end, 2 error
};

Result run(std::string_view in, size_t split, uint16_t id) {
  RecordDecoder d(id);
  Result r;
  std::string pending;
  size_t fed = 0;
  const size_t cuts[2] = {split < in.size() ? split : in.size(), in.size()};
  for (size_t cut : cuts) {
    pending.append(in.substr(fed, cut - fed));
    fed = cut;
    std::string_view rest = pending;
    for (;;) {
      auto e = d.next(rest);
      FUZZ_CHECK(e.consumed <= rest.size());
      if (!e.data.empty())
        FUZZ_CHECK(e.data.data() >= rest.data() && e.data.data() + e.data.size() <= rest.data() + e.consumed);
      rest.remove_prefix(e.consumed);
      if (e.kind == RecordDecoder::Event::Stdout) r.out.append(e.data);
      else if (e.kind == RecordDecoder::Event::Stderr) r.err.append(e.data);
      else if (e.kind == RecordDecoder::Event::End) {
        r.outcome = 1;
        FUZZ_CHECK(d.ended());
        return r;
      } else if (e.kind == RecordDecoder::Event::Error) {
        FUZZ_CHECK(e.error && *e.error);
        r.outcome = 2;
        return r;
      } else {
        FUZZ_CHECK(rest.empty());
        break;
      }
      if (e.kind == RecordDecoder::Event::Stdout) FUZZ_CHECK(!e.data.empty());
    }
    pending = std::string(rest);
  }
  FUZZ_CHECK(d.stdout_bytes() == r.out.size());
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  size_t split = data[0];
  uint16_t id = data[1] & 1 ? 1 : static_cast<uint16_t>(data[1] << 8 | 1);
  std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);
  Result whole = run(in, in.size(), id);
  Result cut = run(in, split % (in.size() + 1), id);
  FUZZ_CHECK(whole.outcome == cut.outcome);
  FUZZ_CHECK(whole.out == cut.out);
  FUZZ_CHECK(whole.err == cut.err);

  using pillar::fastcgi::CgiHead;
  using pillar::fastcgi::CgiParse;
  CgiHead head, again;
  size_t consumed = 0, consumed_again = 0;
  const char* why = nullptr;
  CgiParse p = pillar::fastcgi::parse_cgi_head(whole.out, 512, head, consumed, why);
  if (p == CgiParse::Error) FUZZ_CHECK(why && *why);
  if (p == CgiParse::Complete) {
    FUZZ_CHECK(consumed <= whole.out.size() && consumed <= 512);
    FUZZ_CHECK(head.status >= 200 && head.status <= 599);
    for (const auto& [n, v] : head.fields) {
      FUZZ_CHECK(!n.empty() && n.find_first_of(":\r\n ") == std::string::npos);
      FUZZ_CHECK(v.find_first_of("\r\n") == std::string::npos);
    }
    CgiParse p2 = pillar::fastcgi::parse_cgi_head(std::string_view(whole.out).substr(0, consumed), 512, again, consumed_again, why);
    FUZZ_CHECK(p2 == CgiParse::Complete && consumed_again == consumed && again.status == head.status &&
               again.fields.size() == head.fields.size());
  }
  return 0;
}
