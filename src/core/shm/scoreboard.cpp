#include "core/shm/scoreboard.h"

#include <new>

#include "core/shm/shared_memory.h"

namespace pillar::core::shm {

size_t Scoreboard::bytes_needed(uint32_t rows, uint32_t thread_limit) {
  return sizeof(ScoreboardHeader) + 64 + sizeof(ProcessRow) * rows + 64 +
         sizeof(ConnSlot) * static_cast<size_t>(rows) * thread_limit + 64;
}

bool Scoreboard::create(SharedMemory& mem, uint32_t rows, uint32_t thread_limit) {
  void* h = mem.allocate(sizeof(ScoreboardHeader));
  void* r = mem.allocate(sizeof(ProcessRow) * rows);
  void* s = mem.allocate(sizeof(ConnSlot) * static_cast<size_t>(rows) * thread_limit);
  if (!h || !r || !s) return false;
  header_ = new (h) ScoreboardHeader();
  header_->magic = kMagic;
  header_->layout_version = kLayoutVersion;
  header_->rows = rows;
  header_->thread_limit = thread_limit;
  rows_ = static_cast<ProcessRow*>(r);
  for (uint32_t i = 0; i < rows; ++i) new (&rows_[i]) ProcessRow();
  slots_ = static_cast<ConnSlot*>(s);
  for (size_t i = 0; i < static_cast<size_t>(rows) * thread_limit; ++i) new (&slots_[i]) ConnSlot();
  return true;
}

int Scoreboard::claim_row(int32_t pid, uint32_t generation) const {
  for (uint32_t r = 0; r < header_->rows; ++r) {
    ProcessRow& row = rows_[r];
    if (row.pid.load() != 0 || row.state.load() != static_cast<uint8_t>(ProcessState::Free)) continue;
    row.generation.store(generation);
    row.quiescing.store(0);
    row.active.store(0);
    row.connections.store(0);
    row.requests.store(0);
    row.bytes.store(0);
    row.sendfile_bytes.store(0);
    row.cpu_user_ticks.store(0);
    row.cpu_system_ticks.store(0);
    row.rss_anon_kb.store(0);
    row.log_lines_dropped.store(0);
    row.log_write_errors.store(0);
    row.slots.store(0);
    row.started_ms.store(0);
    row.state.store(static_cast<uint8_t>(ProcessState::Starting));
    row.pid.store(pid);
    return static_cast<int>(r);
  }
  return -1;
}

void Scoreboard::release_row(uint32_t r) const {
  ProcessRow& row = rows_[r];
  // Give back the node-wide reservations a dead worker could not.
  uint32_t held = row.active.load();
  uint32_t cur = header_->conns_in_use.load();
  while (!header_->conns_in_use.compare_exchange_weak(cur, cur >= held ? cur - held : 0)) {
  }
  header_->retired_requests.fetch_add(row.requests.load());
  header_->retired_bytes.fetch_add(row.bytes.load());
  header_->retired_sendfile_bytes.fetch_add(row.sendfile_bytes.load());
  header_->retired_cpu_user_ticks.fetch_add(row.cpu_user_ticks.load());
  header_->retired_cpu_system_ticks.fetch_add(row.cpu_system_ticks.load());
  header_->retired_connections.fetch_add(row.connections.load());
  header_->retired_log_lines_dropped.fetch_add(row.log_lines_dropped.load());
  header_->retired_log_write_errors.fetch_add(row.log_write_errors.load());
  for (uint32_t i = 0; i < header_->thread_limit; ++i) {
    ConnSlot& s = slot(r, i);
    s.state.store(static_cast<char>(SlotState::Open));
    s.conn_requests.store(0);
    s.conn_bytes.store(0);
  }
  row.active.store(0);
  row.pid.store(0);
  row.state.store(static_cast<uint8_t>(ProcessState::Free));
}

uint32_t Scoreboard::busy_slots() const {
  uint32_t busy = 0;
  for (uint32_t r = 0; r < header_->rows; ++r) {
    if (rows_[r].pid.load(std::memory_order_relaxed) == 0) continue;
    busy += rows_[r].active.load(std::memory_order_relaxed);
  }
  return busy;
}

}  // namespace pillar::core::shm
