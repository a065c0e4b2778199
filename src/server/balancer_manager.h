// SetHandler balancer-manager: a page with every balancer and member
// (status, health, requests, traffic) and forms to drain, undrain, enable,
// disable and set weights, as Apache's balancer-manager. Changes are form
// POSTs (fields in the body) carrying the node's nonce (a page from another
// origin cannot make them); guard the location with Require.
#pragma once
#include "http/handler.h"
#include "proxy/member_table.h"

namespace pillar::server {

class Runtime;

class BalancerManager final : public http::Handler {
 public:
  BalancerManager(const Runtime& rt, const proxy::MemberTable* table) : rt_(rt), table_(table) {}
  void handle(const http::RequestContext& ctx, http::Response& resp) override;
  // A form POST is a few hundred bytes; anything much larger is not one.
  size_t body_limit() const override { return 8 * 1024; }

 private:
  const Runtime& rt_;
  const proxy::MemberTable* table_;
};

}  // namespace pillar::server
