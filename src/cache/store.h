// The node's cache: one shared anonymous mapping created by the master
// before it forks, so every worker of every generation uses the same objects
// and the cache outlives graceful reloads and recycled workers. The layout
// is plain data (indices, no pointers): a header with a robust process-shared
// mutex, a hash index of objects, and fixed-size blocks holding each
// object's byte stream
//
//   [primary key][Vary names][vary key][stored head][body]
//
// An object is Busy while its fetcher appends, then Ready (immutable until
// freed), or a Pass marker (hit-for-pass: the key's last response could not
// be stored), or Failed (unlinked; its waiters retry). Readers pin objects
// (refs) so their blocks are not reused while a body is being sent; each pin
// is also recorded in the connection's scoreboard slot so the master can
// return the pins of a worker that crashed. Eviction takes unpinned objects
// from the LRU tail until the blocks a writer needs are free. Bans are lazy:
// an object remembers the last ban sequence it was checked against and is
// checked against newer bans only when a lookup meets it, and the test runs
// outside the lock (ban.h).
//
// The lock is node-wide, so its critical sections are pointer work and
// small copies only, and nobody waits on it without a bound: a worker waits
// kLockWaitMs at most (a lookup then answers Unavailable and the request is
// passed, counted in lock_timeouts; a release or an abandon is deferred to
// this process's next locking), the master never waits (see reaped()).
#pragma once
#include <pthread.h>
#include <sys/uio.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cache/ban.h"

namespace pillar::cache {

inline constexpr uint32_t kNone = 0xffffffffu;

enum class ObjState : uint8_t { Free = 0, Busy, Ready, Pass, Failed };

// Freshness and bookkeeping of a stored response (seconds, Unix time).
struct ObjectMeta {
  int64_t stored_at = 0;        // the response's arrival, s (RFC 9111 age arithmetic)
  int64_t stored_ms = 0;        // the same in ms: ages count from here, so a max-age=1 lives a whole second
  int64_t initial_age = 0;
  int64_t ttl = 0;
  int64_t grace = 0;            // stale-while-revalidate window after ttl
  int64_t stale_if_error = 0;   // window after ttl in which an origin failure serves it
  int64_t body_expected = -1;   // Content-Length, -1 when unknown until the end
  uint16_t status = 0;
  uint16_t vhost = 0;           // VhostStats id, for per-vhost eviction counts
  bool revalidate_always = false;
  bool auth_ok = false;         // may answer requests with Authorization (public, s-maxage, must-revalidate)
  bool must_revalidate = false; // never served stale (must-/proxy-revalidate, s-maxage), even to max-stale
};

// Names one object incarnation: a handle outlives the object harmlessly
// (generation mismatch) but is only meaningful while pinned.
struct Handle {
  uint32_t idx = kNone;
  uint32_t gen = 0;
  explicit operator bool() const { return idx != kNone; }
  uint64_t pack() const { return idx == kNone ? 0 : (uint64_t{idx + 1} << 32) | gen; }
  static Handle unpack(uint64_t v) { return v ? Handle{static_cast<uint32_t>((v >> 32) - 1), static_cast<uint32_t>(v)} : Handle{}; }
};

// What an object holds right now (taken under the lock).
struct Snapshot {
  ObjState state = ObjState::Free;
  bool head_ready = false;
  uint64_t body_len = 0;  // body bytes stored so far
  ObjectMeta meta;
  uint32_t key_len = 0, names_len = 0, vary_len = 0, head_len = 0;
  bool unavailable = false;  // the lock was not had in time: nothing known (try again later)
  uint64_t body_offset() const { return uint64_t{key_len} + names_len + vary_len + head_len; }
};

struct StoreStats {
  uint64_t objects = 0;
  uint64_t bytes_used = 0;
  uint64_t bytes_total = 0;
  uint64_t evictions = 0;
  uint64_t bans = 0;  // bans still held (not yet applied everywhere)
  uint64_t lock_timeouts = 0;  // lookups that could not take the lock in kLockWaitMs (passed)
};

class Store {
 public:
  static constexpr uint32_t kBlockSize = 2048;
  static constexpr uint32_t kMaxBans = 128;
  static constexpr uint32_t kMaxVhosts = 512;
  static constexpr int kLockWaitMs = 50;  // the longest a worker waits for the store's lock

  Store();
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Master, before forking: maps `bytes` of shared memory (the CacheSize
  // bound: index, blocks and all) and lays the store out in it.
  bool create(uint64_t bytes, std::string& error);
  bool ready() const { return hdr_ != nullptr; }
  uint64_t size() const { return size_; }

  // The newest objects for `key` whose Vary selection `matches` the request.
  struct Lookup {
    // Unavailable: the lock was not had within kLockWaitMs (a stalled
    // holder); nothing is pinned, the caller passes.
    enum Kind : uint8_t { Miss, Hit, Busy, Pass, Fetch, Crowded, Unavailable } kind = Miss;
    Handle ready;    // newest Ready variant (pinned), fresh or not
    Handle busy;     // Busy: the object being fetched (pinned; the caller waits on it)
                     // Fetch: the new Busy object the caller must fill (pinned, owned)
    bool fresh = false;
  };
  // `now_ms`: wall clock in milliseconds.
  // `force_stale`: treat a Ready object as stale (the client asked to revalidate).
  // `fetch`: when nothing fresh, pass-marked or busy is found, create a Busy
  // object owned by `owner_pid` and return Fetch. `max_waiters`: a Busy object
  // with that many pins already gives Crowded (the caller goes to the origin alone).
  using VaryMatch = std::function<bool(std::string_view names, std::string_view key)>;
  // `busy_max_age_ms`: a fetch older than this is not waited on
  // (CacheLockMaxAge); the caller fetches beside it.
  // `waiter_bit`: set in a Busy object's waiter mask (which event loops to
  // wake when it progresses; see waiter_mask()).
  // `pin_cells`: the caller's scoreboard slot cells ([0] ready, [1] busy):
  // each pin is recorded there under the lock as it is taken, so a worker
  // that dies right after the lookup leaves nothing the master cannot return.
  Lookup lookup(std::string_view key, const VaryMatch& matches, int64_t now_ms, bool force_stale, bool fetch,
                int32_t owner_pid, uint32_t max_waiters, uint64_t waiter_bit = 0, int64_t busy_max_age_ms = INT64_MAX,
                std::atomic<uint64_t>* pin_cells = nullptr);
  // The loops waiting on a Busy object; read after each update the fetcher
  // makes (a waiter registers before it first looks, so none is missed).
  uint64_t waiter_mask(Handle h) const;
  void watch(Handle h, uint64_t waiter_bit);  // a pinned reader asks to be woken too

  // Fetcher side (the handle came from a Fetch lookup).
  bool set_head(Handle h, std::string_view vary_names, std::string_view vary_key, std::string_view head,
                const ObjectMeta& meta);
  bool append(Handle h, std::string_view body);  // false: no room (the caller abandons)
  void finish(Handle h);                          // Ready; older copies of the variant are dropped
  void abandon(Handle h);                         // Failed: waiters retry, the data is freed
  void make_pass(Handle h, int64_t until_ms, uint16_t vhost);  // hit-for-pass marker until `until_ms`
  // Copies `from`'s body into `to` (a 304 revalidated `from`: `to` got the new head).
  bool copy_body(Handle from, Handle to);

  // Reader side.
  Snapshot snapshot(Handle h) const;
  // Copies stream bytes [offset, offset + len) of a pinned object; the
  // caller keeps within what a snapshot said is stored.
  void read(Handle h, uint64_t offset, char* dst, size_t len) const;
  std::string read_string(Handle h, uint64_t offset, size_t len) const;
  // Points `iov` at stream bytes [offset, offset + len) of a pinned object
  // where they lie in the store (a body goes to the socket without a copy);
  // returns how many entries were filled (at most `max`; then fewer bytes).
  size_t map(Handle h, uint64_t offset, uint64_t len, iovec* iov, size_t max) const;
  // Another pin on a live object, recorded in `cell` (when given) under the
  // lock; false when the object is gone or the lock was not had in time.
  bool pin(Handle h, std::atomic<uint64_t>* cell = nullptr);
  void release(Handle h);  // unpins; frees an unlinked object with no pins left
  // Releases the pin recorded in a slot cell. The cell is emptied first
  // (atomic exchange), so of the worker and the master reaping it exactly
  // one releases each pin.
  void release_cell(std::atomic<uint64_t>& cell);

  // Invalidation.
  // Every variant; returns how many. `unavailable` (when given) is set when
  // the lock was not had in time (nothing purged; without it the purge is
  // deferred to this process's next locking).
  uint32_t purge(std::string_view key, bool* unavailable = nullptr);
  // Returns the ban's sequence, or 0 with *error set (an invalid regex, a
  // host or pattern too long, the lock not had in time).
  uint64_t ban(BanKind kind, std::string_view host, std::string_view pattern, std::string* error = nullptr);
  // Master: a worker died; its Busy objects fail (their waiters retry).
  void abandon_owned_by(int32_t pid);
  // Master, from its loop: a reaped worker's fetches fail and `pins` (taken
  // out of its slots) are returned, now if the lock is free, else at a later
  // retry_reaped() (the master never waits on the lock: a stalled holder
  // must not stop it reaping and replacing workers). Returns whether
  // anything is still pending.
  bool reaped(int32_t pid, std::vector<uint64_t> pins);
  bool retry_reaped();

  StoreStats stats() const;  // without the lock (each figure read atomically)
  uint64_t evictions(uint32_t vhost) const;
  static std::string_view key_host(std::string_view key) { return cache::key_host(key); }
  static std::string_view key_target(std::string_view key) { return cache::key_target(key); }

 private:
  struct Header;
  struct Object;
  struct Ban;
  struct Local;
  class Lock;
  // Which bans newer than `from` (up to `to`) match one key: the newest
  // matching sequence (`top`, 0: none). Computed outside the lock.
  struct BanVerdict {
    uint64_t from = UINT64_MAX, to = 0, top = 0;
  };

  Object& obj(uint32_t i) const;
  Object* live(Handle h) const;
  char* block(uint32_t b) const;
  uint32_t bucket_of(uint64_t hash) const;
  bool key_equals(const Object& o, std::string_view key) const;
  bool alloc_object(uint32_t& idx);
  bool alloc_block(uint32_t& b);
  bool evict_one();
  bool write(Object& o, std::string_view bytes);  // appends to the stream
  void copy_out(const Object& o, uint64_t offset, char* dst, size_t len) const;
  void truncate_to(Object& o, uint64_t len);
  void unlink(uint32_t idx);        // out of the index and LRU; freed now or when unpinned
  void free_object(uint32_t idx);
  void lru_touch(uint32_t idx);
  void lru_remove(uint32_t idx);
  BanVerdict judge(std::string_view key, uint64_t from, uint64_t to, uint64_t oldest, const std::vector<Ban>& copied);
  Lookup lookup_locked(std::string_view key, uint64_t hash, const BanVerdict& verdict, const VaryMatch& matches,
                       int64_t now_ms, bool force_stale, bool fetch, int32_t owner_pid, uint32_t max_waiters,
                       uint64_t waiter_bit, int64_t busy_max_age_ms, std::atomic<uint64_t>* pin_cells);
  void release_locked(Handle h);
  void abandon_locked(Handle h);
  void finish_locked(Handle h);
  uint32_t purge_locked(std::string_view key);
  void abandon_owned_locked(int32_t pid);
  void defer(int op, Handle h, std::string_view key = {});
  void run_deferred();

  void* base_ = nullptr;
  uint64_t size_ = 0;
  Header* hdr_ = nullptr;
  uint32_t* buckets_ = nullptr;
  Object* objects_ = nullptr;
  uint32_t* block_next_ = nullptr;
  char* data_ = nullptr;
  std::unique_ptr<Local> local_;  // this process's compiled bans and deferred work
};

}  // namespace pillar::cache
