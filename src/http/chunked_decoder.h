// Incremental decoder for the chunked transfer coding (RFC 9112 §7.1).
// Zero-copy: each call yields at most one run of body bytes as a view into the
// input. Chunk extensions are skipped, trailer fields are read and discarded.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace pillar::http {

class ChunkedDecoder {
 public:
  struct Step {
    enum Kind : uint8_t { Data, NeedMore, Done, Error } kind = NeedMore;
    size_t consumed = 0;     // input bytes used by this step (always advance by it)
    std::string_view data;   // Data: body bytes (a view into the input)
    const char* reason = ""; // Error: why (bad chunk size, missing CRLF, ...)
  };

  // Feed the unconsumed input; call again with input.substr(step.consumed)
  // until NeedMore (give more bytes later), Done, or Error (answer 400).
  Step next(std::string_view input);

  void reset();
  uint64_t body_bytes() const { return body_bytes_; }

 private:
  enum class State : uint8_t { Size, SizeWs, SizeExt, SizeLf, Data, DataCr, DataLf, Trailer, TrailerLf, TrailerLine, TrailerLineLf, Finished };
  State state_ = State::Size;
  uint64_t remaining_ = 0;
  uint64_t body_bytes_ = 0;
  size_t size_digits_ = 0;
  size_t line_bytes_ = 0;  // bounds extension and trailer line lengths
};

}  // namespace pillar::http
