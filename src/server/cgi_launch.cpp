// The launcher messages' wire form: a kind byte, then fields in order;
// integers little-endian, strings as a 32-bit length and the bytes. Both
// ends are this build, so there is no versioning; decoding still checks
// every length, since the launcher runs as root.
#include "server/cgi_launch.h"

#include <signal.h>
#include <sys/wait.h>

#include <cstring>

namespace pillar::server {
namespace {

constexpr uint8_t kRequestTag = 0x43;  // 'C'

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u64(uint64_t v) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  void str(std::string_view s) {
    u64(s.size());
    out_.append(s);
  }
  void limit(const config::RLimitValue& l) {
    u8(l.set);
    u64(l.soft);
    u8(l.hard.has_value());
    u64(l.hard.value_or(0));
  }

 private:
  std::string& out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool u8(uint8_t& v) {
    if (in_.empty()) return false;
    v = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return true;
  }
  bool u64(uint64_t& v) {
    if (in_.size() < 8) return false;
    v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(in_[static_cast<size_t>(i)])) << (8 * i);
    in_.remove_prefix(8);
    return true;
  }
  bool str(std::string& s) {
    uint64_t n;
    if (!u64(n) || n > in_.size()) return false;
    s.assign(in_.substr(0, static_cast<size_t>(n)));
    in_.remove_prefix(static_cast<size_t>(n));
    return true;
  }
  bool limit(config::RLimitValue& l) {
    uint8_t set, has_hard;
    uint64_t hard;
    if (!u8(set) || !u64(l.soft) || !u8(has_hard) || !u64(hard)) return false;
    l.set = set != 0;
    if (has_hard) l.hard = hard;
    else l.hard.reset();
    return true;
  }
  bool done() const { return in_.empty(); }

 private:
  std::string_view in_;
};

LauncherAddress g_address;  // set by the master before it forks; read-only afterwards

}  // namespace

std::string encode_launch_request(const LaunchRequest& r) {
  std::string out;
  Writer w(out);
  w.u8(kRequestTag);
  w.str(r.program);
  w.u8(static_cast<uint8_t>(r.identity));
  w.str(r.user);
  w.str(r.group);
  w.str(r.root);
  w.limit(r.limits.cpu);
  w.limit(r.limits.mem);
  w.limit(r.limits.nproc);
  w.u64(r.env.size());
  for (const auto& e : r.env) w.str(e);
  return out;
}

bool decode_launch_request(std::string_view msg, LaunchRequest& r) {
  Reader in(msg);
  uint8_t tag, identity;
  uint64_t n;
  if (!in.u8(tag) || tag != kRequestTag || !in.str(r.program) || !in.u8(identity) || identity > 2 || !in.str(r.user) ||
      !in.str(r.group) || !in.str(r.root) || !in.limit(r.limits.cpu) || !in.limit(r.limits.mem) ||
      !in.limit(r.limits.nproc) || !in.u64(n) || n > msg.size())
    return false;
  r.identity = static_cast<LaunchRequest::Identity>(identity);
  r.env.resize(static_cast<size_t>(n));
  for (auto& e : r.env) {
    if (!in.str(e) || e.find('=') == std::string::npos || e.find('\0') != std::string::npos) return false;
  }
  return in.done() && r.program.find('\0') == std::string::npos;
}

std::string encode_launch_reply(const LaunchReply& r) {
  std::string out;
  Writer w(out);
  w.u8(static_cast<uint8_t>(r.kind));
  w.u64(static_cast<uint64_t>(static_cast<int64_t>(r.pid)));
  w.u64(static_cast<uint64_t>(static_cast<int64_t>(r.value)));
  w.str(r.message);
  return out;
}

bool decode_launch_reply(std::string_view msg, LaunchReply& r) {
  Reader in(msg);
  uint8_t kind;
  uint64_t pid, value;
  if (!in.u8(kind) || kind < 1 || kind > 3 || !in.u64(pid) || !in.u64(value) || !in.str(r.message) || !in.done())
    return false;
  r.kind = static_cast<LaunchReply::Kind>(kind);
  r.pid = static_cast<int32_t>(static_cast<int64_t>(pid));
  r.value = static_cast<int32_t>(static_cast<int64_t>(value));
  return true;
}

const LauncherAddress& launcher_address() { return g_address; }
void set_launcher_address(const LauncherAddress& a) { g_address = a; }

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (!WIFSIGNALED(status)) return "ended (status " + std::to_string(status) + ")";
  int sig = WTERMSIG(status);
  const char* abbrev = sigabbrev_np(sig);
  std::string s = abbrev ? std::string("killed by SIG") + abbrev : "killed by signal " + std::to_string(sig);
  if (sig == SIGXCPU) s += " (its CPU time reached RLimitCPU)";
  return s;
}

}  // namespace pillar::server
