// Chunked decoding as a byte-level state machine, so any split of the input
// gives the same result. Sizes are bounded (16 hex digits, below 2^63) and so
// are extension and trailer lines.
#include "http/chunked_decoder.h"

#include "core/text.h"

namespace pillar::http {

namespace {
constexpr size_t kMaxLine = 4096;
constexpr size_t kMaxTrailerBytes = 16 * 1024;
}  // namespace

void ChunkedDecoder::reset() {
  state_ = State::Size;
  remaining_ = 0;
  body_bytes_ = 0;
  size_digits_ = 0;
  line_bytes_ = 0;
}

ChunkedDecoder::Step ChunkedDecoder::next(std::string_view in) {
  Step st;
  auto fail = [&](const char* why, size_t used) {
    st.kind = Step::Error;
    st.reason = why;
    st.consumed = used;
    return st;
  };
  size_t i = 0;
  while (i < in.size()) {
    char c = in[i];
    switch (state_) {
      case State::Size: {
        int h = core::hex_digit(c);
        if (h >= 0) {
          if (++size_digits_ > 16 || remaining_ > (uint64_t{1} << 59)) return fail("chunk size too large", i);
          remaining_ = remaining_ * 16 + static_cast<uint64_t>(h);
          ++i;
          break;
        }
        if (size_digits_ == 0) return fail("missing chunk size", i);
        if (c == ' ' || c == '\t') {  // BWS is allowed only before a ';' extension
          state_ = State::SizeWs;
          line_bytes_ = 0;
          ++i;
          break;
        }
        if (c == ';') {
          state_ = State::SizeExt;
          line_bytes_ = 0;
          ++i;
          break;
        }
        if (c == '\r') {
          state_ = State::SizeLf;
          ++i;
          break;
        }
        return fail("invalid character in chunk size", i);
      }
      case State::SizeWs:
        if (c == ';') {
          state_ = State::SizeExt;
          line_bytes_ = 0;
        } else if ((c != ' ' && c != '\t') || ++line_bytes_ > kMaxLine) {
          return fail("whitespace after chunk size must precede ';'", i);
        }
        ++i;
        break;
      case State::SizeExt:
        if (c == '\r') {
          state_ = State::SizeLf;
        } else if (c == '\n' || ++line_bytes_ > kMaxLine || (static_cast<unsigned char>(c) < 0x20 && c != '\t')) {
          return fail("invalid chunk extension", i);
        }
        ++i;
        break;
      case State::SizeLf:
        if (c != '\n') return fail("chunk size line not terminated by CRLF", i);
        ++i;
        size_digits_ = 0;
        if (remaining_ == 0) {
          state_ = State::Trailer;
          line_bytes_ = 0;
        } else {
          state_ = State::Data;
        }
        break;
      case State::Data: {
        size_t take = in.size() - i;
        if (take > remaining_) take = static_cast<size_t>(remaining_);
        remaining_ -= take;
        body_bytes_ += take;
        if (remaining_ == 0) state_ = State::DataCr;
        st.kind = Step::Data;
        st.data = in.substr(i, take);
        st.consumed = i + take;
        return st;
      }
      case State::DataCr:
        if (c != '\r') return fail("chunk data not followed by CRLF", i);
        state_ = State::DataLf;
        ++i;
        break;
      case State::DataLf:
        if (c != '\n') return fail("chunk data not followed by CRLF", i);
        state_ = State::Size;
        ++i;
        break;
      case State::Trailer:  // at the start of a trailer line (or the final CRLF)
        if (c == '\r') {
          state_ = State::TrailerLf;
        } else if (c == '\n') {
          return fail("bare LF in trailer section", i);
        } else {
          state_ = State::TrailerLine;
        }
        ++i;
        if (++line_bytes_ > kMaxTrailerBytes) return fail("trailer section too large", i);
        break;
      case State::TrailerLine:
        if (c == '\r') {
          ++i;
          if (i < in.size() && in[i] != '\n') return fail("bare CR in trailer", i);
          state_ = State::TrailerLineLf;
        } else if (c == '\n' || (static_cast<unsigned char>(c) < 0x20 && c != '\t')) {
          return fail("invalid character in trailer", i);
        } else {
          ++i;
        }
        if (++line_bytes_ > kMaxTrailerBytes) return fail("trailer section too large", i);
        break;
      case State::TrailerLineLf:
        if (c != '\n') return fail("bare CR in trailer", i);
        state_ = State::Trailer;
        ++i;
        break;
      case State::TrailerLf:
        if (c != '\n') return fail("trailer section not terminated by CRLF", i);
        state_ = State::Finished;
        st.kind = Step::Done;
        st.consumed = i + 1;
        return st;
      case State::Finished:
        st.kind = Step::Done;
        st.consumed = i;
        return st;
    }
  }
  st.kind = state_ == State::Finished ? Step::Done : Step::NeedMore;
  st.consumed = i;
  return st;
}

}  // namespace pillar::http
