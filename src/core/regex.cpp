#define PCRE2_CODE_UNIT_WIDTH 8
#include "core/regex.h"

#include <pcre2.h>

namespace pillar::core {

struct Regex::Code {
  pcre2_code* re = nullptr;
  pcre2_match_context* ctx = nullptr;
  bool jit = false;
  ~Code() {
    if (ctx) pcre2_match_context_free(ctx);
    if (re) pcre2_code_free(re);
  }
};

namespace {

// One match data per thread, grown to the largest pattern seen.
struct ThreadMatchData {
  pcre2_match_data* md = nullptr;
  uint32_t pairs = 0;
  ~ThreadMatchData() {
    if (md) pcre2_match_data_free(md);
  }
  pcre2_match_data* get(uint32_t need) {
    if (!md || pairs < need) {
      if (md) pcre2_match_data_free(md);
      pairs = need < 16 ? 16 : need;
      md = pcre2_match_data_create(pairs, nullptr);
    }
    return md;
  }
};
thread_local ThreadMatchData tl_match;

}  // namespace

Regex::Regex() = default;
Regex::~Regex() = default;
Regex::Regex(Regex&&) noexcept = default;
Regex& Regex::operator=(Regex&&) noexcept = default;

std::string Regex::compile(std::string_view pattern, uint32_t flags) {
  code_.reset();
  pattern_ = std::string(pattern);
  int err = 0;
  PCRE2_SIZE off = 0;
  uint32_t opts = (flags & kIgnoreCase) ? PCRE2_CASELESS : 0;
  pcre2_code* re = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), opts, &err, &off, nullptr);
  if (!re) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    return std::string(reinterpret_cast<const char*>(msg)) + " at offset " + std::to_string(off);
  }
  auto c = std::make_unique<Code>();
  c->re = re;
  c->jit = pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) == 0;
  c->ctx = pcre2_match_context_create(nullptr);
  pcre2_set_match_limit(c->ctx, kMatchLimit);
  uint32_t n = 0;
  pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &n);
  captures_ = n;
  code_ = std::move(c);
  return {};
}

bool Regex::match(std::string_view subject, std::vector<std::string_view>* groups) const {
  if (!code_) return false;
  pcre2_match_data* md = tl_match.get(captures_ + 1);
  if (!md) return false;
  auto s = reinterpret_cast<PCRE2_SPTR>(subject.data());
  int rc = code_->jit ? pcre2_jit_match(code_->re, s, subject.size(), 0, 0, md, code_->ctx)
                      : pcre2_match(code_->re, s, subject.size(), 0, 0, md, code_->ctx);
  if (rc < 0) return false;  // no match, or the limit
  if (groups) {
    groups->assign(captures_ + 1, std::string_view());
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    for (uint32_t i = 0; i <= captures_ && i < static_cast<uint32_t>(rc); ++i) {
      if (ov[2 * i] == PCRE2_UNSET) continue;
      (*groups)[i] = subject.substr(ov[2 * i], ov[2 * i + 1] - ov[2 * i]);
    }
  }
  return true;
}

}  // namespace pillar::core
