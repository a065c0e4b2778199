#include "server/request/bandwidth_filter.h"

#include <algorithm>
#include <charconv>

#include "core/assert.h"
#include "core/log.h"
#include "core/open_file.h"
#include "core/text.h"
#include "server/request/output_filter_sections.h"
#include "server/request/request.h"
#include "server/site.h"

namespace pillar::server {

namespace {

// The media type of the head's Content-Type, lower-case, without parameters.
std::string head_media_type(std::string_view head) {
  size_t at = 0;
  while (at < head.size()) {
    size_t eol = head.find("\r\n", at);
    std::string_view line = head.substr(at, eol == std::string_view::npos ? std::string_view::npos : eol - at);
    at = eol == std::string_view::npos ? head.size() : eol + 2;
    if (line.size() > 13 && core::iequals(line.substr(0, 13), "Content-Type:")) {
      std::string_view v = line.substr(13);
      return core::lowercase(core::trim_ows(v.substr(0, v.find(';'))));
    }
  }
  return {};
}

// A variable's KiB as bytes; 0 when unset, not a number or absurd
// (Apache: a value that overflows turns the limit off).
uint64_t kib_variable(const Request& req, std::string_view name) {
  const std::string* v = req.env.find(name);
  if (!v) return 0;
  std::string_view s = core::trim_ows(*v);
  uint64_t kib = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), kib);
  if (ec != std::errc() || end != s.data() + s.size() || kib > (uint64_t{1} << 40)) return 0;
  return kib * 1024;
}

}  // namespace

BandwidthFilter::BandwidthFilter(http::ExchangeHost& host, core::EventLoop& loop, BandwidthLimit limit)
    : host_(host), loop_(loop), limit_(std::move(limit)) {
  PILLAR_ASSERT(limit_.bytes_per_s > 0);
}

BandwidthFilter::~BandwidthFilter() = default;  // TimerNode's destructor cancels the timer

std::string& BandwidthFilter::begin_head(int status, std::string_view reason) {
  head_ = &next().begin_head(status, reason);
  return *head_;
}

void BandwidthFilter::end_head(http::BodyLength body, uint64_t length) {
  pacing_ = body != http::BodyLength::None &&
            (limit_.any_type || (head_ && std::find(limit_.types.begin(), limit_.types.end(),
                                                    head_media_type(*head_)) != limit_.types.end()));
  head_ = nullptr;
  start_ms_ = loop_.now_ms();
  next().end_head(body, length);
}

uint64_t BandwidthFilter::allowance(uint64_t now_ms) const {
  const uint64_t elapsed = now_ms > start_ms_ ? now_ms - start_ms_ : 0;
  const uint64_t earned = limit_.burst_bytes + limit_.bytes_per_s * elapsed / 1000;
  return earned > sent_ ? earned - sent_ : 0;
}

void BandwidthFilter::hold(Piece p) {
  held_ += p.length;
  queue_.push_back(std::move(p));
}

void BandwidthFilter::body(std::string_view data) {
  if (!pacing_) return next().body(data);
  if (data.empty()) return;
  hold({nullptr, 0, data.size(), std::string(data)});
}

bool BandwidthFilter::file(std::shared_ptr<const core::OpenFile> f, uint64_t offset, uint64_t length) {
  if (!pacing_) return next().file(std::move(f), offset, length);
  if (offset + length > f->size) return false;  // shorter than the range now: the response is cut
  if (length > 0) hold({std::move(f), offset, length, {}});
  return true;
}

http::ResponseSink::Result BandwidthFilter::pass_through(std::span<const iovec> data, size_t& taken) {
  if (!pacing_) return next().pass_through(data, taken);
  taken = 0;  // nothing bypasses the bucket: the caller copies it in through body()
  return Result::Again;
}

void BandwidthFilter::end_body() {
  if (!pacing_ || queue_.empty()) {
    ended_ = true;
    return next().end_body();
  }
  ending_ = true;  // after the last held piece (flush)
}

http::ResponseSink::Result BandwidthFilter::flush() {
  if (!pacing_) return next().flush();
  const uint64_t now = loop_.now_ms();
  uint64_t room = allowance(now);
  // Pass what the bucket allows, a piece at a time, while the sink beneath
  // has room (it holds at most about kPieceMax more than it can write).
  while (!queue_.empty() && room > 0 && next().pending() < kPieceMax) {
    Piece& p = queue_.front();
    const uint64_t n = std::min({p.length, room, kPieceMax});
    if (p.file) {
      if (!next().file(p.file, p.offset, n)) return Result::Error;
      p.offset += n;
    } else {
      next().body(std::string_view(p.text).substr(0, static_cast<size_t>(n)));
      p.text.erase(0, static_cast<size_t>(n));
    }
    p.length -= n;
    held_ -= n;
    sent_ += n;
    room -= n;
    if (p.length == 0) queue_.pop_front();
  }
  if (queue_.empty() && ending_ && !ended_) {
    ended_ = true;
    next().end_body();
  }
  const Result r = next().flush();
  if (r == Result::Error || queue_.empty()) return r;
  if (room == 0 && !armed()) {
    // Due when the next piece (at most kPieceMax, at least one tick's worth) has been earned.
    const uint64_t want = std::min<uint64_t>({queue_.front().length, kPieceMax,
                                              std::max<uint64_t>(1, limit_.bytes_per_s * core::TimerWheel::kTickMs / 1000)});
    const uint64_t due_ms = (want * 1000 + limit_.bytes_per_s - 1) / limit_.bytes_per_s;
    loop_.timers().arm(*this, now + std::max<uint64_t>(1, due_ms));
  }
  return Result::Again;
}

void BandwidthFilter::drop() {
  queue_.clear();
  held_ = 0;
  core::TimerWheel::cancel(*this);
  next().drop();
}

void BandwidthFilter::on_timer() { host_.wake(); }

void maybe_push_bandwidth_filter(Request& req, const OutputFilterSections& sections, http::ExchangeHost& host,
                                 core::EventLoop& loop) {
  const auto& sel = sections.rate_limit;
  BandwidthLimit limit;
  limit.any_type = sel.set.value_or(false) || sel.extension_says(sections.base);
  limit.types = sel.types;
  if (!limit.any_type && limit.types.empty()) return;
  limit.bytes_per_s = kib_variable(req, "rate-limit");
  if (limit.bytes_per_s == 0) {
    core::log(core::LogLevel::Debug, "ratelimit", "[client {}] RATE_LIMIT without a rate-limit variable (KiB/s): {} not limited",
              req.client_ip, req.path);
    return;
  }
  limit.burst_bytes = kib_variable(req, "rate-initial-burst");
  req.filters.push(std::make_unique<BandwidthFilter>(host, loop, std::move(limit)));
}

}  // namespace pillar::server
