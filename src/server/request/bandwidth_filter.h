// mod_ratelimit's RATE_LIMIT output filter: one response's body sent at
// most at the rate the request's `rate-limit` variable names (KiB/s), after
// an optional first `rate-initial-burst` KiB at full speed, as Apache's
// module does (per response, not per client). Selected as the other
// filters are (SetOutputFilter, AddOutputFilter, AddOutputFilterByType),
// and innermost: what it paces is what goes to the client, compressed or not.
//
// How it paces: a token bucket that starts at the end of the head (the head
// is never held). The body's pieces are queued here (text copied, file
// ranges kept as ranges so sendfile still sends them) and passed to the sink
// beneath only as far as the bucket allows; when it is empty the filter
// arms a timer on the loop for the moment the next piece is due and then
// wakes the request's carrier (ExchangeHost::wake), which flushes again.
// Back-pressure is unchanged: the filter says it is not writable while it
// holds kHoldMax bytes, so a proxy or a script behind it stops reading from
// its member until the client has taken its share.
#pragma once
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "core/event_loop.h"
#include "core/timer_wheel.h"
#include "http/exchange.h"
#include "http/sink_filter.h"

namespace pillar::server {

struct Request;

struct BandwidthLimit {
  uint64_t bytes_per_s = 0;         // rate-limit × 1024
  uint64_t burst_bytes = 0;         // rate-initial-burst × 1024
  bool any_type = false;            // SetOutputFilter, or AddOutputFilter for the file's extension
  std::vector<std::string> types;   // AddOutputFilterByType (lower-case media types)
};

class BandwidthFilter final : public http::SinkFilter, public core::TimerNode {
 public:
  static constexpr uint64_t kHoldMax = 64 * 1024;  // queued here before writable() says no
  static constexpr uint64_t kPieceMax = 64 * 1024;  // passed beneath at a time
  BandwidthFilter(http::ExchangeHost& host, core::EventLoop& loop, BandwidthLimit limit);
  ~BandwidthFilter() override;

  std::string& begin_head(int status, std::string_view reason = {}) override;
  void end_head(http::BodyLength body, uint64_t length) override;
  void body(std::string_view data) override;
  bool file(std::shared_ptr<const core::OpenFile> f, uint64_t offset, uint64_t length) override;
  // Pieces pass only through body()/file(), where they can be held.
  bool can_pass_through() const override { return !pacing_ && next().can_pass_through(); }
  Result pass_through(std::span<const iovec> data, size_t& taken) override;
  bool can_splice() const override { return !pacing_ && next().can_splice(); }
  void end_body() override;
  Result flush() override;
  uint64_t pending() const override { return held_ + next().pending(); }
  bool writable() const override { return held_ < kHoldMax && next().writable(); }
  void drop() override;
  void on_timer() override;

  // Bytes the bucket lets through at `now_ms` (for the unit test).
  uint64_t allowance(uint64_t now_ms) const;

 private:
  struct Piece {
    std::shared_ptr<const core::OpenFile> file;  // null: `text`
    uint64_t offset = 0, length = 0;
    std::string text;
  };
  void hold(Piece p);

  http::ExchangeHost& host_;
  core::EventLoop& loop_;
  BandwidthLimit limit_;
  std::string* head_ = nullptr;  // the head being built beneath (its Content-Type picks the filter by type)
  bool pacing_ = false;          // decided at end_head: this response is paced
  uint64_t start_ms_ = 0;        // when the body began (the bucket's origin)
  uint64_t sent_ = 0;            // body bytes passed beneath
  std::deque<Piece> queue_;
  uint64_t held_ = 0;            // bytes in queue_
  bool ending_ = false, ended_ = false;
};

// Pushes the RATE_LIMIT filter onto req.filters when the sections that
// cover the request name it and its `rate-limit` variable is a positive
// number of KiB/s (Apache: otherwise the filter does nothing).
// `sections`: what covers the request, merged once for every filter module.
struct OutputFilterSections;
void maybe_push_bandwidth_filter(Request& req, const OutputFilterSections& sections, http::ExchangeHost& host,
                                 core::EventLoop& loop);

}  // namespace pillar::server
