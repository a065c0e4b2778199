#include "fastcgi/record.h"

#include <algorithm>

#include "core/assert.h"

namespace pillar::fastcgi {
namespace {

constexpr char kZeros[8] = {};

size_t padding_for(size_t content) { return (8 - content % 8) % 8; }

}  // namespace

void append_header(std::string& out, RecordType type, uint16_t request_id, size_t content, size_t padding) {
  PILLAR_ASSERT(content <= kMaxContent && padding <= 255);
  const char h[kHeaderSize] = {
      static_cast<char>(kVersion),
      static_cast<char>(type),
      static_cast<char>(request_id >> 8),
      static_cast<char>(request_id & 0xff),
      static_cast<char>(content >> 8),
      static_cast<char>(content & 0xff),
      static_cast<char>(padding),
      0,
  };
  out.append(h, kHeaderSize);
}

void append_begin_request(std::string& out, uint16_t request_id, bool keep_conn) {
  append_header(out, RecordType::BeginRequest, request_id, 8, 0);
  const char body[8] = {0, static_cast<char>(kResponder), static_cast<char>(keep_conn ? kKeepConn : 0), 0, 0, 0, 0, 0};
  out.append(body, sizeof body);
}

void append_abort_request(std::string& out, uint16_t request_id) {
  append_header(out, RecordType::AbortRequest, request_id, 0, 0);
}

void append_stdin(std::string& out, uint16_t request_id, std::string_view data) {
  if (data.empty()) {
    append_header(out, RecordType::Stdin, request_id, 0, 0);
    return;
  }
  while (!data.empty()) {
    // Records of a multiple of 8 bytes, so that only the last one is padded.
    size_t n = std::min(data.size(), kMaxContent - kMaxContent % 8);
    size_t pad = padding_for(n);
    append_header(out, RecordType::Stdin, request_id, n, pad);
    out.append(data.substr(0, n));
    out.append(kZeros, pad);
    data.remove_prefix(n);
  }
}

void append_length(std::string& out, size_t n) {
  PILLAR_ASSERT(n <= 0x7fffffff);
  if (n < 128) {
    out.push_back(static_cast<char>(n));
    return;
  }
  const char b[4] = {static_cast<char>(0x80 | (n >> 24)), static_cast<char>((n >> 16) & 0xff),
                     static_cast<char>((n >> 8) & 0xff), static_cast<char>(n & 0xff)};
  out.append(b, 4);
}

size_t pair_size(std::string_view name, std::string_view value) {
  return (name.size() < 128 ? 1 : 4) + (value.size() < 128 ? 1 : 4) + name.size() + value.size();
}

void ParamsWriter::open() {
  header_at_ = out_.size();
  append_header(out_, RecordType::Params, id_, 0, 0);  // lengths filled in by close()
}

void ParamsWriter::close() {
  if (header_at_ == std::string::npos) return;
  size_t content = out_.size() - header_at_ - kHeaderSize;
  PILLAR_ASSERT(content <= kMaxContent);
  size_t pad = padding_for(content);
  out_[header_at_ + 4] = static_cast<char>(content >> 8);
  out_[header_at_ + 5] = static_cast<char>(content & 0xff);
  out_[header_at_ + 6] = static_cast<char>(pad);
  out_.append(kZeros, pad);
  header_at_ = std::string::npos;
}

void ParamsWriter::add(std::string_view name, std::string_view value) {
  size_t need = pair_size(name, value);
  if (header_at_ != std::string::npos && out_.size() - header_at_ - kHeaderSize + need > kMaxContent) close();
  if (need <= kMaxContent) {
    if (header_at_ == std::string::npos) open();
    append_length(out_, name.size());
    append_length(out_, value.size());
    out_.append(name);
    out_.append(value);
    return;
  }
  // Larger than a record: the pair is split across records (the stream
  // allows it; applications that parse records one by one will refuse it).
  std::string pair;
  append_length(pair, name.size());
  append_length(pair, value.size());
  pair.append(name);
  pair.append(value);
  std::string_view rest = pair;
  while (!rest.empty()) {
    open();
    size_t n = std::min(rest.size(), kMaxContent);
    out_.append(rest.substr(0, n));
    rest.remove_prefix(n);
    close();
  }
}

void ParamsWriter::finish() {
  close();
  append_header(out_, RecordType::Params, id_, 0, 0);
}

RecordDecoder::Event RecordDecoder::fail(const char* why, size_t consumed) {
  state_ = State::Failed;
  Event e;
  e.kind = Event::Error;
  e.error = why;
  e.consumed = consumed;
  return e;
}

RecordDecoder::Event RecordDecoder::next(std::string_view in) {
  size_t pos = 0;
  for (;;) {
    switch (state_) {
      case State::Failed:
        return fail("a previous record was malformed", 0);
      case State::Ended:
        if (pos < in.size()) return fail("bytes after END_REQUEST", pos);
        return Event{Event::End, {}, pos};
      case State::Header: {
        if (pos == in.size()) return Event{Event::NeedMore, {}, pos};
        size_t n = std::min(kHeaderSize - have_, in.size() - pos);
        std::copy_n(in.data() + pos, n, header_ + have_);
        have_ += n;
        pos += n;
        if (have_ < kHeaderSize) return Event{Event::NeedMore, {}, pos};
        have_ = 0;
        if (header_[0] != kVersion) return fail("record of an unknown FastCGI version", pos);
        type_ = static_cast<RecordType>(header_[1]);
        uint16_t id = static_cast<uint16_t>(header_[2] << 8 | header_[3]);
        content_left_ = static_cast<size_t>(header_[4] << 8 | header_[5]);
        padding_left_ = header_[6];
        if (id == 0) {
          skip_ = true;  // a management record (GET_VALUES_RESULT, UNKNOWN_TYPE): nothing for the request
        } else if (id != id_) {
          return fail("record for another request id", pos);
        } else if (type_ == RecordType::Stdout || type_ == RecordType::Stderr) {
          skip_ = false;
        } else if (type_ == RecordType::EndRequest) {
          if (content_left_ != 8) return fail("END_REQUEST record whose body is not 8 bytes", pos);
          skip_ = false;
        } else if (type_ == RecordType::BeginRequest || type_ == RecordType::AbortRequest ||
                   type_ == RecordType::Params || type_ == RecordType::Stdin || type_ == RecordType::Data ||
                   type_ == RecordType::GetValues) {
          return fail("record of a type an application does not send", pos);
        } else {
          skip_ = true;  // an unknown type: skipped, as the specification allows for new types
        }
        state_ = content_left_ ? State::Content : State::Padding;
        continue;
      }
      case State::Content: {
        if (pos == in.size()) return Event{Event::NeedMore, {}, pos};
        size_t n = std::min(content_left_, in.size() - pos);
        if (type_ == RecordType::EndRequest && !skip_) {
          std::copy_n(in.data() + pos, n, end_body_ + have_);
          have_ += n;
          pos += n;
          content_left_ -= n;
          if (content_left_ == 0) state_ = State::Padding;
          continue;
        }
        std::string_view data = in.substr(pos, n);
        pos += n;
        content_left_ -= n;
        if (content_left_ == 0) state_ = State::Padding;
        if (skip_) continue;
        Event e;
        e.kind = type_ == RecordType::Stdout ? Event::Stdout : Event::Stderr;
        e.data = data;
        e.consumed = pos;
        if (type_ == RecordType::Stdout) stdout_bytes_ += n;
        return e;
      }
      case State::Padding: {
        size_t n = std::min(padding_left_, in.size() - pos);
        pos += n;
        padding_left_ -= n;
        if (padding_left_ > 0) return Event{Event::NeedMore, {}, pos};
        if (type_ == RecordType::EndRequest && !skip_) {
          PILLAR_ASSERT(have_ == 8);
          have_ = 0;
          state_ = State::Ended;
          Event e;
          e.kind = Event::End;
          e.consumed = pos;
          e.app_status = static_cast<uint32_t>(end_body_[0]) << 24 | static_cast<uint32_t>(end_body_[1]) << 16 |
                         static_cast<uint32_t>(end_body_[2]) << 8 | end_body_[3];
          e.protocol_status = static_cast<ProtocolStatus>(end_body_[4]);
          return e;
        }
        state_ = State::Header;
        continue;
      }
    }
  }
}

}  // namespace pillar::fastcgi
