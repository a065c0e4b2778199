#include "cache/ban.h"

#include "core/assert.h"

#include <re2/re2.h>


namespace pillar::cache {

std::string_view key_host(std::string_view key) { return key.substr(0, key.find('\n')); }

std::string_view key_target(std::string_view key) {
  size_t nl = key.find('\n');
  return nl == std::string_view::npos ? std::string_view{} : key.substr(nl + 1);
}

std::unique_ptr<BanRule> BanRule::make(BanKind kind, std::string_view host, std::string_view pattern,
                                       std::string* error) {
  std::unique_ptr<BanRule> r(new BanRule);
  r->kind_ = kind;
  r->host_ = host;
  r->pattern_ = pattern;
  if (kind == BanKind::Regex) {
    RE2::Options o;
    o.set_posix_syntax(true);  // the documented POSIX extended syntax
    o.set_log_errors(false);   // the error goes back to pillarctl, not to stderr
    o.set_longest_match(false);
    o.set_max_mem(8 << 20);    // RE2's default, stated: bounds the compiled program and its DFA cache
    r->re_ = std::make_unique<RE2>(re2::StringPiece(pattern.data(), pattern.size()), o);
    if (!r->re_->ok()) {
      if (error) *error = r->re_->error();
      return nullptr;
    }
  }
  return r;
}

BanRule::~BanRule() = default;

bool BanRule::matches(std::string_view key) const {
  std::string_view host = key_host(key), target = key_target(key);
  if (!host_.empty() && host != host_) return false;
  switch (kind_) {
    case BanKind::Host:
      return true;
    case BanKind::Prefix:
      return target.substr(0, pattern_.size()) == pattern_;
    case BanKind::Regex:
      PILLAR_ASSERT(re_);
      return RE2::PartialMatch(re2::StringPiece(target.data(), target.size()), *re_);
  }
  return false;
}

}  // namespace pillar::cache
