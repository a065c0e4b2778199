// A scripted client for exchanges and filters under test, without a
// socket: ScriptedSink records the response as HTTP/1.1-like text (heads,
// Content-Length, body bytes; a file range as 'F's), ScriptedBody answers
// each read of the request body with the next scripted step, ScriptedHost
// hands both to an exchange.
#pragma once
#include "http/exchange.h"

#include <deque>
#include <string>

namespace pillar::server::test_support {

class ScriptedSink final : public http::ResponseSink {
 public:
  std::string out;
  int heads = 0;
  bool file_ok = true;
  std::string& begin_head(int status, std::string_view) override {
    ++heads;
    out += "HTTP/1.1 " + std::to_string(status) + "\r\n";
    return out;
  }
  void end_head(http::BodyLength body, uint64_t length) override {
    if (body == http::BodyLength::Known) out += "Content-Length: " + std::to_string(length) + "\r\n";
    out += "\r\n";
  }
  void raw(std::string_view bytes) override { out.append(bytes); }
  void body(std::string_view data) override { out.append(data); }
  bool file(std::shared_ptr<const core::OpenFile>, uint64_t, uint64_t length) override {
    if (file_ok) out.append(length, 'F');
    return file_ok;
  }
  bool can_pass_through() const override { return true; }
  Result pass_through(std::span<const iovec>, size_t& taken) override {
    taken = 0;
    return Result::Done;
  }
  bool can_splice() const override { return false; }
  Result splice(int, size_t, size_t& moved) override {
    moved = 0;
    return Result::Error;
  }
  void end_body() override {}
  Result flush() override { return Result::Done; }
  uint64_t pending() const override { return 0; }
  bool writable() const override { return true; }
  uint64_t written() const override { return out.size(); }
  void drop() override { out.clear(); }
};

class ScriptedBody final : public http::RequestBody {
 public:
  struct Piece {
    Status status;
    std::string data;
  };
  std::deque<Piece> script;
  std::string held;
  Status read(std::string_view& data, size_t max) override {
    if (script.empty()) return Status::Again;
    Piece& p = script.front();
    if (p.status != Status::Data) {
      Status st = p.status;
      if (st != Status::Again && st != Status::End) return st;  // Bad / Gone stay
      script.pop_front();
      return st;
    }
    held = p.data.substr(0, max);
    p.data.erase(0, held.size());
    if (p.data.empty()) script.pop_front();
    data = held;
    return Status::Data;
  }
  Status read_raw(std::string_view& data, size_t max) override { return read(data, max); }
  bool chunked() const override { return false; }
  uint64_t left() const override { return 0; }
  bool done() const override { return script.empty(); }
};

// Hands out the two above; records close_after.
class ScriptedHost final : public http::ExchangeHost {
 public:
  ScriptedSink sink_;
  ScriptedBody body_;
  bool closing = false;
  http::ResponseSink& sink() override { return sink_; }
  http::RequestBody& body() override { return body_; }
  void wake() override {}
  void close_after() override { closing = true; }
  void client_gone() override {}
};

}  // namespace pillar::server::test_support
