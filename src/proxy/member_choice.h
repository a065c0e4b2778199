// Which balancer member answers one request, and the busy count the
// request holds there. In order: the same member again on a fresh
// connection (after a pooled connection it had closed), the sticky route
// (stickysession=), the client-address persistence (IPVS -p), then the
// balancer's method (lbmethod=); members this request already tried, and
// members in their back-off after failures (retry=), are skipped, unless
// nothing else is left (Apache's forcerecovery). Every usable member at its
// max= queues the request for the balancer's timeout=.
//
// The busy count is recorded in the connection's scoreboard slot before it
// is taken (acquire_recorded), so a worker killed while it holds one gives
// it back through the master; release() (or the destructor) gives it back
// otherwise. Used by every exchange that talks to members (HTTP, FastCGI).
#pragma once
#include <atomic>
#include <cstdint>
#include <span>
#include <string_view>
#include <sys/socket.h>

#include "http/request.h"

#include "proxy/balancer.h"
#include "proxy/balancer_runtime.h"

namespace pillar::proxy {

// What of the request the choice looks at.
struct ChoiceRequest {
  std::span<const uint8_t> client_addr;  // 4 or 16 bytes (persistence, source hash); empty: none
  std::string_view cookie;               // the Cookie field (sticky routes)
  std::string_view target;               // the request-target (sticky ;jsessionid=, the URL hash)
  std::string_view hash_header;          // the value of the balancer's hash header, when it has one
};

// The choice's view of a request from `client`; `addr` holds the address
// bytes the view points at (it outlives the view).
ChoiceRequest choice_request(const http::RequestHead& head, const sockaddr_storage& client,
                             const config::BalancerConfig& cfg, uint8_t (&addr)[16]);

class MemberChoice {
 public:
  // `records`: the connection's scoreboard slots for busy counts (empty:
  // counted unrecorded, as for a private balancer block).
  MemberChoice(BalancerRuntime& b, std::span<std::atomic<uint32_t>> records) : b_(b), records_(records) {}
  ~MemberChoice() { release(); }
  MemberChoice(const MemberChoice&) = delete;
  MemberChoice& operator=(const MemberChoice&) = delete;

  enum class Outcome : uint8_t {
    Member,       // member(): chosen, its busy count held
    Queue,        // every usable member at its max=: ask again in kQueueRetryMs
    Unavailable,  // none (why()): answer 503, or 502 after a member failed this request
  };
  static constexpr uint64_t kQueueRetryMs = 5;
  Outcome choose(const ChoiceRequest& r, uint64_t now_ms);
  // Gives the busy count back; the member stays member() for the log.
  void release();

  int member() const { return member_; }
  // The member chosen last was taken again on a fresh connection (not an attempt).
  bool fresh() const { return fresh_; }
  const char* why() const { return why_; }
  const config::BalancerMemberConfig& member_cfg() const { return b_.member_cfg(member_); }
  BalancerRuntime& balancer() const { return b_; }

  // The next choice is `member` again, on a fresh connection, not counted
  // as an attempt (a pooled connection it had closed is not its failure).
  void again_fresh(int member) { stale_member_ = member; }
  // The member failed this request (refused, reset, closed without an
  // answer): counted towards its failures=, after which it is not used for
  // retry= unless it is the last usable member.
  void failed(int member, const char* why, uint64_t now_ms);
  // Whether a member other than `slot` could take new requests.
  bool other_member_usable(int slot, uint64_t now_ms) const;

 private:
  bool all_at_max(const MemberMask& exclude) const;
  bool take(int m);

  BalancerRuntime& b_;
  std::span<std::atomic<uint32_t>> records_;
  MemberMask tried_;
  int attempts_ = 0;
  int member_ = -1;
  int stale_member_ = -1;
  bool fresh_ = false;
  uint64_t queue_deadline_ = 0;
  const char* why_ = nullptr;
  // The busy count held on member_ (held_: the scoreboard record, if any).
  bool acquired_ = false;
  std::atomic<uint32_t>* held_ = nullptr;
  uint32_t held_ref_ = 0;
};

}  // namespace pillar::proxy
