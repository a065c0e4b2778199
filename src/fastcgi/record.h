// The FastCGI record layer (FastCGI 1.0 specification, Open Market 1996),
// our own: the encoder for what a web server sends (BEGIN_REQUEST, PARAMS,
// STDIN, ABORT_REQUEST) and an incremental decoder for what an application
// answers (STDOUT, STDERR, END_REQUEST).
//
// A record is an 8-byte header (version 1, type, request id, content length
// up to 65535, padding length) + content + padding. Name-value pairs (PARAMS)
// carry each length in 1 byte when < 128, else in 4 bytes with the high bit
// set. PARAMS and STDIN are streams ended by an empty record.
//
// Encoding: PARAMS pairs are packed whole into records (PHP-FPM parses each
// PARAMS record on its own, so a pair never straddles two records unless it
// is larger than a record, which the caller avoids); content is padded to a
// multiple of 8, as the specification recommends.
//
// Decoding: RecordDecoder is a state machine over any split of the bytes: it
// returns views into the caller's input (no copy, no allocation), a STDOUT
// record's content possibly in several pieces as it arrives; padding,
// management records (request id 0) and unknown types are skipped; a wrong
// version, another request's id or a malformed END_REQUEST is an error.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pillar::fastcgi {

constexpr uint8_t kVersion = 1;
constexpr size_t kHeaderSize = 8;
constexpr size_t kMaxContent = 65535;
constexpr uint16_t kResponder = 1;  // the role
constexpr uint8_t kKeepConn = 1;    // BEGIN_REQUEST flag: the application keeps the connection open

enum class RecordType : uint8_t {
  BeginRequest = 1,
  AbortRequest = 2,
  EndRequest = 3,
  Params = 4,
  Stdin = 5,
  Stdout = 6,
  Stderr = 7,
  Data = 8,
  GetValues = 9,
  GetValuesResult = 10,
  UnknownType = 11,
};

enum class ProtocolStatus : uint8_t {
  RequestComplete = 0,
  CantMpxConn = 1,
  Overloaded = 2,
  UnknownRole = 3,
};

// The header of a record with `content` bytes, padded to a multiple of 8.
void append_header(std::string& out, RecordType type, uint16_t request_id, size_t content, size_t padding);
void append_begin_request(std::string& out, uint16_t request_id, bool keep_conn);
void append_abort_request(std::string& out, uint16_t request_id);
// STDIN records carrying `data` (split into records of at most kMaxContent);
// empty `data`: the empty record that ends the stream.
void append_stdin(std::string& out, uint16_t request_id, std::string_view data);
// The bytes a name-value pair takes (lengths included).
size_t pair_size(std::string_view name, std::string_view value);
void append_length(std::string& out, size_t n);

// PARAMS records built pair by pair into `out`.
class ParamsWriter {
 public:
  ParamsWriter(std::string& out, uint16_t request_id) : out_(out), id_(request_id) {}
  void add(std::string_view name, std::string_view value);
  // Closes the open record and appends the empty PARAMS record.
  void finish();

 private:
  void open();
  void close();
  std::string& out_;
  uint16_t id_;
  size_t header_at_ = std::string::npos;  // the open record's header in out_
};

class RecordDecoder {
 public:
  struct Event {
    enum Kind : uint8_t {
      NeedMore,  // all of the input was consumed (or it was empty)
      Stdout,    // `data`: the next bytes of the application's output
      Stderr,    // `data`: the next bytes of its error stream
      End,       // END_REQUEST: app_status, protocol_status
      Error,     // `error` says why; nothing more is decoded
    } kind = NeedMore;
    std::string_view data;
    size_t consumed = 0;  // input bytes this step used
    uint32_t app_status = 0;
    ProtocolStatus protocol_status = ProtocolStatus::RequestComplete;
    const char* error = nullptr;
  };
  explicit RecordDecoder(uint16_t request_id = 1) : id_(request_id) {}
  void reset(uint16_t request_id) { *this = RecordDecoder(request_id); }
  // Decodes from the start of `in`; call again with the rest (in.substr(consumed)).
  Event next(std::string_view in);
  bool ended() const { return state_ == State::Ended; }
  uint64_t stdout_bytes() const { return stdout_bytes_; }

 private:
  enum class State : uint8_t { Header, Content, Padding, Ended, Failed };
  Event fail(const char* why, size_t consumed);
  uint16_t id_;
  State state_ = State::Header;
  uint8_t header_[kHeaderSize] = {};
  uint8_t end_body_[8] = {};
  size_t have_ = 0;         // header or END_REQUEST body bytes gathered so far
  RecordType type_ = RecordType::Stdout;
  bool skip_ = false;       // the content is not ours to deliver (management, unknown types)
  size_t content_left_ = 0;
  size_t padding_left_ = 0;
  uint64_t stdout_bytes_ = 0;
};

}  // namespace pillar::fastcgi
