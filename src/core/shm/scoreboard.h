// The scoreboard: Apache's scoreboard.h idea on an event engine. Plain data
// in shared memory, no pointers, one row per worker process (plus spare rows
// for generations still draining) and one slot per connection a worker may
// hold. A slot is written only by the thread that owns the connection;
// everyone else (master, server-status) only reads. Whatever a dead worker
// held is found by its pid and reclaimed by the master.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace pillar::core::shm {

// mod_status's key.
enum class SlotState : char {
  Open = '.',       // no worker owns this slot
  Ready = '_',      // waiting for a connection
  Starting = 'S',
  Reading = 'R',
  Writing = 'W',
  KeepAlive = 'K',
  Dns = 'D',
  Closing = 'C',
  Logging = 'L',
  Graceful = 'G',   // finishing before its process exits
  Idle = 'I',       // idle cleanup
};

// Running -> Recycling (asks the master for a replacement, still serving)
// -> Draining (stopped accepting, finishing its connections) -> Free.
enum class ProcessState : uint8_t { Free = 0, Starting, Running, Recycling, Draining };

struct ConnSlot {
  std::atomic<char> state{static_cast<char>(SlotState::Open)};
  std::atomic<uint64_t> access_count{0};   // requests served on this slot, lifetime
  std::atomic<uint64_t> bytes_served{0};
  std::atomic<uint32_t> conn_requests{0};  // requests on the current connection
  std::atomic<uint64_t> conn_bytes{0};
  std::atomic<uint64_t> last_used_ms{0};   // wall clock, ms
  std::atomic<uint32_t> last_duration_us{0};
  // Cache objects this connection has pinned (cache::Handle::pack()), so the
  // master can unpin them if the worker dies.
  std::atomic<uint64_t> cache_pins[2]{};
  // Balancer members this connection counts as busy (a packed reference:
  // balancer block and member slot, 0 = none; see proxy::MemberTable::ref),
  // recorded before the count is taken, so the master gives back exactly
  // what a dead worker held. Several, as a finished exchange may release
  // after its connection's next one acquired.
  static constexpr size_t kHeldMembers = 4;
  std::atomic<uint32_t> held_members[kHeldMembers]{};
  // The per-client connection count this connection holds
  // (core/shm/client_conn_table.h; 0: none), given back at close or by the
  // master when the worker dies.
  std::atomic<uint64_t> client_conn{0};
  // ExtendedStatus text; may be read torn by server-status (as in Apache).
  char client[48];
  char vhost[48];
  char request[96];
};

struct ProcessRow {
  std::atomic<int32_t> pid{0};
  std::atomic<uint32_t> generation{0};
  std::atomic<uint8_t> state{0};           // ProcessState
  std::atomic<uint8_t> quiescing{0};       // set by the master: stop accepting, drain, exit
  std::atomic<uint32_t> active{0};         // slots in use
  std::atomic<uint64_t> connections{0};    // accepted since start
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> sendfile_bytes{0};  // of `bytes`, those sent by sendfile(2) (EnableSendfile)
  std::atomic<uint64_t> cpu_user_ticks{0};  // refreshed by the worker (clock ticks)
  std::atomic<uint64_t> cpu_system_ticks{0};
  std::atomic<uint64_t> rss_anon_kb{0};
  std::atomic<int64_t> started_ms{0};      // wall clock
  std::atomic<uint32_t> slots{0};          // ThreadsPerChild of its generation
  // Log lines this worker could not write (full disk...) and its failed
  // writes, published by the worker each tick (core::log_totals()).
  std::atomic<uint64_t> log_lines_dropped{0};
  std::atomic<uint64_t> log_write_errors{0};
};

// TLS handshakes node-wide (pillar_tls_* in /metrics): every worker adds
// here directly (relaxed), so nothing is folded when a worker exits.
struct TlsCounters {
  std::atomic<uint64_t> handshakes{0};  // completed
  std::atomic<uint64_t> resumed{0};     // of them, resumed sessions (tickets or cache)
  std::atomic<uint64_t> failures{0};    // refused or broken off after the client spoke
};

// HTTP/2 at the front, node-wide (pillar_http2_* in /metrics), added to
// directly by every worker as TlsCounters are. The hostile-peer counters
// each count connections (or streams) a limit of src/server/http2/limits.h
// ended; docs/http2.md names the limit behind each.
struct Http2Counters {
  std::atomic<uint64_t> sessions{0};          // HTTP/2 connections begun (ALPN h2 or the h2c preface)
  std::atomic<uint64_t> streams{0};           // requests carried
  std::atomic<uint64_t> refused_streams{0};   // over H2MaxSessionStreams (or no scoreboard slot): REFUSED_STREAM
  std::atomic<uint64_t> rapid_resets{0};      // connections closed for too many RST_STREAMs (CVE-2023-44487)
  std::atomic<uint64_t> header_floods{0};     // header lists over the limits, CONTINUATION floods (431 or GOAWAY)
  std::atomic<uint64_t> control_floods{0};    // SETTINGS, PING, WINDOW_UPDATE or empty-frame floods: GOAWAY
  std::atomic<uint64_t> stalled_streams{0};   // streams reset after Timeout with a closed flow-control window
  std::atomic<uint64_t> protocol_errors{0};   // connections ended by a protocol error of the client (GOAWAY)
};

struct ScoreboardHeader {
  uint32_t magic;
  uint32_t layout_version;
  uint32_t rows;            // ServerLimit + spare rows
  uint32_t thread_limit;    // slots per row
  std::atomic<uint32_t> generation{0};
  std::atomic<int64_t> start_ms{0};        // master start (wall)
  std::atomic<int64_t> restart_ms{0};      // last restart/graceful (wall)
  // Totals of processes that have exited, so totals never go backwards.
  std::atomic<uint64_t> retired_requests{0};
  std::atomic<uint64_t> retired_bytes{0};
  std::atomic<uint64_t> retired_sendfile_bytes{0};
  std::atomic<uint64_t> retired_cpu_user_ticks{0};
  std::atomic<uint64_t> retired_cpu_system_ticks{0};
  std::atomic<uint64_t> retired_connections{0};
  std::atomic<uint64_t> crashes{0};
  std::atomic<uint64_t> recycles{0};
  std::atomic<uint64_t> retired_log_lines_dropped{0};
  std::atomic<uint64_t> retired_log_write_errors{0};
  // The node-wide connection limit (MaxRequestWorkers): a worker reserves
  // here before accept and gives back on close; the master returns what a
  // dead worker held.
  std::atomic<uint32_t> conns_in_use{0};
  std::atomic<uint32_t> max_conns{0};
  std::atomic<uint32_t> threads_per_child{0};  // current generation's
  // Overload protection (docs/limits.md), node-wide counters and the load
  // the master samples each second (/proc/loadavg, thousandths).
  std::atomic<uint64_t> client_limit_refusals{0};  // requests refused for PillarMaxConnectionsPerClient
  std::atomic<uint64_t> shed_requests{0};          // low-priority requests refused by PillarShedLoad
  std::atomic<uint64_t> rate_limited{0};           // requests refused (429) by PillarRateLimit
  std::atomic<uint64_t> rate_delayed{0};           // requests PillarRateLimit held back to the rate
  std::atomic<uint32_t> load_milli{0};             // 1-minute load average x 1000
  TlsCounters tls;
  Http2Counters h2;
};

class SharedMemory;

// A typed view over the scoreboard's memory; cheap to copy.
class Scoreboard {
 public:
  static constexpr uint32_t kMagic = 0x50494c53;  // "PILS"
  static constexpr uint32_t kLayoutVersion = 8;

  Scoreboard() = default;
  // Carves the tables from `mem`; false when it does not fit.
  bool create(SharedMemory& mem, uint32_t rows, uint32_t thread_limit);
  static size_t bytes_needed(uint32_t rows, uint32_t thread_limit);

  ScoreboardHeader& header() const { return *header_; }
  uint32_t rows() const { return header_->rows; }
  uint32_t thread_limit() const { return header_->thread_limit; }
  ProcessRow& row(uint32_t r) const { return rows_[r]; }
  ConnSlot& slot(uint32_t r, uint32_t i) const { return slots_[static_cast<size_t>(r) * header_->thread_limit + i]; }

  // Master: a free row for a new worker, or -1.
  int claim_row(int32_t pid, uint32_t generation) const;
  // Master: after waitpid, fold the row's totals into the header and free
  // every slot it held (capacity comes back whole even after a crash).
  void release_row(uint32_t r) const;
  // Busy (not Ready/Open) connection slots over all live rows.
  uint32_t busy_slots() const;

 private:
  ScoreboardHeader* header_ = nullptr;
  ProcessRow* rows_ = nullptr;
  ConnSlot* slots_ = nullptr;
};

}  // namespace pillar::core::shm
