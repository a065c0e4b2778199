// A compiled PCRE2 regular expression (Perl syntax, as Apache's ap_regex),
// matched with PCRE2's JIT. Used where Apache uses PCRE: mod_rewrite,
// mod_alias's *Match directives, <FilesMatch>.
//
// Bounded: every match runs under a match limit (kMatchLimit) and a depth
// limit (kDepthLimit; the JIT's stack is capped at kJitStackMax), so a
// pathological pattern against a long subject ends with Result::Error, it
// never stalls a worker. The match data and the JIT stack are per thread
// and reused: a match allocates nothing.
//
// Captures are views into the subject: they are valid while it is.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace pillar::core {

class Regex {
 public:
  enum Flags : unsigned {
    kNone = 0,
    kCaseless = 1,  // [NC], RedirectMatch on a case-insensitive system...
  };
  enum class Result : uint8_t { Match, NoMatch, Error };  // Error: a limit was hit (or PCRE2 failed)

  // Groups $0..$9 (Apache's back-references stop at 9).
  struct Captures {
    static constexpr int kMax = 10;
    std::string_view group[kMax];
    bool set[kMax] = {};
    int count = 0;  // groups the match reported, $0 included
    std::string_view operator[](int i) const { return i >= 0 && i < kMax ? group[i] : std::string_view(); }
  };

  static constexpr uint32_t kMatchLimit = 1000000;  // PCRE2's default is 10 000 000
  static constexpr uint32_t kDepthLimit = 10000;    // interpreter backtracking depth
  static constexpr size_t kJitStackMax = 1 << 20;   // bytes per thread

  Regex();
  ~Regex();
  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;

  // Compiles `pattern`; "" on success, else PCRE2's message with the offset
  // ("missing closing parenthesis at offset 3"), for a config error.
  std::string compile(std::string_view pattern, unsigned flags = kNone);
  bool valid() const { return code_ != nullptr; }
  const std::string& pattern() const { return pattern_; }
  int group_count() const { return groups_; }

  // Unanchored search (as regexec). `captures` may be null.
  Result match(std::string_view subject, Captures* captures = nullptr) const;

 private:
  struct Code;
  std::string pattern_;
  Code* code_ = nullptr;  // pcre2_code_8 (opaque here: no PCRE2 header for users)
  int groups_ = 0;
};

}  // namespace pillar::core
