#include "server/cache_fill.h"

#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/log.h"
#include "server/cache_notifier.h"
#include "server/cache_phase.h"
#include "server/worker_loop.h"

namespace pillar::server {

namespace {

// Fields a stored head never keeps (cache::never_stored, RFC 9111 §3.1).
bool not_stored(std::string_view name) { return cache::never_stored(name); }

cache::ObjectMeta meta_from(const cache::StoreDecision& d, const http::ResponseHead& resp, int64_t now_ms, uint16_t vhost,
                            int64_t body_expected) {
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
  auto cc = cache::response_cache_control(resp);
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
  auto d = cache::decide_store(*req, resp, now - (now_ms - request_ms) / 1000, now, length, cache_settings(*cfg));
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
  if (!store->set_head(busy, names, key, cache::stored_head(lines, resp), meta_from(d, resp, now_ms, vhost, length))) {
    store->abandon(busy);
    ended = true;
    wake();
    return;
  }
  storing = true;
  wake();
}

// The member confirmed the stale copy: a new object gets the stale head
// updated with the 304's fields (RFC 9111 §4.3.4) and the stale body.
void CacheFill::on_not_modified(const http::ResponseHead& resp) {
  const int64_t now_ms = core::wall_ms(), now = now_ms / 1000;
  revalidated = true;
  ended = true;
  cache::Snapshot ss = store->snapshot(stale);
  std::string old = store->read_string(stale, uint64_t{ss.key_len} + ss.names_len + ss.vary_len, ss.head_len);
  std::vector<std::pair<std::string, std::string>> fields;
  for (std::string_view rest = old; !rest.empty();) {
    size_t end = rest.find("\r\n");
    std::string_view line = rest.substr(0, end);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string_view v = line.substr(colon + 1);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      fields.emplace_back(std::string(line.substr(0, colon)), std::string(v));
    }
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 2);
  }
  for (const auto& f : resp.headers) {
    if (not_stored(f.name)) continue;
    bool replaced = false;
    for (auto it = fields.begin(); it != fields.end();) {
      if (!http::iequals(it->first, f.name)) {
        ++it;
        continue;
      }
      if (!replaced) {
        it->second = std::string(f.value);
        replaced = true;
        ++it;
      } else {
        it = fields.erase(it);
      }
    }
    if (!replaced) fields.emplace_back(std::string(f.name), std::string(f.value));
  }
  http::ResponseHead merged;
  merged.status = ss.meta.status;
  merged.framing = http::ResponseHead::Framing::ContentLength;
  merged.content_length = ss.body_len;
  std::string lines;
  for (const auto& [n, v] : fields) {
    merged.headers.push_back({n, v});
    lines.append(n).append(": ").append(v).append("\r\n");
  }
  auto d = cache::decide_store(*req, merged, now - (now_ms - request_ms) / 1000, now, static_cast<int64_t>(ss.body_len),
                               cache_settings(*cfg));
  std::string names = cache::join_vary(merged);
  if (d.store && store->set_head(busy, names, cache::vary_key(names, *req), lines,
                                 meta_from(d, merged, now_ms, vhost, static_cast<int64_t>(ss.body_len))) &&
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
