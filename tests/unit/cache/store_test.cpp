#include "cache/store.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <vector>

using pillar::cache::BanKind;
using pillar::cache::Handle;
using pillar::cache::kNone;
using pillar::cache::ObjectMeta;
using pillar::cache::ObjState;
using pillar::cache::Snapshot;
using pillar::cache::Store;

namespace {

constexpr int64_t kNow = 1'700'000'000;
constexpr uint64_t kMiB = 1024 * 1024;
constexpr const char* kHead = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n";

using Lookup = Store::Lookup;

bool any_variant(std::string_view, std::string_view) { return true; }
const Store::VaryMatch kAny = any_variant;

// Deterministic bytes of every value (NULs and high bytes included), so a
// misplaced block shows up as a mismatch.
std::string pattern(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 12345;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1103515245u + 12345u;
    s[i] = static_cast<char>(x >> 16);
  }
  return s;
}

std::unique_ptr<Store> make_store(uint64_t bytes) {
  auto s = std::make_unique<Store>();
  std::string err;
  EXPECT_TRUE(s->create(bytes, err)) << err;
  return s;
}

ObjectMeta meta(int64_t ttl, uint16_t vhost = 0, int64_t stored_at = kNow) {
  ObjectMeta m;
  m.stored_at = stored_at;
  m.stored_ms = stored_at * 1000;
  m.ttl = ttl;
  m.status = 200;
  m.vhost = vhost;
  return m;
}

Lookup get(Store& s, std::string_view key, int64_t now = kNow, bool fetch = true, uint32_t max_waiters = 100,
           const Store::VaryMatch& m = kAny, bool force_stale = false, int32_t owner = 1) {
  return s.lookup(key, m, now * 1000, force_stale, fetch, owner, max_waiters);
}

// Appends `body` in uneven chunks (crossing block boundaries at odd places).
bool append_chunked(Store& s, Handle h, std::string_view body) {
  static constexpr size_t kChunks[] = {1, 777, 2048, 3001, 5, 4096, 2047};
  size_t k = 0;
  while (!body.empty()) {
    size_t n = std::min(body.size(), kChunks[k++ % std::size(kChunks)]);
    if (!s.append(h, body.substr(0, n))) return false;
    body.remove_prefix(n);
  }
  return true;
}

// Fills the Busy object `h` (from a Fetch) and finishes it; the fetcher's pin is released.
void fill(Store& s, Handle h, std::string_view body, const ObjectMeta& m, std::string_view names = {},
          std::string_view vary = {}, std::string_view head = kHead) {
  ASSERT_TRUE(h);
  ASSERT_TRUE(s.set_head(h, names, vary, head, m));
  ASSERT_TRUE(append_chunked(s, h, body));
  s.finish(h);
  s.release(h);
}

// Stores `body` under `key` (no Vary).
void put(Store& s, std::string_view key, std::string_view body, const ObjectMeta& m) {
  Lookup r = get(s, key, kNow, true, 100, kAny, /*force_stale=*/true);
  if (r.ready) s.release(r.ready);
  ASSERT_EQ(r.kind, Lookup::Fetch) << key;
  fill(s, r.busy, body, m);
}

std::string body_of(const Store& s, Handle h) {
  Snapshot snap = s.snapshot(h);
  return s.read_string(h, snap.body_offset(), snap.body_len);
}

std::string head_of(const Store& s, Handle h) {
  Snapshot snap = s.snapshot(h);
  return s.read_string(h, uint64_t{snap.key_len} + snap.names_len + snap.vary_len, snap.head_len);
}

// Hit → the body (pin released); anything else → "<kind N>".
std::string hit_body(Store& s, std::string_view key, int64_t now = kNow) {
  Lookup r = get(s, key, now, /*fetch=*/false);
  std::string out;
  if (r.kind == Lookup::Hit) out = body_of(s, r.ready);
  else out = "<kind " + std::to_string(static_cast<int>(r.kind)) + ">";
  s.release(r.ready);
  s.release(r.busy);
  return out;
}

bool is_hit(Store& s, std::string_view key, int64_t now = kNow) {
  Lookup r = get(s, key, now, /*fetch=*/false);
  s.release(r.ready);
  s.release(r.busy);
  return r.kind == Lookup::Hit;
}

std::string key_of(std::string_view host, std::string_view target) {
  return std::string(host) + "\n" + std::string(target);
}

}  // namespace

// ---------------------------------------------------------------- create

TEST(StoreCreate, RejectsTooSmallSizes) {
  for (uint64_t bytes : {uint64_t{0}, uint64_t{1}, uint64_t{4096}, uint64_t{64 * 1024}}) {
    Store s;
    std::string err;
    EXPECT_FALSE(s.create(bytes, err)) << bytes;
    EXPECT_NE(err.find("too small"), std::string::npos) << err;
    EXPECT_FALSE(s.ready());
    EXPECT_EQ(s.stats().bytes_total, 0u);
  }
}

TEST(StoreCreate, MinimumFromErrorMessageIsAccepted) {
  Store small;
  std::string err;
  ASSERT_FALSE(small.create(1024, err));
  size_t at = err.find("at least ");
  ASSERT_NE(at, std::string::npos) << err;
  uint64_t kib = std::strtoull(err.c_str() + at + 9, nullptr, 10);
  ASSERT_GT(kib, 0u);
  Store s;
  std::string err2;
  ASSERT_TRUE(s.create(kib * 1024, err2)) << err2;
  EXPECT_TRUE(s.ready());
  EXPECT_LE(s.size(), kib * 1024);
  EXPECT_LE(s.stats().bytes_total, kib * 1024);
  EXPECT_GE(s.stats().bytes_total, 64u * Store::kBlockSize);
  // Usable: one small object goes in and comes back.
  put(s, key_of("h", "/x"), "hello", meta(60));
  EXPECT_EQ(hit_body(s, key_of("h", "/x")), "hello");
}

TEST(StoreCreate, SizesStayWithinRequested) {
  for (uint64_t bytes : {300 * uint64_t{1024}, kMiB, 4 * kMiB + 123, 64 * kMiB + 1}) {
    Store s;
    std::string err;
    ASSERT_TRUE(s.create(bytes, err)) << bytes << ": " << err;
    EXPECT_TRUE(s.ready());
    EXPECT_LE(s.size(), bytes);
    auto st = s.stats();
    EXPECT_LE(st.bytes_total, bytes);
    EXPECT_GT(st.bytes_total, bytes / 2) << "most of the mapping should be blocks";
    EXPECT_EQ(st.bytes_total % Store::kBlockSize, 0u);
    EXPECT_EQ(st.objects, 0u);
    EXPECT_EQ(st.bytes_used, 0u);
    EXPECT_EQ(st.evictions, 0u);
    EXPECT_EQ(st.bans, 0u);
  }
}

TEST(StoreCreate, UncreatedStoreIsInert) {
  Store s;
  EXPECT_FALSE(s.ready());
  Lookup r = get(s, key_of("h", "/"));
  EXPECT_EQ(r.kind, Lookup::Miss);
  EXPECT_FALSE(r.ready);
  EXPECT_FALSE(r.busy);
  EXPECT_EQ(s.purge("h\n/"), 0u);
  EXPECT_EQ(s.ban(BanKind::Host, "h", ""), 0u);
  EXPECT_EQ(s.evictions(1), 0u);
  s.release(Handle{});
  s.abandon_owned_by(1);
}

// ---------------------------------------------------------------- fetch / hit

TEST(StoreBasic, MissWithoutFetchThenFetch) {
  auto s = make_store(4 * kMiB);
  const std::string key = key_of("example.com", "/a");
  Lookup r = get(*s, key, kNow, /*fetch=*/false);
  EXPECT_EQ(r.kind, Lookup::Miss);
  EXPECT_FALSE(r.ready);
  EXPECT_FALSE(r.busy);
  EXPECT_EQ(s->stats().objects, 0u);

  r = get(*s, key);
  ASSERT_EQ(r.kind, Lookup::Fetch);
  EXPECT_FALSE(r.ready);
  ASSERT_TRUE(r.busy);
  Snapshot snap = s->snapshot(r.busy);
  EXPECT_EQ(snap.state, ObjState::Busy);
  EXPECT_FALSE(snap.head_ready);
  EXPECT_EQ(snap.key_len, key.size());
  EXPECT_EQ(snap.body_len, 0u);
  EXPECT_EQ(s->read_string(r.busy, 0, key.size()), key);
  EXPECT_EQ(s->stats().objects, 1u);
  // append before set_head is refused
  EXPECT_FALSE(s->append(r.busy, "x"));
  s->abandon(r.busy);
  s->release(r.busy);
  EXPECT_EQ(s->stats().objects, 0u);
  EXPECT_EQ(s->stats().bytes_used, 0u);
}

class StoreBodySize : public ::testing::TestWithParam<size_t> {};

TEST_P(StoreBodySize, RoundTrip) {
  const size_t n = GetParam();
  auto s = make_store(4 * kMiB);
  const std::string key = key_of("example.com", "/body/" + std::to_string(n));
  const std::string body = pattern(n, static_cast<uint32_t>(n));
  Lookup r = get(*s, key);
  ASSERT_EQ(r.kind, Lookup::Fetch);
  ObjectMeta m = meta(60, 7);
  m.body_expected = static_cast<int64_t>(n);
  m.status = 203;
  ASSERT_TRUE(s->set_head(r.busy, {}, {}, kHead, m));
  Snapshot busy = s->snapshot(r.busy);
  EXPECT_EQ(busy.state, ObjState::Busy);
  EXPECT_TRUE(busy.head_ready);
  EXPECT_EQ(busy.body_len, 0u);
  ASSERT_TRUE(append_chunked(*s, r.busy, body));
  EXPECT_EQ(s->snapshot(r.busy).body_len, n);
  EXPECT_EQ(s->snapshot(r.busy).state, ObjState::Busy);
  s->finish(r.busy);
  EXPECT_EQ(s->snapshot(r.busy).state, ObjState::Ready);
  s->release(r.busy);

  Lookup hit = get(*s, key);
  ASSERT_EQ(hit.kind, Lookup::Hit);
  EXPECT_TRUE(hit.fresh);
  EXPECT_FALSE(hit.busy);
  ASSERT_TRUE(hit.ready);
  Snapshot snap = s->snapshot(hit.ready);
  EXPECT_EQ(snap.state, ObjState::Ready);
  EXPECT_EQ(snap.body_len, n);
  EXPECT_EQ(snap.key_len, key.size());
  EXPECT_EQ(snap.names_len, 0u);
  EXPECT_EQ(snap.vary_len, 0u);
  EXPECT_EQ(snap.head_len, std::string_view(kHead).size());
  EXPECT_EQ(snap.body_offset(), key.size() + std::string_view(kHead).size());
  EXPECT_EQ(snap.meta.status, 203);
  EXPECT_EQ(snap.meta.vhost, 7);
  EXPECT_EQ(snap.meta.body_expected, static_cast<int64_t>(n));
  EXPECT_EQ(head_of(*s, hit.ready), kHead);
  EXPECT_TRUE(body_of(*s, hit.ready) == body) << "body of " << n << " bytes differs";
  // Partial reads at arbitrary offsets (read() into a buffer).
  if (n > 10) {
    std::string part(n / 3, '\0');
    s->read(hit.ready, snap.body_offset() + n / 2, part.data(), part.size());
    EXPECT_TRUE(part == body.substr(n / 2, n / 3));
  }
  uint64_t blocks = (key.size() + std::string_view(kHead).size() + n + Store::kBlockSize - 1) / Store::kBlockSize;
  EXPECT_EQ(s->stats().bytes_used, blocks * Store::kBlockSize);
  s->release(hit.ready);
}

INSTANTIATE_TEST_SUITE_P(StoreSizes, StoreBodySize,
                         ::testing::Values(size_t{0}, size_t{1}, size_t{2047}, size_t{2048}, size_t{2049}, size_t{10 * 1024},
                                           size_t{100 * 1024}, size_t{1024 * 1024 + 3}));

TEST(StoreBasic, LongKeyAcrossBlocks) {
  auto s = make_store(4 * kMiB);
  const std::string a = key_of("example.com", "/" + std::string(5000, 'a'));
  std::string b = a;
  b.back() = 'b';  // differs only in the last byte, in the third block
  put(*s, a, "A-body", meta(60));
  EXPECT_EQ(hit_body(*s, a), "A-body");
  EXPECT_FALSE(is_hit(*s, b));
  put(*s, b, "B-body", meta(60));
  EXPECT_EQ(hit_body(*s, a), "A-body");
  EXPECT_EQ(hit_body(*s, b), "B-body");
}

TEST(StoreBasic, EmptyKeyWorks) {
  auto s = make_store(4 * kMiB);
  put(*s, "", "empty-key", meta(60));
  EXPECT_EQ(hit_body(*s, ""), "empty-key");
  EXPECT_FALSE(is_hit(*s, "\n"));
}

TEST(StoreBasic, SetHeadAgainReplacesEarlierHead) {
  auto s = make_store(4 * kMiB);
  const std::string key = key_of("h", "/retry");
  Lookup r = get(*s, key);
  ASSERT_EQ(r.kind, Lookup::Fetch);
  ASSERT_TRUE(s->set_head(r.busy, "accept", "text", std::string(5000, 'H'), meta(60)));
  uint64_t used_long = s->stats().bytes_used;
  ASSERT_TRUE(s->set_head(r.busy, {}, {}, "short", meta(60)));
  EXPECT_LT(s->stats().bytes_used, used_long);
  EXPECT_EQ(s->stats().bytes_used, Store::kBlockSize);
  ASSERT_TRUE(s->append(r.busy, "body!"));
  Snapshot snap = s->snapshot(r.busy);
  EXPECT_EQ(snap.names_len, 0u);
  EXPECT_EQ(snap.vary_len, 0u);
  EXPECT_EQ(snap.head_len, 5u);
  EXPECT_EQ(head_of(*s, r.busy), "short");
  EXPECT_EQ(body_of(*s, r.busy), "body!");
  s->finish(r.busy);
  s->release(r.busy);
  EXPECT_EQ(hit_body(*s, key), "body!");
}

TEST(StoreBasic, SetHeadRetryWithKeyFillingWholeBlock) {
  auto s = make_store(4 * kMiB);
  // A key of exactly one block: the head starts a fresh block after truncation.
  std::string key = key_of("h", "/");
  key += std::string(Store::kBlockSize - key.size(), 'k');
  ASSERT_EQ(key.size(), Store::kBlockSize);
  Lookup r = get(*s, key);
  ASSERT_EQ(r.kind, Lookup::Fetch);
  ASSERT_TRUE(s->set_head(r.busy, {}, {}, std::string(3000, 'x'), meta(60)));
  ASSERT_TRUE(s->set_head(r.busy, {}, {}, "head2", meta(60)));
  EXPECT_EQ(s->stats().bytes_used, 2u * Store::kBlockSize);
  const std::string body = pattern(5000, 3);
  ASSERT_TRUE(append_chunked(*s, r.busy, body));
  s->finish(r.busy);
  s->release(r.busy);
  Lookup hit = get(*s, key);
  ASSERT_EQ(hit.kind, Lookup::Hit);
  EXPECT_EQ(s->read_string(hit.ready, 0, key.size()), key);
  EXPECT_EQ(head_of(*s, hit.ready), "head2");
  EXPECT_TRUE(body_of(*s, hit.ready) == body);
  s->release(hit.ready);
}

// ---------------------------------------------------------------- freshness

TEST(StoreFreshness, FreshUntilTtlThenStale) {
  auto s = make_store(4 * kMiB);
  const std::string key = key_of("h", "/ttl");
  ObjectMeta m = meta(60);
  m.initial_age = 10;  // fresh while 10 + (now - stored_at) < 60
  put(*s, key, "v1", m);

  Lookup r = get(*s, key, kNow, false);
  EXPECT_EQ(r.kind, Lookup::Hit);
  EXPECT_TRUE(r.fresh);
  s->release(r.ready);

  r = get(*s, key, kNow + 49, false);
  EXPECT_EQ(r.kind, Lookup::Hit);
  EXPECT_TRUE(r.fresh);
  s->release(r.ready);

  // Stale without fetch: Miss, but the stale copy is offered (pinned).
  r = get(*s, key, kNow + 50, false);
  EXPECT_EQ(r.kind, Lookup::Miss);
  EXPECT_FALSE(r.fresh);
  ASSERT_TRUE(r.ready);
  EXPECT_EQ(body_of(*s, r.ready), "v1");
  s->release(r.ready);

  // Stale with fetch: Fetch (revalidate) with the stale copy alongside.
  r = get(*s, key, kNow + 1000, true);
  EXPECT_EQ(r.kind, Lookup::Fetch);
  EXPECT_FALSE(r.fresh);
  ASSERT_TRUE(r.ready);
  ASSERT_TRUE(r.busy);
  EXPECT_EQ(body_of(*s, r.ready), "v1");
  fill(*s, r.busy, "v2", meta(60, 0, kNow + 1000));
  s->release(r.ready);
  EXPECT_EQ(hit_body(*s, key, kNow + 1000), "v2");
  EXPECT_EQ(s->stats().objects, 1u) << "the stale copy is superseded";
}

TEST(StoreFreshness, ForceStaleAndRevalidateAlways) {
  auto s = make_store(4 * kMiB);
  const std::string a = key_of("h", "/a"), b = key_of("h", "/b");
  put(*s, a, "A", meta(3600));
  ObjectMeta m = meta(3600);
  m.revalidate_always = true;
  put(*s, b, "B", m);

  Lookup r = get(*s, a, kNow, false, 100, kAny, /*force_stale=*/true);
  EXPECT_EQ(r.kind, Lookup::Miss);
  EXPECT_FALSE(r.fresh);
  EXPECT_TRUE(r.ready);
  s->release(r.ready);

  r = get(*s, b, kNow, false);
  EXPECT_NE(r.kind, Lookup::Hit);
  EXPECT_FALSE(r.fresh);
  ASSERT_TRUE(r.ready);
  EXPECT_TRUE(s->snapshot(r.ready).meta.revalidate_always);
  EXPECT_EQ(body_of(*s, r.ready), "B");
  s->release(r.ready);

  r = get(*s, b, kNow, true);
  EXPECT_EQ(r.kind, Lookup::Fetch);
  EXPECT_TRUE(r.ready);
  s->release(r.ready);
  s->abandon(r.busy);
  s->release(r.busy);
  EXPECT_EQ(hit_body(*s, a), "A");
}

// ---------------------------------------------------------------- coalescing

TEST(StoreCoalescing, SecondLookupWaitsOnBusy) {
  auto s = make_store(4 * kMiB);
  const std::string key = key_of("h", "/busy");
  Lookup f = get(*s, key);
  ASSERT_EQ(f.kind, Lookup::Fetch);
  Lookup w = get(*s, key);
  ASSERT_EQ(w.kind, Lookup::Busy);
  EXPECT_FALSE(w.ready);
  ASSERT_TRUE(w.busy);
  EXPECT_EQ(w.busy.idx, f.busy.idx);
  EXPECT_EQ(w.busy.gen, f.busy.gen);
  EXPECT_EQ(s->stats().objects, 1u);
  // Without fetch it is Busy as well.
  Lookup w2 = get(*s, key, kNow, false);
  EXPECT_EQ(w2.kind, Lookup::Busy);

  // The waiter watches the body grow and sees Ready.
  ASSERT_TRUE(s->set_head(f.busy, {}, {}, kHead, meta(60)));
  ASSERT_TRUE(s->append(f.busy, "abc"));
  Snapshot snap = s->snapshot(w.busy);
  EXPECT_EQ(snap.state, ObjState::Busy);
  EXPECT_EQ(snap.body_len, 3u);
  EXPECT_EQ(s->read_string(w.busy, snap.body_offset(), 3), "abc");
  ASSERT_TRUE(s->append(f.busy, "def"));
  s->finish(f.busy);
  s->release(f.busy);
  snap = s->snapshot(w.busy);
  EXPECT_EQ(snap.state, ObjState::Ready);
  EXPECT_EQ(body_of(*s, w.busy), "abcdef");
  s->release(w.busy);
  s->release(w2.busy);
  EXPECT_EQ(hit_body(*s, key), "abcdef");
}

TEST(StoreCoalescing, MaxWaitersGivesCrowded) {
  auto s = make_store(4 * kMiB);
  const std::string key = key_of("h", "/crowd");
  Lookup f = get(*s, key, kNow, true, 3);
  ASSERT_EQ(f.kind, Lookup::Fetch);
  std::vector<Handle> waiters;
  for (int i = 0; i < 3; ++i) {
    Lookup w = get(*s, key, kNow, true, 3);
    ASSERT_EQ(w.kind, Lookup::Busy) << "waiter " << i;
    waiters.push_back(w.busy);
  }
  Lookup c = get(*s, key, kNow, true, 3);
  EXPECT_EQ(c.kind, Lookup::Crowded);
  EXPECT_FALSE(c.busy) << "Crowded pins nothing";
  EXPECT_FALSE(c.ready);
  EXPECT_EQ(s->stats().objects, 1u) << "Crowded creates no object";
  // A smaller cap is crowded too; one waiter leaving makes room again.
  EXPECT_EQ(get(*s, key, kNow, true, 2).kind, Lookup::Crowded);
  s->release(waiters.back());
  waiters.pop_back();
  Lookup w = get(*s, key, kNow, true, 3);
  EXPECT_EQ(w.kind, Lookup::Busy);
  waiters.push_back(w.busy);
  EXPECT_EQ(get(*s, key, kNow, true, 0).kind, Lookup::Crowded);

  s->abandon(f.busy);
  s->release(f.busy);
  for (Handle h : waiters) s->release(h);
  EXPECT_EQ(s->stats().objects, 0u);
}

TEST(StoreCoalescing, AbandonFailsWaitersAndAllowsRefetch) {
  auto s = make_store(4 * kMiB);
  const std::string key = key_of("h", "/abandon");
  Lookup f = get(*s, key);
  ASSERT_EQ(f.kind, Lookup::Fetch);
  ASSERT_TRUE(s->set_head(f.busy, {}, {}, kHead, meta(60)));
  ASSERT_TRUE(append_chunked(*s, f.busy, pattern(9000, 1)));
  Lookup w = get(*s, key);
  ASSERT_EQ(w.kind, Lookup::Busy);

  s->abandon(f.busy);
  Snapshot snap = s->snapshot(w.busy);
  EXPECT_EQ(snap.state, ObjState::Failed);
  // The data stays until the last pin goes: a waiter may still be sending from it.
  const uint64_t held = s->stats().bytes_used;
  EXPECT_GT(held, Store::kBlockSize);
  // Later writes by the fetcher are refused.
  EXPECT_FALSE(s->append(f.busy, "late"));
  s->finish(f.busy);
  EXPECT_EQ(s->snapshot(w.busy).state, ObjState::Failed);

  Lookup again = get(*s, key);
  ASSERT_EQ(again.kind, Lookup::Fetch);
  EXPECT_TRUE(again.busy.idx != f.busy.idx || again.busy.gen != f.busy.gen);
  s->release(f.busy);
  s->release(w.busy);
  EXPECT_EQ(s->stats().objects, 1u);
  EXPECT_LT(s->stats().bytes_used, held);  // freed with the last pin
  // The failed handle is now stale.
  EXPECT_EQ(s->snapshot(w.busy).state, ObjState::Free);
  fill(*s, again.busy, "ok", meta(60));
  EXPECT_EQ(hit_body(*s, key), "ok");
}

// ---------------------------------------------------------------- Vary

TEST(StoreVary, VariantsSelectedByMatcher) {
  auto s = make_store(4 * kMiB);
  const std::string key = key_of("h", "/vary");
  std::string want;
  std::vector<std::pair<std::string, std::string>> seen;
  Store::VaryMatch match = [&](std::string_view names, std::string_view vkey) {
    seen.emplace_back(names, vkey);
    return vkey == want;
  };

  want = "gzip";
  Lookup r = get(*s, key, kNow, true, 100, match);
  ASSERT_EQ(r.kind, Lookup::Fetch);
  EXPECT_TRUE(seen.empty()) << "nothing to match yet";
  fill(*s, r.busy, "gzip-body", meta(60), "accept-encoding", "gzip");

  want = "br";
  seen.clear();
  r = get(*s, key, kNow, true, 100, match);
  ASSERT_EQ(r.kind, Lookup::Fetch) << "the gzip variant does not match";
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].first, "accept-encoding");
  EXPECT_EQ(seen[0].second, "gzip");
  // Busy with its head known: a request for another variant does not wait on it.
  ASSERT_TRUE(s->set_head(r.busy, "accept-encoding", "br", kHead, meta(60)));
  want = "identity";
  Lookup other = get(*s, key, kNow, false, 100, match);
  EXPECT_EQ(other.kind, Lookup::Miss);
  want = "br";
  Lookup w = get(*s, key, kNow, false, 100, match);
  EXPECT_EQ(w.kind, Lookup::Busy);
  s->release(w.busy);
  ASSERT_TRUE(s->append(r.busy, "br-body"));
  s->finish(r.busy);
  s->release(r.busy);

  for (const char* v : {"gzip", "br"}) {
    want = v;
    seen.clear();
    Lookup h = get(*s, key, kNow, true, 100, match);
    ASSERT_EQ(h.kind, Lookup::Hit) << v;
    EXPECT_EQ(body_of(*s, h.ready), std::string(v) + "-body");
    Snapshot snap = s->snapshot(h.ready);
    EXPECT_EQ(s->read_string(h.ready, snap.key_len, snap.names_len), "accept-encoding");
    EXPECT_EQ(s->read_string(h.ready, snap.key_len + snap.names_len, snap.vary_len), v);
    EXPECT_EQ(head_of(*s, h.ready), kHead);
    ASSERT_FALSE(seen.empty());
    for (auto& [n, k] : seen) {
      EXPECT_EQ(n, "accept-encoding");
      EXPECT_TRUE(k == "gzip" || k == "br") << k;
    }
    s->release(h.ready);
  }
  want = "identity";
  r = get(*s, key, kNow, true, 100, match);
  EXPECT_EQ(r.kind, Lookup::Fetch);
  s->abandon(r.busy);
  s->release(r.busy);
  EXPECT_EQ(s->stats().objects, 2u);
}

TEST(StoreVary, NewCopyOfVariantDropsOlderOnly) {
  auto s = make_store(4 * kMiB);
  const std::string key = key_of("h", "/vary2");
  std::string want;
  int ready_matches = 0;
  Store::VaryMatch match = [&](std::string_view, std::string_view vkey) {
    ++ready_matches;
    return vkey == want;
  };
  for (const char* v : {"gzip", "br"}) {
    want = v;
    Lookup r = get(*s, key, kNow, true, 100, match);
    ASSERT_EQ(r.kind, Lookup::Fetch);
    fill(*s, r.busy, std::string(v) + "-1", meta(60), "accept-encoding", v);
  }
  ASSERT_EQ(s->stats().objects, 2u);

  // Revalidate gzip: the old copy is offered stale and stays pinned meanwhile.
  want = "gzip";
  Lookup r = get(*s, key, kNow, true, 100, match, /*force_stale=*/true);
  ASSERT_EQ(r.kind, Lookup::Fetch);
  ASSERT_TRUE(r.ready);
  Handle old_gzip = r.ready;
  fill(*s, r.busy, "gzip-2", meta(60), "accept-encoding", "gzip");
  // The older copy is out of the index but still readable while pinned.
  EXPECT_EQ(body_of(*s, old_gzip), "gzip-1");
  EXPECT_EQ(s->stats().objects, 3u);
  s->release(old_gzip);
  EXPECT_EQ(s->stats().objects, 2u);
  EXPECT_EQ(s->snapshot(old_gzip).state, ObjState::Free);

  // Exactly one Ready gzip is found: the matcher is asked about 2 objects (gzip-2, br) at most.
  ready_matches = 0;
  want = "gzip";
  Lookup h = get(*s, key, kNow, false, 100, match);
  ASSERT_EQ(h.kind, Lookup::Hit);
  EXPECT_EQ(body_of(*s, h.ready), "gzip-2");
  s->release(h.ready);
  want = "br";
  h = get(*s, key, kNow, false, 100, match);
  ASSERT_EQ(h.kind, Lookup::Hit);
  EXPECT_EQ(body_of(*s, h.ready), "br-1");
  s->release(h.ready);
  EXPECT_LE(ready_matches, 3);
  EXPECT_EQ(s->purge(key), 2u) << "one gzip and one br remain";
}

TEST(StoreVary, FinishWithoutPinDropsOlderImmediately) {
  auto s = make_store(4 * kMiB);
  const std::string key = key_of("h", "/plain");
  put(*s, key, "one", meta(60));
  put(*s, key, "two", meta(60));
  put(*s, key, "three", meta(60));
  EXPECT_EQ(s->stats().objects, 1u);
  EXPECT_EQ(hit_body(*s, key), "three");
  EXPECT_EQ(s->purge(key), 1u);
}

// ---------------------------------------------------------------- hit-for-pass

TEST(StorePass, PassUntilThenFetch) {
  auto s = make_store(4 * kMiB);
  const std::string key = key_of("h", "/pass");
  Lookup r = get(*s, key);
  ASSERT_EQ(r.kind, Lookup::Fetch);
  ASSERT_TRUE(s->set_head(r.busy, {}, {}, kHead, meta(60)));
  ASSERT_TRUE(s->append(r.busy, "uncacheable"));
  s->make_pass(r.busy, (kNow + 30) * 1000, 9);
  Snapshot snap = s->snapshot(r.busy);
  EXPECT_EQ(snap.state, ObjState::Pass);
  EXPECT_FALSE(snap.head_ready);
  EXPECT_EQ(snap.meta.vhost, 9);
  EXPECT_EQ(s->stats().bytes_used, Store::kBlockSize) << "the body is dropped";
  s->release(r.busy);

  for (int64_t t : {kNow, kNow + 1, kNow + 29}) {
    Lookup p = get(*s, key, t, true);
    EXPECT_EQ(p.kind, Lookup::Pass) << t;
    EXPECT_FALSE(p.busy);
    EXPECT_FALSE(p.ready);
  }
  EXPECT_EQ(s->stats().objects, 1u);
  Lookup f = get(*s, key, kNow + 30, true);
  EXPECT_EQ(f.kind, Lookup::Fetch);
  EXPECT_EQ(s->stats().objects, 1u) << "the expired marker is gone";
  fill(*s, f.busy, "now cacheable", meta(60, 0, kNow + 30));
  EXPECT_EQ(hit_body(*s, key, kNow + 31), "now cacheable");
}

TEST(StorePass, FinishDropsPassMarker) {
  auto s = make_store(4 * kMiB);
  const std::string key = key_of("h", "/pass2");
  std::string want = "1";
  Store::VaryMatch match = [&](std::string_view, std::string_view vkey) { return vkey == want; };
  // Two fetches in flight for different variants.
  Lookup a = get(*s, key, kNow, true, 100, match);
  ASSERT_EQ(a.kind, Lookup::Fetch);
  ASSERT_TRUE(s->set_head(a.busy, "x-v", "1", kHead, meta(60)));
  want = "2";
  Lookup b = get(*s, key, kNow, true, 100, match);
  ASSERT_EQ(b.kind, Lookup::Fetch);
  // The first turns out uncacheable.
  s->make_pass(a.busy, (kNow + 1000) * 1000, 0);
  s->release(a.busy);
  EXPECT_EQ(get(*s, key, kNow, true, 100, match).kind, Lookup::Pass);
  // The second is stored: the hit-for-pass marker is superseded.
  fill(*s, b.busy, "cached", meta(60), "x-v", "2");
  EXPECT_EQ(s->stats().objects, 1u);
  Lookup h = get(*s, key, kNow, true, 100, match);
  ASSERT_EQ(h.kind, Lookup::Hit);
  EXPECT_EQ(body_of(*s, h.ready), "cached");
  s->release(h.ready);
}

TEST(StorePass, PurgeRemovesPassMarkerWithoutCountingIt) {
  auto s = make_store(4 * kMiB);
  const std::string key = key_of("h", "/pass3");
  Lookup a = get(*s, key);
  ASSERT_EQ(a.kind, Lookup::Fetch);
  s->make_pass(a.busy, (kNow + 1000) * 1000, 0);
  s->release(a.busy);
  EXPECT_EQ(get(*s, key).kind, Lookup::Pass);
  EXPECT_EQ(s->purge(key), 0u);
  EXPECT_EQ(s->stats().objects, 0u);
  Lookup b = get(*s, key);
  ASSERT_EQ(b.kind, Lookup::Fetch);
  fill(*s, b.busy, "cached", meta(60));
  EXPECT_EQ(hit_body(*s, key), "cached");
}

// ---------------------------------------------------------------- purge

TEST(StorePurge, RemovesAllVariantsPinnedSurviveUntilRelease) {
  auto s = make_store(4 * kMiB);
  const std::string key = key_of("h", "/purge");
  const std::string other = key_of("h", "/other");
  std::string want;
  Store::VaryMatch match = [&](std::string_view, std::string_view vkey) { return vkey == want; };
  const std::string big = pattern(20000, 5);
  for (const char* v : {"a", "b", "c"}) {
    want = v;
    Lookup r = get(*s, key, kNow, true, 100, match);
    ASSERT_EQ(r.kind, Lookup::Fetch);
    fill(*s, r.busy, std::string(v) + big, meta(60), "x-v", v);
  }
  put(*s, other, "other", meta(60));
  ASSERT_EQ(s->stats().objects, 4u);

  want = "b";
  Lookup pinned = get(*s, key, kNow, false, 100, match);
  ASSERT_EQ(pinned.kind, Lookup::Hit);
  const uint64_t used_before = s->stats().bytes_used;

  EXPECT_EQ(s->purge(key), 3u);
  EXPECT_EQ(s->stats().objects, 2u) << "the pinned variant and the other key remain";
  EXPECT_LT(s->stats().bytes_used, used_before);
  Snapshot snap = s->snapshot(pinned.ready);
  EXPECT_EQ(snap.state, ObjState::Ready);
  EXPECT_TRUE(body_of(*s, pinned.ready) == "b" + big);
  for (const char* v : {"a", "b", "c"}) {
    want = v;
    Lookup m = get(*s, key, kNow, false, 100, match);
    EXPECT_EQ(m.kind, Lookup::Miss) << v;
    EXPECT_FALSE(m.ready);
  }
  EXPECT_EQ(s->purge(key), 0u) << "a pinned, purged object is not counted twice";
  s->release(pinned.ready);
  EXPECT_EQ(s->stats().objects, 1u);
  EXPECT_EQ(s->snapshot(pinned.ready).state, ObjState::Free);
  s->release(pinned.ready);  // a stale release is harmless
  EXPECT_EQ(hit_body(*s, other), "other");
  EXPECT_EQ(s->purge(key_of("h", "/nothing")), 0u);
}

// A purge that arrives while the object is still being fetched wins: the
// fetch completes for whoever holds it, but its copy is never found again.
TEST(StorePurge, BusyObjectIsPurgedAndItsCopyNeverServed) {
  auto s = make_store(4 * kMiB);
  const std::string key = key_of("h", "/inflight");
  Lookup f = get(*s, key);
  ASSERT_EQ(f.kind, Lookup::Fetch);
  Lookup w = get(*s, key, kNow, false);
  ASSERT_EQ(w.kind, Lookup::Busy);
  EXPECT_EQ(s->purge(key), 1u);
  fill(*s, f.busy, "fetched", meta(60));
  // The waiter still gets the body it waited for...
  Snapshot snap = s->snapshot(w.busy);
  EXPECT_EQ(snap.state, ObjState::Ready);
  EXPECT_EQ(s->read_string(w.busy, snap.body_offset(), snap.body_len), "fetched");
  // ...but the purged copy is not a hit, and goes with the last pin.
  EXPECT_EQ(get(*s, key, kNow, false).kind, Lookup::Miss);
  s->release(w.busy);
  s->release(f.busy);
  EXPECT_EQ(s->stats().objects, 0u);
  Lookup again = get(*s, key);
  EXPECT_EQ(again.kind, Lookup::Fetch);
}

// ---------------------------------------------------------------- bans

TEST(StoreBan, HostBan) {
  auto s = make_store(4 * kMiB);
  put(*s, key_of("a.com", "/x"), "ax", meta(60));
  put(*s, key_of("a.com", "/y"), "ay", meta(60));
  put(*s, key_of("b.com", "/x"), "bx", meta(60));
  uint64_t seq = s->ban(BanKind::Host, "a.com", "");
  EXPECT_GT(seq, 0u);
  EXPECT_EQ(s->stats().bans, 1u);
  EXPECT_FALSE(is_hit(*s, key_of("a.com", "/x")));
  EXPECT_FALSE(is_hit(*s, key_of("a.com", "/y")));
  EXPECT_EQ(hit_body(*s, key_of("b.com", "/x")), "bx");
  EXPECT_EQ(s->stats().objects, 1u) << "banned objects are freed when met";
  uint64_t seq2 = s->ban(BanKind::Host, "zzz", "");
  EXPECT_GT(seq2, seq);
}

TEST(StoreBan, HostBanWithoutHostMatchesEverything) {
  auto s = make_store(4 * kMiB);
  put(*s, key_of("a.com", "/x"), "ax", meta(60));
  put(*s, key_of("b.com", "/x"), "bx", meta(60));
  ASSERT_GT(s->ban(BanKind::Host, "", ""), 0u);
  EXPECT_FALSE(is_hit(*s, key_of("a.com", "/x")));
  EXPECT_FALSE(is_hit(*s, key_of("b.com", "/x")));
}

TEST(StoreBan, PrefixWithAndWithoutHost) {
  auto s = make_store(4 * kMiB);
  for (const char* h : {"a.com", "b.com"})
    for (const char* t : {"/img/1.png", "/img2", "/css/1.css", "/"}) put(*s, key_of(h, t), std::string(h) + t, meta(60));

  ASSERT_GT(s->ban(BanKind::Prefix, "a.com", "/img/"), 0u);
  EXPECT_FALSE(is_hit(*s, key_of("a.com", "/img/1.png")));
  EXPECT_TRUE(is_hit(*s, key_of("a.com", "/img2")));
  EXPECT_TRUE(is_hit(*s, key_of("a.com", "/css/1.css")));
  EXPECT_TRUE(is_hit(*s, key_of("b.com", "/img/1.png")));

  ASSERT_GT(s->ban(BanKind::Prefix, "", "/img"), 0u);
  EXPECT_FALSE(is_hit(*s, key_of("a.com", "/img2")));
  EXPECT_FALSE(is_hit(*s, key_of("b.com", "/img/1.png")));
  EXPECT_FALSE(is_hit(*s, key_of("b.com", "/img2")));
  EXPECT_EQ(hit_body(*s, key_of("a.com", "/css/1.css")), "a.com/css/1.css");
  EXPECT_EQ(hit_body(*s, key_of("b.com", "/css/1.css")), "b.com/css/1.css");
  EXPECT_TRUE(is_hit(*s, key_of("a.com", "/")));
  EXPECT_TRUE(is_hit(*s, key_of("b.com", "/")));

  // "/" is a prefix of every target.
  ASSERT_GT(s->ban(BanKind::Prefix, "b.com", "/"), 0u);
  EXPECT_FALSE(is_hit(*s, key_of("b.com", "/")));
  EXPECT_FALSE(is_hit(*s, key_of("b.com", "/css/1.css")));
  EXPECT_TRUE(is_hit(*s, key_of("a.com", "/")));
}

TEST(StoreBan, RegexExtendedSyntax) {
  auto s = make_store(4 * kMiB);
  for (const char* t : {"/a.png", "/b.jpeg", "/c.jpg", "/d.css", "/png/e.html", "/item/123", "/item/abc"})
    put(*s, key_of("a.com", t), t, meta(60));
  put(*s, key_of("b.com", "/a.png"), "b-png", meta(60));

  ASSERT_GT(s->ban(BanKind::Regex, "a.com", "\\.(png|jpe?g)$"), 0u);
  EXPECT_FALSE(is_hit(*s, key_of("a.com", "/a.png")));
  EXPECT_FALSE(is_hit(*s, key_of("a.com", "/b.jpeg")));
  EXPECT_FALSE(is_hit(*s, key_of("a.com", "/c.jpg")));
  EXPECT_TRUE(is_hit(*s, key_of("a.com", "/d.css")));
  EXPECT_TRUE(is_hit(*s, key_of("a.com", "/png/e.html")));
  EXPECT_TRUE(is_hit(*s, key_of("b.com", "/a.png"))) << "host-limited";

  // POSIX classes and interval expressions (ERE), searched anywhere in the target.
  ASSERT_GT(s->ban(BanKind::Regex, "", "/item/[[:digit:]]{3}"), 0u);
  EXPECT_FALSE(is_hit(*s, key_of("a.com", "/item/123")));
  EXPECT_TRUE(is_hit(*s, key_of("a.com", "/item/abc")));
  EXPECT_TRUE(is_hit(*s, key_of("b.com", "/a.png")));
}

TEST(StoreBan, InvalidOrOversizedBanIsRefused) {
  auto s = make_store(4 * kMiB);
  put(*s, key_of("a.com", "/x"), "ax", meta(60));
  EXPECT_EQ(s->ban(BanKind::Regex, "", "("), 0u);
  EXPECT_EQ(s->ban(BanKind::Regex, "", "[a-"), 0u);
  EXPECT_EQ(s->ban(BanKind::Regex, "a.com", "a{2,1}"), 0u);
  EXPECT_EQ(s->ban(BanKind::Prefix, std::string(256, 'h'), "/"), 0u);
  EXPECT_EQ(s->ban(BanKind::Prefix, "a.com", std::string(512, '/')), 0u);
  EXPECT_EQ(s->stats().bans, 0u);
  EXPECT_EQ(hit_body(*s, key_of("a.com", "/x")), "ax");
  // The longest accepted lengths.
  EXPECT_GT(s->ban(BanKind::Prefix, std::string(255, 'h'), std::string(511, '/')), 0u);
  EXPECT_TRUE(is_hit(*s, key_of("a.com", "/x")));
}

TEST(StoreBan, OnlyObjectsCreatedBeforeTheBan) {
  auto s = make_store(4 * kMiB);
  const std::string key = key_of("a.com", "/x");
  put(*s, key, "old", meta(60));
  ASSERT_GT(s->ban(BanKind::Host, "a.com", ""), 0u);
  put(*s, key_of("a.com", "/y"), "new-y", meta(60));
  EXPECT_EQ(hit_body(*s, key_of("a.com", "/y")), "new-y");
  Lookup r = get(*s, key);
  ASSERT_EQ(r.kind, Lookup::Fetch) << "the old object is banned";
  EXPECT_FALSE(r.ready);
  fill(*s, r.busy, "new", meta(60));
  EXPECT_EQ(hit_body(*s, key), "new");
  EXPECT_EQ(hit_body(*s, key), "new");
  // A pinned banned object stays readable by its reader.
  Lookup pinned = get(*s, key);
  ASSERT_EQ(pinned.kind, Lookup::Hit);
  ASSERT_GT(s->ban(BanKind::Prefix, "", "/x"), 0u);
  EXPECT_FALSE(is_hit(*s, key));
  EXPECT_EQ(body_of(*s, pinned.ready), "new");
  s->release(pinned.ready);
  EXPECT_EQ(s->snapshot(pinned.ready).state, ObjState::Free);
}

TEST(StoreBan, BanAlsoRemovesPassMarker) {
  auto s = make_store(4 * kMiB);
  const std::string key = key_of("a.com", "/p");
  Lookup r = get(*s, key);
  ASSERT_EQ(r.kind, Lookup::Fetch);
  s->make_pass(r.busy, (kNow + 1000) * 1000, 0);
  s->release(r.busy);
  ASSERT_EQ(get(*s, key).kind, Lookup::Pass);
  ASSERT_GT(s->ban(BanKind::Host, "a.com", ""), 0u);
  Lookup f = get(*s, key);
  EXPECT_EQ(f.kind, Lookup::Fetch);
  s->abandon(f.busy);
  s->release(f.busy);
}

// A full ring retires its oldest ban without testing any object against it
// (no ban is evaluated under the store's lock): copies a lookup has checked
// since (hot ones) stay, the unchecked ones are dropped when next met.
TEST(StoreBan, OverflowRetiresOldestBanWithoutMatching) {
  auto s = make_store(8 * kMiB);
  constexpr uint32_t kExtra = 12;
  put(*s, key_of("a.com", "/r/1"), "r", meta(60));
  put(*s, key_of("a.com", "/hot"), "hot", meta(60));
  put(*s, key_of("a.com", "/cold"), "cold", meta(60));
  ASSERT_GT(s->ban(BanKind::Regex, "", "^/r/[0-9]+$"), 0u);
  EXPECT_FALSE(is_hit(*s, key_of("a.com", "/r/1"))) << "the regex ban applies";
  for (uint32_t i = 0; i < Store::kMaxBans + kExtra; ++i) {
    ASSERT_GT(s->ban(BanKind::Host, "zzz", ""), 0u);
    EXPECT_LE(s->stats().bans, Store::kMaxBans);
    ASSERT_TRUE(is_hit(*s, key_of("a.com", "/hot"))) << i;  // checked against every ban as it comes
  }
  EXPECT_EQ(s->stats().bans, Store::kMaxBans);
  EXPECT_EQ(s->stats().objects, 2u) << "making bans scans and frees nothing";
  EXPECT_FALSE(is_hit(*s, key_of("a.com", "/cold"))) << "never checked against the retired bans";
  EXPECT_EQ(s->stats().objects, 1u);
  EXPECT_EQ(hit_body(*s, key_of("a.com", "/hot")), "hot");
  // New objects are untouched by all the held bans.
  put(*s, key_of("a.com", "/cold"), "again", meta(60));
  EXPECT_EQ(hit_body(*s, key_of("a.com", "/cold")), "again");
  put(*s, key_of("a.com", "/r/1"), "r2", meta(60));
  EXPECT_EQ(hit_body(*s, key_of("a.com", "/r/1")), "r2");
}

// RE2: a pattern that makes a backtracking matcher run for minutes on a
// long target is matched in linear time.
TEST(StoreBan, PathologicalRegexIsLinear) {
  auto s = make_store(4 * kMiB);
  const std::string key = key_of("a.com", "/q?" + std::string(4000, 'a'));
  put(*s, key, "long", meta(60));
  ASSERT_GT(s->ban(BanKind::Regex, "", "(a*)*b"), 0u);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(hit_body(*s, key), "long");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(500));
  ASSERT_GT(s->ban(BanKind::Regex, "", "(a*)*$"), 0u);
  EXPECT_FALSE(is_hit(*s, key));
  std::string why;
  EXPECT_EQ(s->ban(BanKind::Regex, "", "((", &why), 0u);
  EXPECT_NE(why.find("not a valid regular expression"), std::string::npos) << why;
}

// A ban made between a lookup's two rounds is not missed: the copy is
// checked against it by the next lookup.
TEST(StoreBan, BanJudgedOutsideTheLockStillApplies) {
  auto s = make_store(4 * kMiB);
  const std::string key = key_of("a.com", "/x");
  put(*s, key, "x", meta(60));
  ASSERT_GT(s->ban(BanKind::Prefix, "", "/y"), 0u);
  EXPECT_TRUE(is_hit(*s, key));
  ASSERT_GT(s->ban(BanKind::Prefix, "", "/x"), 0u);
  EXPECT_FALSE(is_hit(*s, key));
}

// ---------------------------------------------------------------- pins in slot cells

// The store records each pin in the caller's cells as it takes it, and a
// cell is released once however often release_cell runs on it (the worker
// and the master reaping it cannot both release one pin).
TEST(StorePins, LookupRecordsPinsAndCellsReleaseOnce) {
  auto s = make_store(4 * kMiB);
  const std::string key = key_of("a.com", "/pin");
  put(*s, key, "p", meta(60));
  std::atomic<uint64_t> a[2]{}, b[2]{};
  Lookup ra = s->lookup(key, kAny, kNow * 1000, false, false, 1, 100, 0, INT64_MAX, a);
  Lookup rb = s->lookup(key, kAny, kNow * 1000, false, false, 1, 100, 0, INT64_MAX, b);
  ASSERT_EQ(ra.kind, Lookup::Hit);
  EXPECT_EQ(a[0].load(), ra.ready.pack());
  EXPECT_EQ(a[1].load(), 0u);
  EXPECT_EQ(b[0].load(), rb.ready.pack());
  s->release_cell(a[0]);
  s->release_cell(a[0]);  // again (as the master would after the worker): a no-op
  EXPECT_EQ(a[0].load(), 0u);
  EXPECT_EQ(s->purge(key), 1u);
  EXPECT_EQ(s->stats().objects, 1u) << "b's pin still holds it";
  EXPECT_EQ(body_of(*s, rb.ready), "p");
  s->release_cell(b[0]);
  EXPECT_EQ(s->stats().objects, 0u);

  // A fetch records its Busy object in cell 1; pin() records where it is told.
  Lookup f = s->lookup(key, kAny, kNow * 1000, false, true, 1, 100, 0, INT64_MAX, a);
  ASSERT_EQ(f.kind, Lookup::Fetch);
  EXPECT_EQ(a[1].load(), f.busy.pack());
  ASSERT_TRUE(s->pin(f.busy, &b[1]));
  EXPECT_EQ(b[1].load(), f.busy.pack());
  s->abandon(f.busy);
  s->release_cell(a[1]);
  EXPECT_EQ(s->stats().objects, 1u);
  s->release_cell(b[1]);
  EXPECT_EQ(s->stats().objects, 0u);
}

// The master returns a reaped worker's pins without waiting on the lock.
TEST(StorePins, ReapedPinsAreReturned) {
  auto s = make_store(4 * kMiB);
  const std::string key = key_of("a.com", "/r");
  put(*s, key, "r", meta(60));
  Lookup r = get(*s, key);
  ASSERT_EQ(r.kind, Lookup::Hit);
  Lookup f = get(*s, key_of("a.com", "/busy"), kNow, true, 100, kAny, false, /*owner=*/77);
  ASSERT_EQ(f.kind, Lookup::Fetch);
  EXPECT_EQ(s->purge(key), 1u);
  EXPECT_EQ(s->stats().objects, 2u);
  EXPECT_FALSE(s->reaped(77, {r.ready.pack(), f.busy.pack()})) << "nothing left pending";
  EXPECT_EQ(s->stats().objects, 0u) << "the pin returned, the fetch failed and freed";
}

// ---------------------------------------------------------------- eviction

namespace {

std::string ekey(uint32_t i) { return key_of("evict.example", "/o/" + std::to_string(i)); }

// Blocks taken by one 10 KiB object under ekey(i) (i < 1000) with kHead.
uint64_t blocks_per_10k() {
  return (ekey(999).size() + std::string_view(kHead).size() + 10 * 1024 + Store::kBlockSize - 1) / Store::kBlockSize;
}

}  // namespace

TEST(StoreEviction, StaysWithinSizeAndEvictsOldestFirst) {
  auto s = make_store(kMiB);
  const uint64_t total = s->stats().bytes_total;
  const uint32_t cap = static_cast<uint32_t>(total / (blocks_per_10k() * Store::kBlockSize));
  ASSERT_GT(cap, 10u);
  const uint32_t n = 3 * cap;
  for (uint32_t i = 0; i < n; ++i) {
    put(*s, ekey(i), pattern(10 * 1024, i), meta(3600, static_cast<uint16_t>(1 + i % 3)));
    auto st = s->stats();
    ASSERT_LE(st.bytes_used, st.bytes_total) << i;
    if (i < cap) {
      ASSERT_EQ(st.evictions, 0u) << "evicted before the store was full, at " << i;
    }
  }
  auto st = s->stats();
  const uint64_t evicted = st.evictions;
  ASSERT_GT(evicted, 0u);
  ASSERT_LT(evicted, n);
  EXPECT_EQ(st.objects, n - evicted);
  // Per-vhost counts: exactly the oldest `evicted` objects went.
  uint64_t per[4] = {0, 0, 0, 0};
  for (uint32_t i = 0; i < evicted; ++i) ++per[1 + i % 3];
  EXPECT_EQ(s->evictions(0), 0u);
  for (uint32_t v = 1; v <= 3; ++v) EXPECT_EQ(s->evictions(v), per[v]) << v;
  EXPECT_EQ(s->evictions(1) + s->evictions(2) + s->evictions(3), evicted);
  EXPECT_EQ(s->evictions(4), 0u);
  EXPECT_EQ(s->evictions(Store::kMaxVhosts), 0u);
  for (uint32_t i = 0; i < n; ++i) {
    if (i < evicted) {
      EXPECT_FALSE(is_hit(*s, ekey(i))) << i;
    } else {
      Lookup r = get(*s, ekey(i), kNow, false);
      ASSERT_EQ(r.kind, Lookup::Hit) << i;
      EXPECT_TRUE(body_of(*s, r.ready) == pattern(10 * 1024, i)) << i;
      s->release(r.ready);
    }
  }
}

TEST(StoreEviction, LookupTouchKeepsObjectAlive) {
  auto s = make_store(kMiB);
  const uint32_t cap = static_cast<uint32_t>(s->stats().bytes_total / (blocks_per_10k() * Store::kBlockSize));
  for (uint32_t i = 0; i < cap; ++i) put(*s, ekey(i), pattern(10 * 1024, i), meta(3600, 2));
  ASSERT_EQ(s->stats().evictions, 0u);
  // Touch the two oldest; then push enough new objects to evict a few.
  EXPECT_TRUE(is_hit(*s, ekey(0)));
  EXPECT_TRUE(is_hit(*s, ekey(1)));
  for (uint32_t i = cap; i < cap + 5; ++i) put(*s, ekey(i), pattern(10 * 1024, i), meta(3600, 2));
  const uint64_t evicted = s->stats().evictions;
  ASSERT_GE(evicted, 4u);
  ASSERT_LT(evicted, cap - 2);
  EXPECT_EQ(s->evictions(2), evicted);
  EXPECT_EQ(hit_body(*s, ekey(0)), pattern(10 * 1024, 0));
  EXPECT_EQ(hit_body(*s, ekey(1)), pattern(10 * 1024, 1));
  // The next oldest (2, 3, ...) went instead.
  for (uint32_t i = 2; i < 2 + evicted; ++i) EXPECT_FALSE(is_hit(*s, ekey(i))) << i;
  EXPECT_TRUE(is_hit(*s, ekey(2 + static_cast<uint32_t>(evicted))));
}

TEST(StoreEviction, OutOfRangeVhostCountsUnderZero) {
  auto s = make_store(kMiB);
  const uint32_t cap = static_cast<uint32_t>(s->stats().bytes_total / (blocks_per_10k() * Store::kBlockSize));
  for (uint32_t i = 0; i < cap + 3; ++i) put(*s, ekey(i), pattern(10 * 1024, i), meta(3600, 600));
  EXPECT_GT(s->stats().evictions, 0u);
  EXPECT_EQ(s->evictions(0), s->stats().evictions);
}

TEST(StoreEviction, PinnedObjectsAreNeverEvicted) {
  auto s = make_store(kMiB);
  const uint32_t cap = static_cast<uint32_t>(s->stats().bytes_total / (blocks_per_10k() * Store::kBlockSize));
  put(*s, ekey(0), pattern(10 * 1024, 0), meta(3600, 1));
  put(*s, ekey(1), pattern(10 * 1024, 1), meta(3600, 1));
  Lookup p0 = get(*s, ekey(0), kNow, false);
  ASSERT_EQ(p0.kind, Lookup::Hit);
  // A stale-offered pin counts as well.
  Lookup p1 = get(*s, ekey(1), kNow + 7200, false);
  ASSERT_EQ(p1.kind, Lookup::Miss);
  ASSERT_TRUE(p1.ready);
  for (uint32_t i = 2; i < 4 * cap; ++i) {
    put(*s, ekey(i), pattern(10 * 1024, i), meta(3600, 1));
    ASSERT_LE(s->stats().bytes_used, s->stats().bytes_total);
  }
  EXPECT_GE(s->stats().evictions, 3u * cap);
  EXPECT_EQ(s->snapshot(p0.ready).state, ObjState::Ready);
  EXPECT_TRUE(body_of(*s, p0.ready) == pattern(10 * 1024, 0));
  EXPECT_TRUE(body_of(*s, p1.ready) == pattern(10 * 1024, 1));
  s->release(p0.ready);
  s->release(p1.ready);
  // Still indexed: they were never evicted.
  EXPECT_TRUE(is_hit(*s, ekey(0)));
  EXPECT_FALSE(is_hit(*s, ekey(2)));
}

TEST(StoreEviction, BusyObjectsAreNeverEvicted) {
  auto s = make_store(kMiB);
  const uint32_t cap = static_cast<uint32_t>(s->stats().bytes_total / (blocks_per_10k() * Store::kBlockSize));
  Lookup f = get(*s, key_of("h", "/slow"));
  ASSERT_EQ(f.kind, Lookup::Fetch);
  ASSERT_TRUE(s->set_head(f.busy, {}, {}, kHead, meta(3600)));
  ASSERT_TRUE(s->append(f.busy, "first part|"));
  for (uint32_t i = 0; i < 3 * cap; ++i) put(*s, ekey(i), pattern(10 * 1024, i), meta(3600, 1));
  ASSERT_TRUE(s->append(f.busy, "second part"));
  s->finish(f.busy);
  s->release(f.busy);
  EXPECT_EQ(hit_body(*s, key_of("h", "/slow")), "first part|second part");
}

TEST(StoreEviction, AllPinnedAppendFails) {
  auto s = make_store(kMiB);
  // A fetch in progress, started before the store fills up.
  Lookup slow = get(*s, key_of("h", "/slow"));
  ASSERT_EQ(slow.kind, Lookup::Fetch);
  ASSERT_TRUE(s->set_head(slow.busy, {}, {}, kHead, meta(3600)));

  std::vector<Handle> pins;
  for (uint32_t i = 0;; ++i) {
    ASSERT_LT(i, 1000u) << "the store never filled up";
    Lookup r = get(*s, ekey(i));
    if (r.kind != Lookup::Fetch) {
      EXPECT_EQ(r.kind, Lookup::Miss) << "no room for even a key";
      break;
    }
    if (!s->set_head(r.busy, {}, {}, kHead, meta(3600)) || !s->append(r.busy, pattern(10 * 1024, i))) {
      s->abandon(r.busy);
      s->release(r.busy);
      break;
    }
    s->finish(r.busy);
    pins.push_back(r.busy);  // the fetcher's pin is kept
  }
  ASSERT_GT(pins.size(), 10u);
  EXPECT_EQ(s->stats().evictions, 0u);
  EXPECT_FALSE(s->append(slow.busy, pattern(100 * 1024, 1))) << "everything is pinned";
  EXPECT_LE(s->stats().bytes_used, s->stats().bytes_total);
  for (uint32_t i = 0; i < pins.size(); ++i) ASSERT_TRUE(body_of(*s, pins[i]) == pattern(10 * 1024, i)) << i;

  // Unpinned, they can be evicted: the slow fetch retries its head and body.
  for (Handle h : pins) s->release(h);
  ASSERT_TRUE(s->set_head(slow.busy, {}, {}, kHead, meta(3600)));
  const std::string big = pattern(100 * 1024, 2);
  EXPECT_TRUE(s->append(slow.busy, big));
  EXPECT_GT(s->stats().evictions, 0u);
  s->finish(slow.busy);
  s->release(slow.busy);
  EXPECT_TRUE(hit_body(*s, key_of("h", "/slow")) == big);
}

TEST(StoreEviction, ManySmallObjectsRecycleObjectSlots) {
  auto s = make_store(kMiB);
  const uint32_t n = static_cast<uint32_t>(s->stats().bytes_total / Store::kBlockSize) * 3;
  for (uint32_t i = 0; i < n; ++i) {
    put(*s, ekey(i), "tiny", meta(3600, 4));
    ASSERT_LE(s->stats().objects * Store::kBlockSize, s->stats().bytes_total);
  }
  EXPECT_GT(s->stats().evictions, 0u);
  EXPECT_EQ(s->evictions(4), s->stats().evictions);
  EXPECT_EQ(hit_body(*s, ekey(n - 1)), "tiny");
  EXPECT_FALSE(is_hit(*s, ekey(0)));
}

TEST(StoreEviction, HugeObjectThatCannotFitFails) {
  auto s = make_store(kMiB);
  put(*s, ekey(1), "small", meta(3600));
  Lookup r = get(*s, key_of("h", "/huge"));
  ASSERT_EQ(r.kind, Lookup::Fetch);
  ASSERT_TRUE(s->set_head(r.busy, {}, {}, kHead, meta(3600)));
  EXPECT_FALSE(s->append(r.busy, pattern(2 * kMiB, 9)));
  EXPECT_LE(s->stats().bytes_used, s->stats().bytes_total);
  s->abandon(r.busy);
  s->release(r.busy);
  EXPECT_EQ(s->stats().objects, 0u);
  EXPECT_EQ(s->stats().bytes_used, 0u);
  put(*s, ekey(2), "after", meta(3600));
  EXPECT_EQ(hit_body(*s, ekey(2)), "after");
}

// ---------------------------------------------------------------- copy_body

TEST(StoreCopyBody, CopiesBodyUnderNewHead) {
  auto s = make_store(4 * kMiB);
  const std::string key = key_of("h", "/304");
  const std::string body = pattern(50 * 1024 + 17, 77);
  Lookup r = get(*s, key);
  ASSERT_EQ(r.kind, Lookup::Fetch);
  fill(*s, r.busy, body, meta(10), "accept-encoding", "gzip", "HTTP/1.1 200 OK\r\nETag: \"1\"\r\n\r\n");

  // Stale: revalidation fetch; the origin says 304 with a new head.
  Lookup rv = get(*s, key, kNow + 100);
  ASSERT_EQ(rv.kind, Lookup::Fetch);
  ASSERT_TRUE(rv.ready);
  EXPECT_FALSE(s->copy_body(rv.ready, rv.busy)) << "no head yet";
  const std::string head2 = "HTTP/1.1 200 OK\r\nETag: \"1\"\r\nAge: 0\r\nX-New: 1\r\n\r\n";
  ASSERT_TRUE(s->set_head(rv.busy, "accept-encoding", "gzip", head2, meta(10, 0, kNow + 100)));
  ASSERT_TRUE(s->copy_body(rv.ready, rv.busy));
  EXPECT_FALSE(s->copy_body(rv.busy, rv.ready)) << "the target must be Busy";
  s->finish(rv.busy);
  s->release(rv.busy);
  EXPECT_EQ(body_of(*s, rv.ready), body) << "the old copy is intact while pinned";
  s->release(rv.ready);

  Lookup hit = get(*s, key, kNow + 105);
  ASSERT_EQ(hit.kind, Lookup::Hit);
  EXPECT_EQ(head_of(*s, hit.ready), head2);
  Snapshot snap = s->snapshot(hit.ready);
  EXPECT_EQ(snap.body_len, body.size());
  EXPECT_TRUE(body_of(*s, hit.ready) == body);
  s->release(hit.ready);
  EXPECT_EQ(s->stats().objects, 1u);
}

TEST(StoreCopyBody, EmptyBodyAndStaleHandles) {
  auto s = make_store(4 * kMiB);
  put(*s, key_of("h", "/empty"), "", meta(60));
  Lookup src = get(*s, key_of("h", "/empty"));
  ASSERT_EQ(src.kind, Lookup::Hit);
  Lookup dst = get(*s, key_of("h", "/dst"));
  ASSERT_EQ(dst.kind, Lookup::Fetch);
  ASSERT_TRUE(s->set_head(dst.busy, {}, {}, kHead, meta(60)));
  EXPECT_TRUE(s->copy_body(src.ready, dst.busy));
  EXPECT_EQ(s->snapshot(dst.busy).body_len, 0u);
  EXPECT_FALSE(s->copy_body(Handle{}, dst.busy));
  EXPECT_FALSE(s->copy_body(src.ready, Handle{}));
  Handle stale = src.ready;
  s->release(src.ready);
  EXPECT_EQ(s->purge(key_of("h", "/empty")), 1u);
  EXPECT_FALSE(s->copy_body(stale, dst.busy));
  s->abandon(dst.busy);
  s->release(dst.busy);
}

// ---------------------------------------------------------------- processes

TEST(StoreProcess, ChildFillsParentHits) {
  auto s = make_store(4 * kMiB);
  const std::string key = key_of("h", "/child");
  const std::string body = pattern(100 * 1024, 42);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int code = 0;
    Lookup r = s->lookup(key, kAny, kNow * 1000, false, true, getpid(), 100);
    if (r.kind != Lookup::Fetch) code = 2;
    else if (!s->set_head(r.busy, {}, {}, kHead, meta(60))) code = 3;
    else if (!s->append(r.busy, body)) code = 4;
    else {
      s->finish(r.busy);
      s->release(r.busy);
    }
    _exit(code);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  Lookup hit = get(*s, key);
  ASSERT_EQ(hit.kind, Lookup::Hit);
  EXPECT_TRUE(hit.fresh);
  EXPECT_TRUE(body_of(*s, hit.ready) == body);
  EXPECT_EQ(head_of(*s, hit.ready), kHead);
  s->release(hit.ready);
  EXPECT_EQ(s->stats().objects, 1u);
}

// A process stopped while it holds the lock (here inside a Vary matcher,
// which runs under it) stalls nobody: a lookup answers Unavailable within
// the bound and is counted, a release is deferred, the master's reap is
// kept for later; once the holder dies everything catches up.
TEST(StoreProcess, StalledHolderBoundsWaitsAndDefersWork) {
  auto s = make_store(4 * kMiB);
  const std::string key = key_of("h", "/vary");
  Lookup f = get(*s, key);
  ASSERT_EQ(f.kind, Lookup::Fetch);
  fill(*s, f.busy, "v", meta(60), "accept-encoding", "gzip");
  Lookup mine = get(*s, key);
  ASSERT_EQ(mine.kind, Lookup::Hit);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto stop_inside = [](std::string_view, std::string_view) {
      raise(SIGSTOP);
      return true;
    };
    s->lookup(key, stop_inside, kNow * 1000, false, false, getpid(), 100);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, WUNTRACED), pid);
  ASSERT_TRUE(WIFSTOPPED(status));
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(get(*s, key).kind, Lookup::Unavailable);
  auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, std::chrono::milliseconds(Store::kLockWaitMs - 5));
  EXPECT_LT(waited, std::chrono::milliseconds(Store::kLockWaitMs + 500));
  EXPECT_EQ(s->stats().lock_timeouts, 1u);
  EXPECT_EQ(s->snapshot(mine.ready).body_len, 1u) << "a pinned Ready copy is read without the lock";
  s->release(mine.ready);  // deferred
  EXPECT_TRUE(s->reaped(12345, {})) << "the master does not wait: kept for a retry";
  bool busy = false;
  EXPECT_EQ(s->purge(key, &busy), 0u);
  EXPECT_TRUE(busy);
  std::string why;
  EXPECT_EQ(s->ban(BanKind::Host, "h", "", &why), 0u);
  EXPECT_NE(why.find("busy"), std::string::npos) << why;
  kill(pid, SIGKILL);
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_FALSE(s->retry_reaped()) << "the dead holder's lock is taken over";
  EXPECT_EQ(s->purge(key), 1u);
  EXPECT_EQ(s->stats().objects, 0u) << "the deferred release ran";
}

TEST(StoreProcess, AbandonOwnedByDeadChild) {
  auto s = make_store(4 * kMiB);
  const std::string key = key_of("h", "/orphan");
  const std::string mine = key_of("h", "/mine");
  // The parent's own fetch must survive abandon_owned_by(child).
  Lookup own = s->lookup(mine, kAny, kNow * 1000, false, true, getpid(), 100);
  ASSERT_EQ(own.kind, Lookup::Fetch);

  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    Lookup r = s->lookup(key, kAny, kNow * 1000, false, true, getpid(), 100);
    uint64_t packed = r.kind == Lookup::Fetch ? r.busy.pack() : 0;
    if (packed) {
      s->set_head(r.busy, {}, {}, kHead, meta(60));
      s->append(r.busy, "partial");
    }
    ssize_t n = write(fds[1], &packed, sizeof packed);
    _exit(n == sizeof packed ? 0 : 1);  // dies without finishing or releasing
  }
  close(fds[1]);
  uint64_t packed = 0;
  ASSERT_EQ(read(fds[0], &packed, sizeof packed), static_cast<ssize_t>(sizeof packed));
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  Handle orphan = Handle::unpack(packed);
  ASSERT_TRUE(orphan);

  // Until the master cleans up, requests wait on the orphan.
  Lookup w = get(*s, key);
  ASSERT_EQ(w.kind, Lookup::Busy);
  EXPECT_EQ(w.busy.idx, orphan.idx);
  EXPECT_EQ(s->snapshot(orphan).body_len, 7u);

  s->abandon_owned_by(pid);
  EXPECT_EQ(s->snapshot(w.busy).state, ObjState::Failed);
  EXPECT_EQ(s->snapshot(own.busy).state, ObjState::Busy) << "other owners are untouched";
  s->release(w.busy);
  s->release(orphan);  // the master returns the dead worker's pin
  EXPECT_EQ(s->snapshot(orphan).state, ObjState::Free);
  EXPECT_EQ(s->stats().objects, 1u);

  Lookup f = get(*s, key);
  ASSERT_EQ(f.kind, Lookup::Fetch);
  fill(*s, f.busy, "complete", meta(60));
  EXPECT_EQ(hit_body(*s, key), "complete");
  fill(*s, own.busy, "mine", meta(60));
  EXPECT_EQ(hit_body(*s, mine), "mine");
}

TEST(StoreProcess, ChildDyingUnderTheLockDoesNotWedge) {
  auto s = make_store(4 * kMiB);
  const std::string key = key_of("h", "/vary-lock");
  Lookup r = get(*s, key);
  ASSERT_EQ(r.kind, Lookup::Fetch);
  fill(*s, r.busy, "v", meta(60), "accept", "x");
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The Vary matcher runs under the store's lock: die there.
    Store::VaryMatch die = [](std::string_view, std::string_view) -> bool { _exit(0); };
    s->lookup(key, die, kNow * 1000, false, false, getpid(), 100);
    _exit(3);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  // A checker process (bounded by an alarm) takes the lock over first, so a
  // regression shows as a failure instead of a hung test binary.
  pid_t checker = fork();
  ASSERT_GE(checker, 0);
  if (checker == 0) {
    alarm(5);
    Lookup h = s->lookup(key, kAny, kNow * 1000, false, false, getpid(), 100);
    _exit(h.kind == Lookup::Hit ? 0 : 4);
  }
  ASSERT_EQ(waitpid(checker, &status, 0), checker);
  ASSERT_TRUE(WIFEXITED(status)) << "the checker hung on the lock (signal " << WTERMSIG(status) << ")";
  ASSERT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(hit_body(*s, key), "v");
  EXPECT_EQ(s->stats().objects, 1u);
}

// ---------------------------------------------------------------- handles and keys

TEST(StoreHandle, PackUnpackRoundTrip) {
  Handle none;
  EXPECT_FALSE(none);
  EXPECT_EQ(none.pack(), 0u);
  EXPECT_FALSE(Handle::unpack(0));
  EXPECT_EQ(Handle::unpack(0).idx, kNone);
  for (Handle h : {Handle{0, 0}, Handle{0, 1}, Handle{1, 0}, Handle{123, 0xdeadbeef}, Handle{kNone - 1, 0xffffffffu},
                   Handle{0x7fffffff, 42}}) {
    uint64_t v = h.pack();
    EXPECT_NE(v, 0u) << h.idx;
    Handle u = Handle::unpack(v);
    EXPECT_TRUE(u);
    EXPECT_EQ(u.idx, h.idx);
    EXPECT_EQ(u.gen, h.gen);
  }
  EXPECT_NE((Handle{1, 2}.pack()), (Handle{2, 1}.pack()));
}

TEST(StoreHandle, PackedHandleWorksAndGoesStale) {
  auto s = make_store(4 * kMiB);
  const std::string key = key_of("h", "/pack");
  put(*s, key, "packed", meta(60));
  Lookup r = get(*s, key);
  ASSERT_EQ(r.kind, Lookup::Hit);
  Handle u = Handle::unpack(r.ready.pack());
  EXPECT_EQ(body_of(*s, u), "packed");
  s->release(u);
  EXPECT_EQ(s->purge(key), 1u);
  Snapshot snap = s->snapshot(u);
  EXPECT_EQ(snap.state, ObjState::Free);
  EXPECT_EQ(snap.body_len, 0u);
  // The slot is reused with a new generation; the old handle stays harmless.
  put(*s, key_of("h", "/reuse"), "reused", meta(60));
  Lookup r2 = get(*s, key_of("h", "/reuse"));
  ASSERT_EQ(r2.kind, Lookup::Hit);
  if (r2.ready.idx == u.idx) {
    EXPECT_NE(r2.ready.gen, u.gen);
  }
  s->release(u);
  s->pin(u);
  EXPECT_EQ(s->snapshot(u).state, ObjState::Free);
  EXPECT_EQ(body_of(*s, r2.ready), "reused");
  s->release(r2.ready);
  EXPECT_EQ(s->purge(key_of("h", "/reuse")), 1u);
  EXPECT_EQ(s->stats().objects, 0u) << "stale pins/releases did not disturb the counts";
  // Out-of-range handles are ignored.
  Handle bogus{0x7ffffff0, 0};
  EXPECT_EQ(s->snapshot(bogus).state, ObjState::Free);
  s->pin(bogus);
  s->release(bogus);
}

TEST(StoreHandle, PinKeepsObjectAcrossPurge) {
  auto s = make_store(4 * kMiB);
  const std::string key = key_of("h", "/pin");
  put(*s, key, "pinned twice", meta(60));
  Lookup r = get(*s, key);
  ASSERT_EQ(r.kind, Lookup::Hit);
  s->pin(r.ready);
  EXPECT_EQ(s->purge(key), 1u);
  s->release(r.ready);
  EXPECT_EQ(body_of(*s, r.ready), "pinned twice");
  EXPECT_EQ(s->stats().objects, 1u);
  s->release(r.ready);
  EXPECT_EQ(s->stats().objects, 0u);
  EXPECT_EQ(s->stats().bytes_used, 0u);
}

TEST(StoreKey, HostAndTarget) {
  EXPECT_EQ(Store::key_host("example.com\n/a/b?c=d"), "example.com");
  EXPECT_EQ(Store::key_target("example.com\n/a/b?c=d"), "/a/b?c=d");
  EXPECT_EQ(Store::key_host("noline"), "noline");
  EXPECT_EQ(Store::key_target("noline"), "");
  EXPECT_EQ(Store::key_host("\n/x"), "");
  EXPECT_EQ(Store::key_target("\n/x"), "/x");
  EXPECT_EQ(Store::key_host("h\n"), "h");
  EXPECT_EQ(Store::key_target("h\n"), "");
  EXPECT_EQ(Store::key_host("h\n/a\nb"), "h");
  EXPECT_EQ(Store::key_target("h\n/a\nb"), "/a\nb");
  EXPECT_EQ(Store::key_host(""), "");
  EXPECT_EQ(Store::key_target(""), "");
}

TEST(StoreEviction, FailedHeadRetryLeavesNoHead) {
  auto s = make_store(kMiB);
  const std::string key = key_of("h", "/retry");
  Lookup f = get(*s, key);
  ASSERT_EQ(f.kind, Lookup::Fetch);
  ASSERT_TRUE(s->set_head(f.busy, {}, {}, "h", meta(60)));
  Lookup w = get(*s, key);
  ASSERT_EQ(w.kind, Lookup::Busy);
  std::vector<Handle> pins;
  for (uint32_t i = 0; i < 1000; ++i) {
    Lookup r = get(*s, ekey(i));
    if (r.kind != Lookup::Fetch) break;
    if (!s->set_head(r.busy, {}, {}, kHead, meta(3600)) || !s->append(r.busy, pattern(10 * 1024, i))) {
      s->abandon(r.busy);
      s->release(r.busy);
      break;
    }
    s->finish(r.busy);
    pins.push_back(r.busy);
  }
  // A retried, larger head does not fit: the old head is gone and the new
  // bytes written so far must not show up as a body.
  EXPECT_FALSE(s->set_head(f.busy, "names", "vary", std::string(100 * 1024, 'H'), meta(60)));
  Snapshot snap = s->snapshot(w.busy);
  EXPECT_EQ(snap.state, ObjState::Busy);
  EXPECT_FALSE(snap.head_ready);
  EXPECT_EQ(snap.body_len, 0u);
  EXPECT_EQ(snap.head_len, 0u);
  EXPECT_FALSE(s->append(f.busy, "body")) << "no head";
  s->abandon(f.busy);
  EXPECT_EQ(s->snapshot(w.busy).state, ObjState::Failed);
  s->release(w.busy);
  s->release(f.busy);
  for (Handle h : pins) s->release(h);
  Lookup again = get(*s, key);
  ASSERT_EQ(again.kind, Lookup::Fetch);
  fill(*s, again.busy, "ok", meta(60));
  EXPECT_EQ(hit_body(*s, key), "ok");
}

TEST(StoreBan, BusyObjectCreatedBeforeBanIsBannedOnceReady) {
  auto s = make_store(4 * kMiB);
  const std::string key = key_of("a.com", "/inflight");
  Lookup f = get(*s, key);
  ASSERT_EQ(f.kind, Lookup::Fetch);
  Lookup w = get(*s, key);
  ASSERT_EQ(w.kind, Lookup::Busy);
  ASSERT_GT(s->ban(BanKind::Host, "a.com", ""), 0u);
  fill(*s, f.busy, "pre-ban", meta(60));
  EXPECT_EQ(body_of(*s, w.busy), "pre-ban") << "its waiters still get it";
  s->release(w.busy);
  EXPECT_FALSE(is_hit(*s, key));
  EXPECT_EQ(s->stats().objects, 0u);
}

// The same through the ring overflow: the oldest ban, applied eagerly, must
// treat an object that was Busy when the ban was made as the lazy check does.
TEST(StoreBan, OverflowAppliesToBusyObjects) {
  auto s = make_store(4 * kMiB);
  const std::string key = key_of("a.com", "/inflight");
  Lookup f = get(*s, key);
  ASSERT_EQ(f.kind, Lookup::Fetch);
  ASSERT_TRUE(s->set_head(f.busy, {}, {}, kHead, meta(60)));
  ASSERT_TRUE(s->append(f.busy, "pre-"));
  Lookup w = get(*s, key);
  ASSERT_EQ(w.kind, Lookup::Busy);
  ASSERT_GT(s->ban(BanKind::Host, "a.com", ""), 0u);
  for (uint32_t i = 0; i < Store::kMaxBans; ++i) ASSERT_GT(s->ban(BanKind::Host, "zzz", ""), 0u);
  EXPECT_EQ(s->stats().bans, Store::kMaxBans);

  // New requests no longer wait on the pre-ban fetch: they fetch anew.
  Lookup g = get(*s, key);
  ASSERT_EQ(g.kind, Lookup::Fetch);
  fill(*s, g.busy, "post-ban", meta(60));
  // The pre-ban fetch completes for its waiters, and supersedes nothing.
  ASSERT_TRUE(s->append(f.busy, "ban"));
  s->finish(f.busy);
  EXPECT_EQ(s->snapshot(w.busy).state, ObjState::Ready);
  EXPECT_EQ(body_of(*s, w.busy), "pre-ban");
  EXPECT_EQ(hit_body(*s, key), "post-ban");
  s->release(w.busy);
  s->release(f.busy);
  EXPECT_EQ(s->stats().objects, 1u);
  EXPECT_EQ(hit_body(*s, key), "post-ban");
}
