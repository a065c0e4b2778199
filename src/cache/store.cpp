#include "cache/store.h"

#include <sys/mman.h>
#include <sys/uio.h>

#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <new>

#include "core/fault_point.h"

namespace pillar::cache {

namespace {

constexpr uint64_t kMagic = 0x50494c4c41524331ull;  // "PILLARC1"

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace

struct Store::Ban {
  uint64_t seq;
  BanKind kind;
  char host[256];
  char pattern[512];
};

struct Store::Object {
  uint32_t hash_next;  // bucket chain; free-list link when Free
  uint32_t lru_prev, lru_next;
  uint32_t first_block, last_block;
  uint32_t gen;
  uint32_t refs;
  int32_t owner_pid;
  uint64_t hash;
  uint64_t stream_len;
  uint64_t ban_seq;  // bans up to this sequence were checked
  int64_t pass_until;
  int64_t created;   // when the fetch began (ms)
  uint64_t waiters;  // waiter_bit of every loop waiting on it while Busy
  uint32_t key_len, names_len, vary_len, head_len;
  ObjState state;
  bool head_ready, linked;
  ObjectMeta meta;
};

struct Store::Header {
  uint64_t magic;
  pthread_mutex_t mu;
  uint32_t n_buckets, n_objects, n_blocks;
  uint32_t free_objects, free_blocks;
  uint32_t lru_head, lru_tail;  // head: most recently used
  uint32_t objects_used, blocks_used;
  uint64_t ban_seq;
  uint32_t ban_first, ban_count;  // ring of held bans, oldest first
  uint64_t ban_floor;  // objects checked against no ban from this one on are dropped (the ring overflowed)
  uint64_t lock_timeouts;
  uint64_t evictions_total;
  uint64_t evictions[kMaxVhosts];
  Ban bans[kMaxBans];
};

// This process's side of the store, never in the shared mapping: the bans
// compiled so far (by sequence) and work deferred because the lock was not
// had in time. Only workers use it (the master never looks up nor defers),
// so a fork never copies it locked.
struct Store::Local {
  std::mutex bans_mu;  // never held together with the store's lock
  std::map<uint64_t, std::shared_ptr<const BanRule>> bans;
  std::atomic<uint64_t> synced{0};  // every ban up to this sequence is in `bans`

  enum Op { Release, Abandon, Finish, Purge };
  struct Deferred {
    Op op;
    Handle h;
    std::string key;
  };
  std::mutex deferred_mu;  // taken inside the store's lock, never the other way round
  std::vector<Deferred> deferred;
  std::atomic<bool> has_deferred{false};

  struct Reaped {  // master: a dead worker's leftovers
    int32_t pid;
    std::vector<uint64_t> pins;
  };
  std::vector<Reaped> reaped;
};

// The robust mutex: a worker killed while holding it must not wedge the
// node. The next locker takes over; every update below leaves the
// structures consistent before the next one starts, so at worst a half
// written object is freed later by eviction. A holder that is stalled (not
// dead) must not wedge it either: workers wait a bounded time, the master
// does not wait at all (Never), only tests and shutdown wait for good.
class Store::Lock {
 public:
  enum Wait { Bounded, Never, Forever };
  explicit Lock(const Store& s, Wait w = Bounded) : mu_(&s.hdr_->mu) {
    int rc = pthread_mutex_trylock(mu_);
    if (rc == EBUSY && w == Forever) rc = pthread_mutex_lock(mu_);
    if (rc == EBUSY && w == Bounded) {
      timespec until;
      clock_gettime(CLOCK_MONOTONIC, &until);
      until.tv_nsec += static_cast<long>(kLockWaitMs) * 1000000L;
      until.tv_sec += until.tv_nsec / 1000000000L;
      until.tv_nsec %= 1000000000L;
      do rc = pthread_mutex_clocklock(mu_, CLOCK_MONOTONIC, &until);
      while (rc == EINTR);
    }
    if (rc == EOWNERDEAD) {
      pthread_mutex_consistent(mu_);
      rc = 0;
    }
    held_ = rc == 0;
    // Deferred releases and abandons first, so pins do not outlive a stall.
    if (held_ && s.local_->has_deferred.load(std::memory_order_acquire)) const_cast<Store&>(s).run_deferred();
  }
  ~Lock() {
    if (held_) pthread_mutex_unlock(mu_);
  }
  bool held() const { return held_; }
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

 private:
  pthread_mutex_t* mu_;
  bool held_ = false;
};

Store::Store() : local_(std::make_unique<Local>()) {}

Store::~Store() {
  if (base_) ::munmap(base_, size_);
}

bool Store::create(uint64_t bytes, std::string& error) {
  const uint64_t fixed = (sizeof(Header) + 63) & ~uint64_t{63};
  if (bytes < fixed + 64 * (kBlockSize + 256)) {
    error = "CacheSize is too small (at least " + std::to_string((fixed + 64 * (kBlockSize + 256)) / 1024 + 1) + "K)";
    return false;
  }
  // One object per two blocks on average; each object costs its record and
  // about two bucket words.
  const uint64_t per_block = kBlockSize + sizeof(uint32_t) + (sizeof(Object) + 2 * sizeof(uint32_t)) / 2 + 1;
  uint32_t n_blocks = static_cast<uint32_t>(std::min<uint64_t>((bytes - fixed) / per_block, kNone - 1));
  uint32_t n_objects = std::max<uint32_t>(n_blocks / 2, 1);
  uint32_t n_buckets = 1;
  while (n_buckets < n_objects) n_buckets <<= 1;
  auto layout = [&](uint64_t& total) {
    total = fixed;
    total += (uint64_t{n_buckets} * sizeof(uint32_t) + 63) & ~uint64_t{63};
    total += (uint64_t{n_objects} * sizeof(Object) + 63) & ~uint64_t{63};
    total += (uint64_t{n_blocks} * sizeof(uint32_t) + 63) & ~uint64_t{63};
    total += uint64_t{n_blocks} * kBlockSize;
  };
  uint64_t total = 0;
  for (layout(total); total > bytes && n_blocks > 64; layout(total)) {
    n_blocks -= std::max<uint32_t>(1, static_cast<uint32_t>((total - bytes) / kBlockSize) + 1);
    n_objects = std::max<uint32_t>(n_blocks / 2, 1);
  }
  void* p = ::mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    error = std::string("mmap of the cache (CacheSize): ") + strerror(errno);
    return false;
  }
  base_ = p;
  size_ = total;
  char* at = static_cast<char*>(p);
  hdr_ = new (at) Header{};
  at += fixed;
  buckets_ = reinterpret_cast<uint32_t*>(at);
  at += (uint64_t{n_buckets} * sizeof(uint32_t) + 63) & ~uint64_t{63};
  objects_ = reinterpret_cast<Object*>(at);
  at += (uint64_t{n_objects} * sizeof(Object) + 63) & ~uint64_t{63};
  block_next_ = reinterpret_cast<uint32_t*>(at);
  at += (uint64_t{n_blocks} * sizeof(uint32_t) + 63) & ~uint64_t{63};
  data_ = at;

  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(&hdr_->mu, &a);
  pthread_mutexattr_destroy(&a);
  hdr_->magic = kMagic;
  hdr_->n_buckets = n_buckets;
  hdr_->n_objects = n_objects;
  hdr_->n_blocks = n_blocks;
  hdr_->lru_head = hdr_->lru_tail = kNone;
  for (uint32_t i = 0; i < n_buckets; ++i) buckets_[i] = kNone;
  for (uint32_t i = 0; i < n_objects; ++i) {
    new (&objects_[i]) Object{};
    objects_[i].hash_next = i + 1 < n_objects ? i + 1 : kNone;
    objects_[i].first_block = objects_[i].last_block = kNone;
  }
  for (uint32_t i = 0; i < n_blocks; ++i) block_next_[i] = i + 1 < n_blocks ? i + 1 : kNone;
  hdr_->free_objects = 0;
  hdr_->free_blocks = 0;
  return true;
}

Store::Object& Store::obj(uint32_t i) const { return objects_[i]; }
char* Store::block(uint32_t b) const { return data_ + uint64_t{b} * kBlockSize; }
uint32_t Store::bucket_of(uint64_t hash) const { return static_cast<uint32_t>(hash) & (hdr_->n_buckets - 1); }

Store::Object* Store::live(Handle h) const {
  if (!h || h.idx >= hdr_->n_objects) return nullptr;
  Object& o = objects_[h.idx];
  return o.gen == h.gen && o.state != ObjState::Free ? &o : nullptr;
}

void Store::copy_out(const Object& o, uint64_t offset, char* dst, size_t len) const {
  uint32_t b = o.first_block;
  for (uint64_t skip = offset / kBlockSize; skip > 0 && b != kNone; --skip) b = block_next_[b];
  size_t in = static_cast<size_t>(offset % kBlockSize);
  while (len > 0 && b != kNone) {
    size_t n = std::min<size_t>(len, kBlockSize - in);
    std::memcpy(dst, block(b) + in, n);
    dst += n;
    len -= n;
    in = 0;
    b = block_next_[b];
  }
}

bool Store::key_equals(const Object& o, std::string_view key) const {
  if (o.key_len != key.size()) return false;
  // Keys are short: compare block by block without copying.
  uint32_t b = o.first_block;
  size_t done = 0;
  while (done < key.size() && b != kNone) {
    size_t n = std::min<size_t>(key.size() - done, kBlockSize);
    if (std::memcmp(block(b), key.data() + done, n) != 0) return false;
    done += n;
    b = block_next_[b];
  }
  return done == key.size();
}

void Store::lru_remove(uint32_t i) {
  Object& o = obj(i);
  if (o.lru_prev != kNone) obj(o.lru_prev).lru_next = o.lru_next;
  else if (hdr_->lru_head == i) hdr_->lru_head = o.lru_next;
  if (o.lru_next != kNone) obj(o.lru_next).lru_prev = o.lru_prev;
  else if (hdr_->lru_tail == i) hdr_->lru_tail = o.lru_prev;
  o.lru_prev = o.lru_next = kNone;
}

void Store::lru_touch(uint32_t i) {
  if (hdr_->lru_head == i) return;
  lru_remove(i);
  Object& o = obj(i);
  o.lru_next = hdr_->lru_head;
  if (o.lru_next != kNone) obj(o.lru_next).lru_prev = i;
  hdr_->lru_head = i;
  if (hdr_->lru_tail == kNone) hdr_->lru_tail = i;
}

void Store::free_object(uint32_t i) {
  Object& o = obj(i);
  for (uint32_t b = o.first_block; b != kNone;) {
    uint32_t next = b == o.last_block ? kNone : block_next_[b];
    block_next_[b] = hdr_->free_blocks;
    hdr_->free_blocks = b;
    --hdr_->blocks_used;
    b = next;
  }
  o.first_block = o.last_block = kNone;
  o.stream_len = 0;
  o.state = ObjState::Free;
  ++o.gen;
  o.refs = 0;
  o.hash_next = hdr_->free_objects;
  hdr_->free_objects = i;
  --hdr_->objects_used;
}

void Store::unlink(uint32_t i) {
  Object& o = obj(i);
  if (o.linked) {
    uint32_t* p = &buckets_[bucket_of(o.hash)];
    while (*p != kNone && *p != i) p = &obj(*p).hash_next;
    if (*p == i) *p = o.hash_next;
    o.hash_next = kNone;
    lru_remove(i);
    o.linked = false;
  }
  if (o.refs == 0) free_object(i);
}

bool Store::evict_one() {
  for (uint32_t i = hdr_->lru_tail; i != kNone; i = obj(i).lru_prev) {
    Object& o = obj(i);
    if (o.refs != 0 || o.state == ObjState::Busy) continue;
    if (o.state == ObjState::Ready) {
      ++hdr_->evictions_total;
      ++hdr_->evictions[o.meta.vhost < kMaxVhosts ? o.meta.vhost : 0];
    }
    unlink(i);
    return true;
  }
  return false;
}

bool Store::alloc_object(uint32_t& idx) {
  while (hdr_->free_objects == kNone)
    if (!evict_one()) return false;
  idx = hdr_->free_objects;
  Object& o = obj(idx);
  hdr_->free_objects = o.hash_next;
  ++hdr_->objects_used;
  uint32_t gen = o.gen;
  o = Object{};
  o.gen = gen;
  o.hash_next = o.lru_prev = o.lru_next = kNone;
  o.first_block = o.last_block = kNone;
  return true;
}

bool Store::alloc_block(uint32_t& b) {
  while (hdr_->free_blocks == kNone)
    if (!evict_one()) return false;
  b = hdr_->free_blocks;
  hdr_->free_blocks = block_next_[b];
  block_next_[b] = kNone;
  ++hdr_->blocks_used;
  return true;
}

bool Store::write(Object& o, std::string_view bytes) {
  while (!bytes.empty()) {
    size_t in = static_cast<size_t>(o.stream_len % kBlockSize);
    if (o.first_block == kNone || (in == 0 && o.stream_len > 0)) {
      uint32_t b;
      if (!alloc_block(b)) return false;
      if (o.first_block == kNone) o.first_block = b;
      else block_next_[o.last_block] = b;
      o.last_block = b;
      in = 0;
    }
    size_t n = std::min<size_t>(bytes.size(), kBlockSize - in);
    std::memcpy(block(o.last_block) + in, bytes.data(), n);
    o.stream_len += n;
    bytes.remove_prefix(n);
  }
  return true;
}

void Store::truncate_to(Object& o, uint64_t len) {
  uint64_t keep = (len + kBlockSize - 1) / kBlockSize;
  uint32_t b = o.first_block, last = kNone;
  for (uint64_t k = 0; k < keep && b != kNone; ++k) {
    last = b;
    b = b == o.last_block ? kNone : block_next_[b];
  }
  while (b != kNone) {
    uint32_t next = b == o.last_block ? kNone : block_next_[b];
    block_next_[b] = hdr_->free_blocks;
    hdr_->free_blocks = b;
    --hdr_->blocks_used;
    b = next;
  }
  o.last_block = last;
  if (last == kNone) o.first_block = kNone;
  else block_next_[last] = kNone;
  o.stream_len = std::min(o.stream_len, len);
}

// Outside the lock: the newest ban with a sequence in (from, to] that `key`
// matches. `copied` holds the ring entries this process had not compiled
// yet (copied out under the lock); `oldest` is the oldest ban the ring holds.
Store::BanVerdict Store::judge(std::string_view key, uint64_t from, uint64_t to, uint64_t oldest,
                               const std::vector<Ban>& copied) {
  BanVerdict v;
  v.from = from;
  v.to = to;
  std::vector<std::pair<uint64_t, std::shared_ptr<const BanRule>>> rules;
  {
    std::lock_guard<std::mutex> g(local_->bans_mu);
    for (const Ban& b : copied) {
      if (local_->bans.count(b.seq)) continue;
      // Validated when the ban was made; one that cannot compile here bans nothing.
      if (std::shared_ptr<const BanRule> r = BanRule::make(b.kind, b.host, b.pattern)) local_->bans.emplace(b.seq, std::move(r));
    }
    if (to > local_->synced.load()) local_->synced.store(to);
    local_->bans.erase(local_->bans.begin(), local_->bans.lower_bound(oldest));  // retired: never asked for again
    for (auto it = local_->bans.upper_bound(from); it != local_->bans.end() && it->first <= to; ++it)
      rules.emplace_back(it->first, it->second);
  }
  for (auto it = rules.rbegin(); it != rules.rend(); ++it) {
    if (it->second->matches(key)) {
      v.top = it->first;
      break;
    }
  }
  return v;
}

Store::Lookup Store::lookup(std::string_view key, const VaryMatch& matches, int64_t now_ms, bool force_stale, bool fetch,
                            int32_t owner_pid, uint32_t max_waiters, uint64_t waiter_bit, int64_t busy_max_age_ms,
                            std::atomic<uint64_t>* pin_cells) {
  Lookup r;
  if (!hdr_) return r;
  const uint64_t h = fnv1a(key);
  BanVerdict verdict;
  // At most two rounds: the first finds that a stored copy has bans to be
  // checked against, copies out the ones this process has not compiled,
  // and lets go of the lock; the bans are tested on the key (judge), and
  // the second round acts on the verdict.
  for (int round = 0;; ++round) {
    std::vector<Ban> copied;
    uint64_t from = UINT64_MAX, to = 0, oldest = 0;
    {
      Lock lock(*this);
      if (!lock.held()) {
        __atomic_fetch_add(&hdr_->lock_timeouts, 1, __ATOMIC_RELAXED);
        r.kind = Lookup::Unavailable;
        return r;
      }
      if (round == 0) {
        for (uint32_t i = buckets_[bucket_of(h)]; i != kNone; i = obj(i).hash_next) {
          const Object& o = obj(i);
          if (o.hash == h && (o.state == ObjState::Ready || o.state == ObjState::Pass) && o.ban_seq >= hdr_->ban_floor &&
              o.ban_seq < hdr_->ban_seq && key_equals(o, key))
            from = std::min(from, o.ban_seq);
        }
        if (from != UINT64_MAX) {
          to = hdr_->ban_seq;
          oldest = hdr_->ban_count ? hdr_->bans[hdr_->ban_first].seq : to + 1;
          const uint64_t synced = local_->synced.load();
          for (uint32_t k = 0; k < hdr_->ban_count; ++k) {
            const Ban& b = hdr_->bans[(hdr_->ban_first + k) % kMaxBans];
            if (b.seq > synced) copied.push_back(b);  // all of them: `synced` moves past them
          }
        }
      }
      if (from == UINT64_MAX) return lookup_locked(key, h, verdict, matches, now_ms, force_stale, fetch, owner_pid,
                                                   max_waiters, waiter_bit, busy_max_age_ms, pin_cells);
    }
    verdict = judge(key, from, to, oldest, copied);
  }
}

Store::Lookup Store::lookup_locked(std::string_view key, uint64_t h, const BanVerdict& verdict, const VaryMatch& matches,
                                   int64_t now_ms, bool force_stale, bool fetch, int32_t owner_pid, uint32_t max_waiters,
                                   uint64_t waiter_bit, int64_t busy_max_age_ms, std::atomic<uint64_t>* pin_cells) {
  Lookup r;
  uint32_t ready = kNone, busy = kNone, pass = kNone;
  thread_local std::string names, vary;
  auto selects = [&](const Object& o) {
    if (o.names_len == 0) return true;
    names.resize(o.names_len);
    vary.resize(o.vary_len);
    copy_out(o, o.key_len, names.data(), names.size());
    copy_out(o, uint64_t{o.key_len} + o.names_len, vary.data(), vary.size());
    return matches(names, vary);
  };
  for (uint32_t i = buckets_[bucket_of(h)], next; i != kNone; i = next) {
    Object& o = obj(i);
    next = o.hash_next;
    if (o.hash != h || !key_equals(o, key)) continue;
    if (o.state == ObjState::Ready || o.state == ObjState::Pass) {
      // Older than a ban that left the ring unchecked: dropped (a cold copy;
      // see ban()). Otherwise the verdict decides the bans it covers.
      bool banned = o.ban_seq < hdr_->ban_floor;
      if (!banned && o.ban_seq < hdr_->ban_seq) {
        if (o.ban_seq < verdict.from) continue;  // not judged (a ban raced this lookup): not served, kept
        if (verdict.top > o.ban_seq) banned = true;
        else o.ban_seq = std::max(o.ban_seq, verdict.to);
      }
      if (banned || (o.state == ObjState::Pass && o.pass_until <= now_ms)) {
        unlink(i);
        continue;
      }
    }
    if (o.state == ObjState::Ready && ready == kNone && selects(o)) ready = i;
    else if (o.state == ObjState::Pass && pass == kNone) pass = i;
    else if (o.state == ObjState::Busy && busy == kNone && o.ban_seq >= hdr_->ban_floor &&
             now_ms - o.created < busy_max_age_ms && (!o.head_ready || selects(o)))
      busy = i;
  }
  // Each pin is recorded in the caller's slot as it is taken (the same
  // critical section): no instant where a pin exists that the master
  // could not return.
  auto record = [&](int which, Handle hd) {
    if (pin_cells) pin_cells[which].store(hd.pack(), std::memory_order_release);
  };
  if (ready != kNone) {
    Object& o = obj(ready);
    ++o.refs;
    r.ready = {ready, o.gen};
    record(0, r.ready);
    r.fresh = !force_stale && !o.meta.revalidate_always && o.meta.initial_age + (now_ms - o.meta.stored_ms) / 1000 < o.meta.ttl;
    lru_touch(ready);
    if (r.fresh) {
      r.kind = Lookup::Hit;
      return r;
    }
  }
  if (pass != kNone) {
    r.kind = Lookup::Pass;
    return r;
  }
  if (busy != kNone) {
    Object& o = obj(busy);
    if (o.refs > max_waiters) {
      r.kind = Lookup::Crowded;
      return r;
    }
    ++o.refs;
    __atomic_fetch_or(&o.waiters, waiter_bit, __ATOMIC_RELAXED);
    r.busy = {busy, o.gen};
    record(1, r.busy);
    r.kind = Lookup::Busy;
    return r;
  }
  if (!fetch) return r;
  uint32_t idx;
  if (!alloc_object(idx)) return r;
  Object& o = obj(idx);
  o.hash = h;
  o.state = ObjState::Busy;
  o.created = now_ms;
  o.owner_pid = owner_pid;
  o.ban_seq = hdr_->ban_seq;
  o.refs = 1;
  if (!write(o, key)) {
    free_object(idx);
    return r;
  }
  o.key_len = static_cast<uint32_t>(key.size());
  o.hash_next = buckets_[bucket_of(h)];
  buckets_[bucket_of(h)] = idx;
  o.linked = true;
  lru_touch(idx);
  r.busy = {idx, o.gen};
  record(1, r.busy);
  r.kind = Lookup::Fetch;
  return r;
}

bool Store::set_head(Handle h, std::string_view vary_names, std::string_view vary_key, std::string_view head,
                     const ObjectMeta& meta) {
  Lock lock(*this);
  Object* o = lock.held() ? live(h) : nullptr;
  if (!o || o->state != ObjState::Busy) return false;
  // A retried head replaces an earlier one; until it is complete the object
  // has no head (a failed retry must not leave the old lengths describing
  // the new bytes: waiters would read part of the new head as body).
  o->head_ready = false;
  o->names_len = o->vary_len = o->head_len = 0;
  truncate_to(*o, o->key_len);
  if (!write(*o, vary_names) || !write(*o, vary_key) || !write(*o, head)) return false;
  o->names_len = static_cast<uint32_t>(vary_names.size());
  o->vary_len = static_cast<uint32_t>(vary_key.size());
  o->head_len = static_cast<uint32_t>(head.size());
  o->meta = meta;
  o->head_ready = true;
  return true;
}

bool Store::append(Handle h, std::string_view body) {
  Lock lock(*this);
  Object* o = lock.held() ? live(h) : nullptr;
  return o && o->state == ObjState::Busy && o->head_ready && write(*o, body);
}

void Store::finish(Handle h) {
  Lock lock(*this);
  if (!lock.held()) return defer(Local::Finish, h);
  finish_locked(h);
}

void Store::finish_locked(Handle h) {
  Object* o = live(h);
  if (!o || o->state != ObjState::Busy) return;
  o->owner_pid = 0;
  // Release: a reader that sees Ready without the lock (snapshot) sees
  // the whole object.
  // (on the enum's byte: clang's builtins take integers only)
  __atomic_store_n(reinterpret_cast<uint8_t*>(&o->state), static_cast<uint8_t>(ObjState::Ready), __ATOMIC_RELEASE);
  // A fetch begun before a ban the ring retired unchecked is not stored.
  if (o->linked && o->ban_seq < hdr_->ban_floor) unlink(h.idx);
  if (!o->linked) return;  // banned while Busy: only its waiters get it; it supersedes nothing
  // Older copies of this variant (and a hit-for-pass marker) are superseded.
  std::string key(o->key_len, '\0'), vary(o->vary_len, '\0'), other;
  copy_out(*o, 0, key.data(), key.size());
  copy_out(*o, uint64_t{o->key_len} + o->names_len, vary.data(), vary.size());
  for (uint32_t i = buckets_[bucket_of(o->hash)], next; i != kNone; i = next) {
    Object& p = obj(i);
    next = p.hash_next;
    if (i == h.idx || p.hash != o->hash || !key_equals(p, key)) continue;
    if (p.state == ObjState::Pass) {
      unlink(i);
    } else if (p.state == ObjState::Ready && p.vary_len == vary.size()) {
      other.resize(p.vary_len);
      copy_out(p, uint64_t{p.key_len} + p.names_len, other.data(), other.size());
      if (other == vary) unlink(i);
    }
  }
}

void Store::abandon(Handle h) {
  if (!h || !hdr_) return;
  Lock lock(*this);
  if (!lock.held()) return defer(Local::Abandon, h);
  abandon_locked(h);
}

void Store::abandon_locked(Handle h) {
  Object* o = live(h);
  if (!o || o->state != ObjState::Busy) return;
  o->state = ObjState::Failed;  // its blocks stay until the last pin goes: a waiter may be sending from them
  unlink(h.idx);
}

void Store::make_pass(Handle h, int64_t until_ms, uint16_t vhost) {
  Lock lock(*this);
  if (!lock.held()) return defer(Local::Abandon, h);  // no marker then: the next request fetches again
  Object* o = live(h);
  if (!o || o->state != ObjState::Busy) return;
  truncate_to(*o, o->key_len);
  o->names_len = o->vary_len = o->head_len = 0;
  o->head_ready = false;
  o->state = ObjState::Pass;
  o->pass_until = until_ms;
  o->meta = ObjectMeta{};
  o->meta.vhost = vhost;
  o->owner_pid = 0;
}

bool Store::copy_body(Handle from, Handle to) {
  Lock lock(*this);
  if (!lock.held()) return false;
  Object* f = live(from);
  Object* t = live(to);
  if (!f || !t || t->state != ObjState::Busy || !t->head_ready) return false;
  uint64_t start = uint64_t{f->key_len} + f->names_len + f->vary_len + f->head_len;
  char buf[kBlockSize];
  for (uint64_t at = start; at < f->stream_len;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(sizeof buf, f->stream_len - at));
    copy_out(*f, at, buf, n);
    if (!write(*t, {buf, n})) return false;
    at += n;
  }
  return true;
}

uint64_t Store::waiter_mask(Handle h) const {
  if (!h || !hdr_ || h.idx >= hdr_->n_objects) return 0;
  return __atomic_load_n(&objects_[h.idx].waiters, __ATOMIC_RELAXED);
}

void Store::watch(Handle h, uint64_t waiter_bit) {
  if (!h || !hdr_) return;
  Lock lock(*this);
  if (!lock.held()) return;  // the waiter polls each timer tick anyway
  if (Object* o = live(h)) o->waiters |= waiter_bit;
}

Snapshot Store::snapshot(Handle h) const {
  Snapshot s;
  if (!h || !hdr_ || h.idx >= hdr_->n_objects) return s;
  auto fill = [&](const Object& o) {
    s.state = o.state;
    s.head_ready = o.head_ready;
    s.meta = o.meta;
    s.key_len = o.key_len;
    s.names_len = o.names_len;
    s.vary_len = o.vary_len;
    s.head_len = o.head_len;
    uint64_t off = s.body_offset();
    s.body_len = o.head_ready && o.stream_len > off ? o.stream_len - off : 0;
  };
  // A pinned Ready object never changes until it is freed, which its pin
  // prevents: no lock needed (hits keep being served through a stall).
  const Object& o = objects_[h.idx];
  if (static_cast<ObjState>(__atomic_load_n(reinterpret_cast<const uint8_t*>(&o.state), __ATOMIC_ACQUIRE)) == ObjState::Ready &&
      o.gen == h.gen) {
    fill(o);
    return s;
  }
  Lock lock(*this);
  if (!lock.held()) {
    s.unavailable = true;
    return s;
  }
  if (const Object* p = live(h)) fill(*p);
  return s;
}

void Store::read(Handle h, uint64_t offset, char* dst, size_t len) const {
  const Object* o = h && h.idx < hdr_->n_objects ? &objects_[h.idx] : nullptr;
  if (o && o->gen == h.gen) copy_out(*o, offset, dst, len);
}

size_t Store::map(Handle h, uint64_t offset, uint64_t len, iovec* iov, size_t max) const {
  if (!h || !hdr_ || h.idx >= hdr_->n_objects || objects_[h.idx].gen != h.gen) return 0;
  const Object& o = objects_[h.idx];
  uint32_t b = o.first_block;
  for (uint64_t skip = offset / kBlockSize; skip > 0 && b != kNone; --skip) b = block_next_[b];
  size_t in = static_cast<size_t>(offset % kBlockSize), n = 0;
  while (len > 0 && b != kNone && n < max) {
    size_t take = static_cast<size_t>(std::min<uint64_t>(len, kBlockSize - in));
    iov[n++] = {block(b) + in, take};
    len -= take;
    in = 0;
    b = block_next_[b];
  }
  return n;
}

std::string Store::read_string(Handle h, uint64_t offset, size_t len) const {
  std::string s(len, '\0');
  read(h, offset, s.data(), len);
  return s;
}

bool Store::pin(Handle h, std::atomic<uint64_t>* cell) {
  if (!h || !hdr_) return false;
  Lock lock(*this);
  Object* o = lock.held() ? live(h) : nullptr;
  if (!o) return false;
  ++o->refs;
  if (cell) cell->store(h.pack(), std::memory_order_release);
  return true;
}

void Store::release(Handle h) {
  if (!h || !hdr_) return;
  Lock lock(*this);
  if (!lock.held()) return defer(Local::Release, h);
  release_locked(h);
}

void Store::release_cell(std::atomic<uint64_t>& cell) {
  if (uint64_t v = cell.exchange(0, std::memory_order_acq_rel)) release(Handle::unpack(v));
}

void Store::release_locked(Handle h) {
  Object* o = live(h);
  if (!o || o->refs == 0) return;
  if (--o->refs == 0 && !o->linked) free_object(h.idx);
}

uint32_t Store::purge(std::string_view key, bool* unavailable) {
  if (!hdr_) return 0;
  Lock lock(*this);
  if (!lock.held()) {
    if (unavailable) *unavailable = true;
    else defer(Local::Purge, {}, key);  // an invalidation (unsafe method) must still happen
    return 0;
  }
  PILLAR_FAULT_POINT("cache.store.purge");  // tests: a holder of the lock stalls here
  return purge_locked(key);
}

uint32_t Store::purge_locked(std::string_view key) {
  const uint64_t h = fnv1a(key);
  uint32_t n = 0;
  for (uint32_t i = buckets_[bucket_of(h)], next; i != kNone; i = next) {
    Object& o = obj(i);
    next = o.hash_next;
    // A fetch in progress goes too: its client may already have the whole
    // response, and a purge must not leave that copy to be stored after it.
    if (o.hash == h && o.state != ObjState::Free && o.state != ObjState::Failed && o.linked && key_equals(o, key)) {
      n += o.state != ObjState::Pass;
      unlink(i);
    }
  }
  return n;
}

// The ban is compiled (and a regex validated) before the lock is taken;
// inside it only goes into the ring. A full ring retires its oldest ban
// without testing any object against it: the copies no lookup has checked
// against it since it was made (cold ones; a lookup checks what it meets)
// are dropped when next met, or evicted. Nothing is scanned, nothing is
// matched under the lock, and the master (which makes bans) never runs one.
uint64_t Store::ban(BanKind kind, std::string_view host, std::string_view pattern, std::string* error) {
  auto fail = [&](const std::string& why) -> uint64_t {
    if (error) *error = why;
    return 0;
  };
  if (!hdr_) return fail("no cache store");
  if (host.size() >= sizeof(Ban::host) || pattern.size() >= sizeof(Ban::pattern)) return fail("the host or pattern is too long");
  std::string why;
  if (!BanRule::make(kind, host, pattern, &why)) return fail("not a valid regular expression: " + why);
  Lock lock(*this);
  if (!lock.held()) return fail("the cache store is busy (a process holds its lock); try again");
  if (hdr_->ban_count == kMaxBans) {
    hdr_->ban_floor = hdr_->bans[hdr_->ban_first].seq;
    hdr_->ban_first = (hdr_->ban_first + 1) % kMaxBans;
    --hdr_->ban_count;
  }
  Ban& b = hdr_->bans[(hdr_->ban_first + hdr_->ban_count) % kMaxBans];
  b = Ban{};
  b.seq = ++hdr_->ban_seq;
  b.kind = kind;
  std::memcpy(b.host, host.data(), host.size());
  std::memcpy(b.pattern, pattern.data(), pattern.size());
  ++hdr_->ban_count;
  return b.seq;
}

void Store::abandon_owned_by(int32_t pid) {
  if (!hdr_) return;
  Lock lock(*this, Lock::Forever);
  abandon_owned_locked(pid);
}

void Store::abandon_owned_locked(int32_t pid) {
  for (uint32_t i = 0; i < hdr_->n_objects; ++i) {
    Object& o = obj(i);
    if (o.state != ObjState::Busy || o.owner_pid != pid) continue;
    o.state = ObjState::Failed;  // its pins are returned from the dead worker's slots
    unlink(i);
  }
}

bool Store::reaped(int32_t pid, std::vector<uint64_t> pins) {
  if (!hdr_) return false;
  local_->reaped.push_back({pid, std::move(pins)});
  return retry_reaped();
}

bool Store::retry_reaped() {
  if (!hdr_ || local_->reaped.empty()) return false;
  Lock lock(*this, Lock::Never);
  if (!lock.held()) return true;  // a stalled holder: the next maintenance tick tries again
  for (const auto& r : local_->reaped) {
    abandon_owned_locked(r.pid);
    for (uint64_t p : r.pins) release_locked(Handle::unpack(p));
  }
  local_->reaped.clear();
  return false;
}

void Store::defer(int op, Handle h, std::string_view key) {
  std::lock_guard<std::mutex> g(local_->deferred_mu);
  local_->deferred.push_back({static_cast<Local::Op>(op), h, std::string(key)});
  local_->has_deferred.store(true, std::memory_order_release);
}

// Under the lock, from Lock: what this process could not do during a stall.
void Store::run_deferred() {
  std::vector<Local::Deferred> work;
  {
    std::lock_guard<std::mutex> g(local_->deferred_mu);
    work.swap(local_->deferred);
    local_->has_deferred.store(false, std::memory_order_release);
  }
  for (const auto& d : work) {
    switch (d.op) {
      case Local::Release: release_locked(d.h); break;
      case Local::Abandon: abandon_locked(d.h); break;
      case Local::Finish: finish_locked(d.h); break;
      case Local::Purge: purge_locked(d.key); break;
    }
  }
}

StoreStats Store::stats() const {
  StoreStats s;
  if (!hdr_) return s;
  s.objects = __atomic_load_n(&hdr_->objects_used, __ATOMIC_RELAXED);
  s.bytes_used = uint64_t{__atomic_load_n(&hdr_->blocks_used, __ATOMIC_RELAXED)} * kBlockSize;
  s.bytes_total = uint64_t{hdr_->n_blocks} * kBlockSize;
  s.evictions = __atomic_load_n(&hdr_->evictions_total, __ATOMIC_RELAXED);
  s.bans = __atomic_load_n(&hdr_->ban_count, __ATOMIC_RELAXED);
  s.lock_timeouts = __atomic_load_n(&hdr_->lock_timeouts, __ATOMIC_RELAXED);
  return s;
}

uint64_t Store::evictions(uint32_t vhost) const {
  if (!hdr_ || vhost >= kMaxVhosts) return 0;
  return __atomic_load_n(&hdr_->evictions[vhost], __ATOMIC_RELAXED);
}

}  // namespace pillar::cache
