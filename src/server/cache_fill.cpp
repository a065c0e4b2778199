#include "server/cache_fill.h"

#include <span>
#include <string>
#include <vector>

#include "cache/revalidate.h"
#include "cache/targeted.h"
#include "core/clock.h"
#include "core/log.h"
#include "server/cache_notifier.h"
#include "server/cache_exchange.h"
#include "server/worker_loop.h"

namespace pillar::server {

namespace {

// `cc`: the directives in force for the response (its targeted field's when
// one is, RFC 9213 §2.2, else Cache-Control's).
cache::ObjectMeta meta_from(const cache::StoreDecision& d, const http::ResponseHead& resp, int64_t now_ms, uint16_t vhost,
                            int64_t body_expected, std::span<const std::string> targets) {
  cache::ObjectMeta m;
  m.stored_at = now_ms / 1000;
  m.stored_ms = now_ms;
  m.initial_age = d.initial_age;
  m.ttl = d.ttl;
  m.grace = d.grace;
  m.stale_if_error = d.stale_if_error;
  m.body_expected = body_expected;
  m.status = static_cast<uint16_t>(resp.status);
  m.vhost = vhost;
  m.revalidate_always = d.revalidate_always;
  auto cc = cache::effective_cache_control(resp, targets);
  m.auth_ok = cc.public_ || cc.s_maxage >= 0 || cc.must_revalidate;
  m.must_revalidate = cc.must_revalidate || cc.proxy_revalidate || cc.s_maxage >= 0;
  return m;
}

}  // namespace

void CacheFill::wake() {
  if (w && w->cache_notifier()) w->cache_notifier()->notify(store->waiter_mask(busy));
}

void CacheFill::on_head(const http::ResponseHead& resp, std::string_view lines) {
  const int64_t now_ms = core::wall_ms(), now = now_ms / 1000;
  int64_t length = resp.framing == http::ResponseHead::Framing::ContentLength ? static_cast<int64_t>(resp.content_length) : -1;
  // The response delay counts whole seconds elapsed, not second boundaries crossed.
  auto d = cache::decide_store(*req, resp, now - (now_ms - request_ms) / 1000, now, length, cache_settings(*cfg),
                               cfg->targets);
  if (!d.store) {
    // An error is not a property of the URL: only a response that is
    // uncacheable by nature marks the key hit-for-pass.
    if (resp.status >= 500 || resp.status == 304) store->abandon(busy);
    else store->make_pass(busy, now_ms + cfg->hit_for_pass * 1000, vhost);
    core::log(core::LogLevel::Debug, "cache", "not stored ({}): {}", d.why, req->target);
    ended = true;
    wake();
    return;
  }
  std::string names = cache::join_vary(resp);
  std::string key = cache::vary_key(names, *req);
  if (!store->set_head(busy, names, key, cache::stored_head(lines, resp, cfg->targets),
                       meta_from(d, resp, now_ms, vhost, length, cfg->targets))) {
    store->abandon(busy);
    ended = true;
    wake();
    return;
  }
  storing = true;
  wake();
}

// The member confirmed the stale copy: a new object gets the stale head
// updated with the 304's fields (cache::freshen_head, RFC 9111 §3.2,
// §4.3.4) and the stale body, before anyone is answered, so the client that
// caused the revalidation already sees the 304's Cache-Control, ETag,
// Expires and other fields. A 304 whose validators contradict the stored
// copy's (cache::freshens) changes nothing: the stale copy answers this one
// request as it is and the next one fetches again.
void CacheFill::on_not_modified(const http::ResponseHead& resp) {
  const int64_t now_ms = core::wall_ms(), now = now_ms / 1000;
  revalidated = true;
  ended = true;
  cache::Snapshot ss = store->snapshot(stale);
  std::string old = store->read_string(stale, uint64_t{ss.key_len} + ss.names_len + ss.vary_len, ss.head_len);
  if (!cache::freshens(resp, old)) {
    core::log(core::LogLevel::Info, "cache", "a 304 whose validators do not match the stored copy: {}", req->target);
    store->abandon(busy);
    busy = stale;
    wake();
    return;
  }
  std::string lines = cache::freshen_head(old, resp, cfg->targets);
  http::ResponseHead merged;
  merged.status = ss.meta.status;
  merged.framing = http::ResponseHead::Framing::ContentLength;
  merged.content_length = ss.body_len;
  cache::head_fields(lines, merged.headers);
  auto d = cache::decide_store(*req, merged, now - (now_ms - request_ms) / 1000, now, static_cast<int64_t>(ss.body_len),
                               cache_settings(*cfg), cfg->targets);
  std::string names = cache::join_vary(merged);
  if (d.store && store->set_head(busy, names, cache::vary_key(names, *req), lines,
                                 meta_from(d, merged, now_ms, vhost, static_cast<int64_t>(ss.body_len), cfg->targets)) &&
      store->copy_body(stale, busy)) {
    store->finish(busy);
  } else {
    store->abandon(busy);
    busy = stale;  // still valid for this one answer
  }
  wake();
}

void CacheFill::on_body(std::string_view data) {
  if (!storing || data.empty()) return;
  body += data.size();
  if (body > cfg->max_object_size || !store->append(busy, data)) {
    store->abandon(busy);  // too large after all, or no room: waiters go to the member themselves
    storing = false;
    ended = true;
  }
  wake();
}

void CacheFill::end(bool complete) {
  if (ended) return;
  ended = true;
  if (storing && complete) store->finish(busy);
  else store->abandon(busy);  // a cut or failed response is never kept
  storing = false;
  wake();
}

}  // namespace pillar::server
