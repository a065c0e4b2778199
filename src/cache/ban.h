// A cache ban's test, compiled once per process. A regex ban uses RE2
// (linear time in the target whatever the pattern: a pathological pattern
// such as '(a*)*b' against a long query costs microseconds, not minutes, the
// way a backtracking std::regex would). The store never evaluates a rule
// while it holds its lock: it copies the key out, matches, and re-takes the
// lock to act (see Store::lookup).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace re2 {
class RE2;
}

namespace pillar::cache {

enum class BanKind : uint8_t { Host = 1, Prefix, Regex };

// A primary key's parts, for bans: "host\ntarget".
std::string_view key_host(std::string_view key);
std::string_view key_target(std::string_view key);

class BanRule {
 public:
  // Null with *error set when `pattern` is not a valid regex (RE2 in POSIX
  // egrep syntax: ERE with [[:classes:]] and {m,n}; no backreferences).
  static std::unique_ptr<BanRule> make(BanKind kind, std::string_view host, std::string_view pattern,
                                       std::string* error = nullptr);
  ~BanRule();
  BanRule(const BanRule&) = delete;
  BanRule& operator=(const BanRule&) = delete;

  // Whether the object stored under `key` is banned. Thread-safe (RE2's
  // matching is const and safe to share between a worker's loops).
  bool matches(std::string_view key) const;

 private:
  BanRule() = default;
  BanKind kind_ = BanKind::Host;
  std::string host_, pattern_;
  std::unique_ptr<re2::RE2> re_;
};

}  // namespace pillar::cache
