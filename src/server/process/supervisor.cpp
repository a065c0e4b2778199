#include "server/process/supervisor.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include "core/assert.h"
#include <cstring>

#include "config/process_limits.h"
#include "core/log.h"
#include "core/clock.h"
#include "server/process/spares.h"

namespace pillar::server {

namespace {
using core::shm::ProcessState;
using Clock = std::chrono::steady_clock;
constexpr auto kStopGrace = std::chrono::seconds(5);
constexpr auto kReplacementWait = std::chrono::seconds(5);

bool in_state(const core::shm::Scoreboard& b, uint32_t row, ProcessState s) {
  return b.row(row).state.load() == static_cast<uint8_t>(s);
}
}  // namespace

Child* Supervisor::find(pid_t pid) {
  for (auto& c : children_) {
    if (c.pid == pid) return &c;
  }
  return nullptr;
}

bool Supervisor::old_generation_alive() const {
  return std::any_of(children_.begin(), children_.end(), [&](const Child& c) { return c.generation != generation_; });
}

void Supervisor::spawn() {
  WorkerSpec spec = spec_();
  PILLAR_ASSERT(spec.runtime && spec.listeners);
  int row = board_.claim_row(-1, generation_);
  if (row < 0) {
    // Expected for a moment after make_room(): the hurried workers' rows
    // come back when they are reaped, and maintain() spawns then.
    bool rows_coming = std::any_of(children_.begin(), children_.end(), [](const Child& c) { return c.hurried; });
    core::log(rows_coming ? core::LogLevel::Info : core::LogLevel::Error, "mpm",
              "no free scoreboard row for a new worker (ServerLimit {}){}",
              spec.runtime->config().process.server_limit,
              rows_coming ? ": waiting for draining workers to exit" : "");
    return;
  }
  spec.board = board_;
  spec.row = static_cast<uint32_t>(row);
  spec.master_pid = getpid();
  core::ErrorLog::flush();
  pid_t pid = fork();
  if (pid < 0) {
    core::log(core::LogLevel::Error, "mpm", "fork failed: {}", strerror(errno));
    board_.release_row(static_cast<uint32_t>(row));
    return;
  }
  if (pid == 0) run_worker(spec);
  board_.row(static_cast<uint32_t>(row)).pid.store(pid);
  children_.push_back(Child{pid, static_cast<uint32_t>(row), generation_});
}

// What the worker held in node-wide tables, recorded per slot of its row.
void Supervisor::release_holdings(const Child& c) {
  if (holdings_.cache && holdings_.cache->ready()) {  // its fetches fail, its pins are returned
    std::vector<uint64_t> pins;  // (later, without waiting, if a stalled process holds the store's lock)
    for (uint32_t i = 0; i < board_.thread_limit(); ++i)
      for (auto& pin : board_.slot(c.row, i).cache_pins)
        if (uint64_t v = pin.exchange(0)) pins.push_back(v);
    holdings_.cache->reaped(c.pid, std::move(pins));
  }
  if (holdings_.members) {  // the busy counts its proxied requests held
    for (uint32_t i = 0; i < board_.thread_limit(); ++i)
      for (auto& held : board_.slot(c.row, i).held_members) holdings_.members->release_ref(held.exchange(0));
  }
  if (holdings_.client_conns) {  // the per-client connection counts its connections held
    for (uint32_t i = 0; i < board_.thread_limit(); ++i) holdings_.client_conns->give_back(board_.slot(c.row, i).client_conn);
  }
  board_.release_row(c.row);
  if (holdings_.vhost_stats) holdings_.vhost_stats->retire_row(c.row);
}

bool Supervisor::reaped(pid_t pid, int status) {
  Child* c = find(pid);
  if (!c) return false;
  if (WIFSIGNALED(status) && !c->retiring) {
    int sig = WTERMSIG(status);
    core::log(core::LogLevel::Error, "mpm", "child pid {} exit signal {} ({}){}", pid, strsignal(sig), sig,
              WCOREDUMP(status) ? ", possible coredump" : "");
    board_.header().crashes.fetch_add(1);
    if (c->generation == generation_) ++owed_;
  } else if (!c->retiring && c->generation == generation_) {
    core::log(core::LogLevel::Error, "mpm", "child pid {} exited unexpectedly with status {}", pid,
              WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    ++owed_;
  }
  release_holdings(*c);
  children_.erase(children_.begin() + (c - children_.data()));
  return true;
}

void Supervisor::maintain(const config::ProcessConfig& p) {
  // Recycling: the replacement first, then the old one drains.
  for (auto& c : children_) {
    if (c.retiring || c.generation != generation_) continue;
    if (!in_state(board_, c.row, ProcessState::Recycling)) continue;
    if (!c.replacement) {
      size_t before = children_.size();
      pid_t self = c.pid;
      spawn();  // may reallocate children_
      Child* me = find(self);
      me->replacement = children_.size() > before ? children_.back().pid : -1;  // -1: no room, capacity dips
      me->replacement_started = Clock::now();
      return maintain(p);
    }
    Child* repl = c.replacement > 0 ? find(c.replacement) : nullptr;
    bool ready = !repl || in_state(board_, repl->row, ProcessState::Running);
    if (ready || Clock::now() - c.replacement_started > kReplacementWait) {
      c.retiring = true;
      kill(c.pid, SIGWINCH);
    }
  }
  // Spare slots, counted over this generation's serving workers.
  std::vector<ServingWorker> serving;
  std::vector<Child*> serving_child;
  for (auto& c : children_) {
    if (c.retiring || c.generation != generation_) continue;
    serving.push_back({board_.row(c.row).active.load(), in_state(board_, c.row, ProcessState::Running)});
    serving_child.push_back(&c);
  }
  SpareInputs in;
  in.workers = serving;
  in.threads_per_child = p.threads_per_child;
  in.max_request_workers = p.max_request_workers;
  in.start_servers = p.start_servers;
  in.min_spare_threads = p.min_spare_threads;
  in.max_spare_threads = p.max_spare_threads;
  in.max_workers = config::max_workers(p);
  in.conns_in_use = board_.header().conns_in_use.load();
  in.owed = owed_;
  in.spawn_rate = spawn_rate_;
  SparePlan plan = plan_spares(in);
  spawn_rate_ = plan.spawn_rate;
  if (plan.retire >= 0) {  // before spawning: children_ may reallocate
    Child& c = *serving_child[static_cast<size_t>(plan.retire)];
    core::log(core::LogLevel::Info, "mpm", "retiring worker {}: {} idle slots above MaxSpareThreads {}", c.pid,
              plan.idle, p.max_spare_threads);
    c.retiring = true;
    kill(c.pid, SIGWINCH);
  }
  for (uint32_t i = 0; i < plan.start; ++i) spawn();
  owed_ = plan.owed;
}

void Supervisor::signal_children(int sig, bool only_old) {
  for (auto& c : children_) {
    if (only_old && c.generation == generation_) continue;
    // A second WINCH means "close your idle connections now" (make_room).
    if (sig == SIGWINCH && c.retiring) continue;
    c.retiring = true;
    kill(c.pid, sig);
  }
}

// A reload never leaves the serving generation without workers (spares.h).
void Supervisor::make_room(uint32_t want) {
  std::vector<RowHolder> holders;
  for (const auto& c : children_) holders.push_back({c.generation, c.retiring, c.hurried});
  RoomPlan plan = plan_make_room(holders, board_.rows(), want, generation_);
  for (size_t i : plan.hurry) {
    children_[i].hurried = true;
    kill(children_[i].pid, SIGWINCH);
  }
  for (uint32_t g : plan.generations) {
    core::log(core::LogLevel::Notice, "mpm",
              "scoreboard rows short for generation {}: generation {} closes its idle connections now",
              generation_, g);
  }
}

void Supervisor::new_generation(uint32_t start_servers, bool hard) {
  ++generation_;
  auto& hdr = board_.header();
  hdr.generation.store(generation_);
  hdr.restart_ms.store(core::wall_ms());
  owed_ = 0;
  // New workers first (they share the listening sockets), then the old
  // generation stops accepting and drains.
  make_room(start_servers);
  for (uint32_t i = 0; i < start_servers; ++i) spawn();
  signal_children(hard ? SIGTERM : SIGWINCH, true);
}

void Supervisor::stop_all(bool graceful, std::chrono::milliseconds graceful_timeout,
                          const std::function<void()>& reap) {
  signal_children(graceful ? SIGWINCH : SIGTERM, false);
  auto deadline = Clock::now() + kStopGrace;
  if (graceful)
    deadline = graceful_timeout.count() > 0 ? Clock::now() + graceful_timeout : Clock::time_point::max();
  bool killed = false;
  while (!children_.empty()) {
    reap();
    if (children_.empty()) break;
    if (Clock::now() >= deadline) {
      if (graceful && !killed) {  // graceful time is up: a normal stop follows
        signal_children(SIGTERM, false);
        deadline = Clock::now() + kStopGrace;
        graceful = false;
        continue;
      }
      if (!killed) {
        for (auto& c : children_) kill(c.pid, SIGKILL);
        killed = true;
      }
    }
    usleep(10000);
  }
}

}  // namespace pillar::server
