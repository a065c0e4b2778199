// PCRE2 behind core::Regex. One match-data block (sized for kOvectorPairs
// groups), one match context and one JIT stack per thread, created at the
// first match of that thread and reused: matching allocates nothing. A
// pattern with more groups than the block holds still matches (PCRE2 then
// reports 0: the ovector was too small), with the first groups set.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "core/regex.h"

#include <pcre2.h>

#include <algorithm>

namespace pillar::core {
namespace {

constexpr uint32_t kOvectorPairs = 32;

struct ThreadMatchState {
  pcre2_match_data* data = nullptr;
  pcre2_match_context* ctx = nullptr;
  pcre2_jit_stack* stack = nullptr;
  ThreadMatchState() {
    data = pcre2_match_data_create(kOvectorPairs, nullptr);
    ctx = pcre2_match_context_create(nullptr);
    stack = pcre2_jit_stack_create(32 * 1024, Regex::kJitStackMax, nullptr);
    if (ctx) {
      pcre2_set_match_limit(ctx, Regex::kMatchLimit);
      pcre2_set_depth_limit(ctx, Regex::kDepthLimit);
      if (stack) pcre2_jit_stack_assign(ctx, nullptr, stack);
    }
  }
  ~ThreadMatchState() {
    pcre2_jit_stack_free(stack);
    pcre2_match_context_free(ctx);
    pcre2_match_data_free(data);
  }
};

ThreadMatchState& thread_state() {
  thread_local ThreadMatchState s;
  return s;
}

}  // namespace

struct Regex::Code {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Code() { pcre2_code_free(code); }
};

Regex::Regex() = default;
Regex::~Regex() { delete code_; }
Regex::Regex(Regex&& o) noexcept : pattern_(std::move(o.pattern_)), code_(o.code_), groups_(o.groups_) {
  o.code_ = nullptr;
}
Regex& Regex::operator=(Regex&& o) noexcept {
  if (this != &o) {
    delete code_;
    pattern_ = std::move(o.pattern_);
    code_ = o.code_;
    groups_ = o.groups_;
    o.code_ = nullptr;
  }
  return *this;
}

std::string Regex::compile(std::string_view pattern, unsigned flags) {
  delete code_;
  code_ = nullptr;
  groups_ = 0;
  pattern_ = pattern;
  uint32_t options = 0;
  if (flags & kCaseless) options |= PCRE2_CASELESS;
  int err = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* c = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options, &err, &offset,
                                nullptr);
  if (!c) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    return std::string(reinterpret_cast<const char*>(msg)) + " at offset " + std::to_string(offset);
  }
  auto* code = new Code{c};
  // No JIT (an architecture without it, or an SELinux policy forbidding
  // executable memory): the interpreter runs under the same limits.
  code->jit = pcre2_jit_compile(c, PCRE2_JIT_COMPLETE) == 0;
  uint32_t n = 0;
  pcre2_pattern_info(c, PCRE2_INFO_CAPTURECOUNT, &n);
  groups_ = static_cast<int>(n);
  code_ = code;
  return {};
}

Regex::Result Regex::match(std::string_view subject, Captures* captures) const {
  if (!code_) return Result::Error;
  ThreadMatchState& ts = thread_state();
  if (!ts.data || !ts.ctx) return Result::Error;
  auto s = reinterpret_cast<PCRE2_SPTR>(subject.data());
  int rc = code_->jit ? pcre2_jit_match(code_->code, s, subject.size(), 0, 0, ts.data, ts.ctx)
                      : pcre2_match(code_->code, s, subject.size(), 0, 0, ts.data, ts.ctx);
  if (rc == PCRE2_ERROR_NOMATCH) return Result::NoMatch;
  if (rc < 0) return Result::Error;  // match/depth/JIT-stack limit, or a bad UTF subject
  if (rc == 0) rc = static_cast<int>(kOvectorPairs);  // more groups than the ovector holds
  if (captures) {
    *captures = Captures{};
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(ts.data);
    int n = std::min(rc, Captures::kMax);
    // Groups past the last one that matched are reported unset by rc; the
    // rest up to group_count() are empty ($N of a group that did not take part).
    captures->count = std::min(groups_ + 1, Captures::kMax);
    for (int i = 0; i < n; ++i) {
      if (ov[2 * i] == PCRE2_UNSET) continue;
      captures->group[i] = subject.substr(ov[2 * i], ov[2 * i + 1] - ov[2 * i]);
      captures->set[i] = true;
    }
  }
  return Result::Match;
}

}  // namespace pillar::core
