// A compiled regular expression for the request path: PCRE2 (Perl syntax,
// what Apache's <FilesMatch>, ProxyPassMatch and mod_rewrite use) with JIT
// when the platform has it, and a match limit so a pathological pattern
// costs a bounded amount of work per request instead of a stalled loop.
// std::regex is too slow here. Matching allocates nothing: the match data
// is per thread, reused.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace pillar::core {

class Regex {
 public:
  enum Flags : uint32_t {
    kNone = 0,
    kIgnoreCase = 1,  // Apache's [NC] and <FilesMatch> on case-insensitive systems
  };
  static constexpr uint32_t kMatchLimit = 100000;  // PCRE2 match() calls per attempt

  Regex();
  ~Regex();
  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;

  // Compiles `pattern`; returns an empty string, or the error with its offset.
  std::string compile(std::string_view pattern, uint32_t flags = kNone);
  bool valid() const { return code_ != nullptr; }
  const std::string& pattern() const { return pattern_; }
  uint32_t capture_count() const { return captures_; }

  // Whether `subject` matches (unanchored, as Apache's regexes). With
  // `groups`, [0] is the whole match and [i] group i (empty when unset).
  // A match that hits the limit counts as no match.
  bool match(std::string_view subject, std::vector<std::string_view>* groups = nullptr) const;

 private:
  struct Code;
  std::unique_ptr<Code> code_;
  std::string pattern_;
  uint32_t captures_ = 0;
};

}  // namespace pillar::core
