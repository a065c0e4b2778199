// Slow password checks off the event loop. bcrypt (htpasswd -B) costs tens
// of milliseconds by design, and every wrong password pays it again (only
// verified pairs are remembered): checked on the loop, a client sending
// wrong passwords would stall every other connection of that thread. The
// access phase hands such a check to a few threads of the worker process
// and suspends the request (PhaseStep::Suspended); a PasswordCheckExchange
// waits for the answer on an eventfd and the phases resume with it.
//
// Bounded: at most kMaxQueued checks wait per process; beyond that the
// request is answered 503 (logged), so a flood of bad passwords costs the
// flooder, not the other sites.
#pragma once
#include <atomic>
#include <memory>
#include <string>

#include "core/event_loop.h"
#include "core/fd.h"
#include "http/exchange.h"

namespace pillar::server {

struct PasswordJob {
  std::string password, hash;
  core::Fd done;                 // eventfd, written once by the checker thread
  std::atomic<int> result{-1};   // -1 pending, 0 mismatch, 1 the password is the hash's
  ~PasswordJob();                // wipes the password
};

class PasswordChecks {
 public:
  static constexpr int kThreads = 2;
  static constexpr size_t kMaxQueued = 256;
  // A check queued on the process's checker threads; null when kMaxQueued
  // are already waiting (or no eventfd could be made).
  static std::shared_ptr<PasswordJob> submit(std::string password, std::string hash);
};

// Waits for a PasswordJob on the loop, then ends with Outcome::Kind::Resume.
class PasswordCheckExchange final : public http::Exchange, public core::IoWatcher {
 public:
  PasswordCheckExchange(http::ExchangeHost& host, core::EventLoop& loop, std::shared_ptr<PasswordJob> job);
  ~PasswordCheckExchange() override;
  // False when the loop could not watch the job's eventfd: nothing would
  // wake the exchange, so the caller must not run it.
  bool watching() const { return watching_; }
  Step proceed() override;
  Outcome outcome() const override { return {Outcome::Kind::Resume, 0, 0, true}; }
  bool abort(bool) override;
  void on_io(uint32_t events) override;

 private:
  void stop_watching();
  http::ExchangeHost& host_;
  core::EventLoop& loop_;
  std::shared_ptr<PasswordJob> job_;
  bool watching_ = false;
};

}  // namespace pillar::server
