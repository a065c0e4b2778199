// mod_rewrite's rule loop (apply_rewrite_list / apply_rule /
// apply_rewrite_cond in Apache's mod_rewrite.c), on our own types. The
// current value (r->filename in Apache) starts as the input path and is
// replaced by each rule that matches; conditions are evaluated after the
// rule's pattern matched; %{REQUEST_FILENAME} is the current value, as in
// Apache.
#include "rewrite/engine.h"

#include <cctype>
#include <cstdlib>
#include <cstring>

#include "core/text.h"
#include "http/uri.h"

namespace pillar::rewrite {
namespace {

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

bool is_absolute_uri(std::string_view s) {
  size_t colon = s.find("://");
  if (colon == std::string_view::npos || colon == 0) return false;
  for (size_t i = 0; i < colon; ++i) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))
      return false;
  }
  return true;
}

constexpr const char* kHex = "0123456789ABCDEF";

// Apache's T_OS_ESCAPE_PATH: what ap_escape_uri leaves as it is.
bool path_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::strchr("$-_.+!*'(),:;@&=/~", c) != nullptr;
}

// [B]: back-references escaped as a query value (escape_backref):
// alphanumerics and '_' stay (or only the listed characters are escaped
// with B=chars), space becomes '+' unless BNP.
std::string escape_backref(std::string_view s, const RuleFlags& fl) {
  std::string out;
  for (unsigned char c : s) {
    bool escape = fl.escape_chars.empty()
                      ? !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')
                      : fl.escape_chars.find(static_cast<char>(c)) != std::string::npos;
    if (!escape) {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ' && !fl.backref_no_plus) {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// The matching '}' of a "{...}" starting at s[open], nesting counted.
size_t closing_curly(std::string_view s, size_t open) {
  int depth = 0;
  for (size_t i = open; i < s.size(); ++i) {
    if (s[i] == '{') ++depth;
    else if (s[i] == '}' && --depth == 0) return i;
  }
  return std::string_view::npos;
}

struct Backrefs {
  std::string group[core::Regex::Captures::kMax];
  void set(const core::Regex::Captures& c) {
    for (int i = 0; i < core::Regex::Captures::kMax; ++i) group[i] = std::string(c.group[i]);
  }
  void clear() {
    for (auto& g : group) g.clear();
  }
};

class Run {
 public:
  Run(const RuleSet& set, Context& ctx, const Input& in) : set_(set), ctx_(ctx), in_(in) {
    per_dir_ = !set.directory.empty();
    if (per_dir_) prefix_ = set.directory == "/" ? "/" : set.directory + "/";
    cur_ = std::string(in.path);
    query_ = std::string(in.query);
  }

  Outcome go();

 private:
  enum class RuleResult { NoMatch, Matched, Error };
  RuleResult apply_rule(const Rule& r);
  bool cond_ok(const Condition& c, bool& error);
  std::string expand(std::string_view t, const RuleFlags* fl);
  std::string var(std::string_view name);
  void split_query(const RuleFlags& fl);
  std::string to_url(std::string_view filename) const;
  void apply_env(const Rule& r);
  void apply_cookies(const Rule& r);
  void trace(int level, const std::string& msg) {
    if (ctx_.trace_level >= level) ctx_.trace((per_dir_ ? "[perdir " + prefix_ + "] " : std::string()) + msg);
  }

  const RuleSet& set_;
  Context& ctx_;
  const Input& in_;
  bool per_dir_ = false;
  std::string prefix_;
  std::string cur_;
  std::string query_;
  bool query_changed_ = false;
  Backrefs rule_refs_, cond_refs_;
  Outcome out_;
  bool discard_path_info_ = false;  // [DPI] matched this round: PATH_INFO is no longer appended
  std::string subject_buf_;
  bool changed_ = false, proxy_ = false, passthrough_ = false, noescape_ = false;
  int redirect_ = 0, status_ = 0;
};

std::string Run::var(std::string_view name) {
  if (core::istarts_with(name, "HTTP:")) return std::string(ctx_.header(name.substr(5)));
  if (core::istarts_with(name, "ENV:")) return ctx_.env(name.substr(4));
  if (core::istarts_with(name, "SSL:")) return {};
  if (name == "REQUEST_FILENAME" || name == "SCRIPT_FILENAME") return cur_;
  if (name == "IS_SUBREQ") return in_.subrequest ? "true" : "false";
  if (name == "QUERY_STRING") return query_;
  if (starts_with(name, "HTTP_")) {
    std::string h(name.substr(5));
    for (auto& c : h) c = c == '_' ? '-' : c;
    return std::string(ctx_.header(h));
  }
  if (starts_with(name, "TIME")) {
    bool known = false;
    std::string v = time_variable(name, time(nullptr), known);
    if (known) return v;
  }
  return ctx_.variable(name);
}

std::string Run::expand(std::string_view t, const RuleFlags* fl) {
  std::string out;
  for (size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    if (c == '\\' && i + 1 < t.size()) {
      out.push_back(t[++i]);
      continue;
    }
    if ((c == '$' || c == '%') && i + 1 < t.size()) {
      char n = t[i + 1];
      if (core::is_digit(n)) {
        const std::string& g = (c == '$' ? rule_refs_ : cond_refs_).group[n - '0'];
        out += fl && fl->escape_backrefs ? escape_backref(g, *fl) : g;
        ++i;
        continue;
      }
      if (n == '{') {
        size_t close = closing_curly(t, i + 1);
        if (close != std::string_view::npos) {
          std::string_view inner = t.substr(i + 2, close - i - 2);
          if (c == '%') {
            out += var(inner);
          } else {  // ${map:key|default}
            size_t colon = inner.find(':');
            if (colon != std::string_view::npos) {
              std::string_view name = inner.substr(0, colon), rest = inner.substr(colon + 1);
              size_t bar = std::string_view::npos;
              int depth = 0;
              for (size_t k = 0; k < rest.size(); ++k) {
                if (rest[k] == '{') ++depth;
                else if (rest[k] == '}') --depth;
                else if (rest[k] == '|' && depth == 0) {
                  bar = k;
                  break;
                }
              }
              std::string key = expand(rest.substr(0, bar), fl);
              std::string value;
              if (set_.maps && set_.maps->lookup(name, key, value)) {
                out += value;
              } else if (bar != std::string_view::npos) {
                out += expand(rest.substr(bar + 1), fl);
              }
              if (ctx_.trace_level >= 5) trace(5, "map lookup OK: map=" + std::string(name) + " key=" + key + " -> val=" + value);
            }
          }
          i = close;
          continue;
        }
      }
    }
    out.push_back(c);
  }
  return out;
}

namespace {

// The request headers `test` reads: %{HTTP:Name} and %{HTTP_NAME} (the
// latter as a header name, User-Agent for HTTP_USER_AGENT).
void headers_read(std::string_view test, std::vector<std::string>& out) {
  for (size_t at = test.find("%{HTTP"); at != std::string_view::npos; at = test.find("%{HTTP", at + 1)) {
    size_t end = test.find('}', at);
    if (end == std::string_view::npos) return;
    std::string_view v = test.substr(at + 2, end - at - 2);
    std::string name;
    if (v.size() > 5 && (v[4] == ':' || v[4] == '_')) {
      bool word_start = true;
      for (char ch : v.substr(5)) {
        char c = v[4] == '_' && ch == '_' ? '-' : ch;
        if (v[4] == '_') c = word_start ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
                                         : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        word_start = c == '-';
        name += c;
      }
    }
    if (name.empty() || v.starts_with("HTTPS")) continue;
    bool seen = false;
    for (const auto& n : out) seen = seen || core::iequals(n, name);
    if (!seen) out.push_back(name);
  }
}

}  // namespace

bool Run::cond_ok(const Condition& c, bool& error) {
  std::string input = expand(c.test, nullptr);
  bool rc = false;
  auto cmp = [&](const std::string& a, const std::string& b) {
    if (!c.nocase) return a.compare(b);
    std::string la = core::lowercase(a), lb = core::lowercase(b);
    return la.compare(lb);
  };
  switch (c.op) {
    case CondOp::Regex: {
      core::Regex::Captures caps;
      auto m = c.regex.match(input, &caps);
      if (m == core::Regex::Result::Error) {
        error = true;
        return false;
      }
      rc = m == core::Regex::Result::Match;
      if (rc && !c.negate) cond_refs_.set(caps);
      break;
    }
    case CondOp::StrEq: rc = cmp(input, c.operand) == 0; break;
    case CondOp::StrLt: rc = cmp(input, c.operand) < 0; break;
    case CondOp::StrGt: rc = cmp(input, c.operand) > 0; break;
    case CondOp::StrLe: rc = cmp(input, c.operand) <= 0; break;
    case CondOp::StrGe: rc = cmp(input, c.operand) >= 0; break;
    case CondOp::IntEq: case CondOp::IntNe: case CondOp::IntLt: case CondOp::IntLe: case CondOp::IntGt: case CondOp::IntGe: {
      long long a = std::strtoll(input.c_str(), nullptr, 10), b = std::strtoll(c.operand.c_str(), nullptr, 10);
      rc = c.op == CondOp::IntEq ? a == b : c.op == CondOp::IntNe ? a != b : c.op == CondOp::IntLt ? a < b
         : c.op == CondOp::IntLe ? a <= b : c.op == CondOp::IntGt ? a > b : a >= b;
      break;
    }
    case CondOp::FileExists: case CondOp::FileLookup: rc = ctx_.file_info(input).regular; break;
    case CondOp::DirExists: rc = ctx_.file_info(input).directory; break;
    case CondOp::SizeNonZero: { FileInfo f = ctx_.file_info(input); rc = f.regular && f.size > 0; break; }
    case CondOp::Symlink: rc = ctx_.file_info(input).symlink; break;
    case CondOp::Executable: { FileInfo f = ctx_.file_info(input); rc = f.exists && f.executable; break; }
    case CondOp::UrlLookup: rc = ctx_.file_info(ctx_.url_to_file(input)).exists; break;
  }
  if (c.negate) rc = !rc;
  if (ctx_.trace_level >= 4) trace(4, "RewriteCond: input='" + input + "' pattern='" + (c.negate ? "!" : "") +
               (c.op == CondOp::Regex ? c.regex.pattern() : c.operand) + "'" + (c.nocase ? " [NC]" : "") + " => " +
               (rc ? "matched" : "not-matched"));
  return rc;
}

void Run::split_query(const RuleFlags& fl) {
  if (fl.qsd) {
    if (!query_.empty()) query_changed_ = true;
    query_.clear();
  }
  size_t q = fl.qsl ? cur_.rfind('?') : cur_.find('?');
  if (q == std::string::npos) return;
  std::string fresh = cur_.substr(q + 1);
  cur_.resize(q);
  if (fl.qsa) {
    if (!fresh.empty()) query_ = query_.empty() ? fresh : fresh + "&" + query_;
  } else {
    query_ = fresh;
  }
  if (!query_.empty() && query_.back() == '&') query_.pop_back();
  query_changed_ = true;
}

void Run::apply_env(const Rule& r) {
  for (const auto& e : r.flags.env) {
    std::string v = expand(e, nullptr);
    if (!v.empty() && v[0] == '!') {
      ctx_.unset_env(std::string_view(v).substr(1));
      continue;
    }
    size_t colon = v.find(':');
    ctx_.set_env(std::string_view(v).substr(0, colon),
                 colon == std::string::npos ? std::string_view() : std::string_view(v).substr(colon + 1));
  }
}

// CO=NAME:VALUE:DOMAIN[:LIFETIME[:PATH[:SECURE[:HTTPONLY[:SAMESITE]]]]]; a
// leading ';' makes ';' the separator (values that hold ':').
void Run::apply_cookies(const Rule& r) {
  for (const auto& spec : r.flags.cookies) {
    std::string v = expand(spec, nullptr);
    char sep = ':';
    if (!v.empty() && v[0] == ';') {
      sep = ';';
      v.erase(0, 1);
    }
    std::vector<std::string> f;
    for (size_t p = 0;;) {
      size_t e = v.find(sep, p);
      f.push_back(v.substr(p, e == std::string::npos ? std::string::npos : e - p));
      if (e == std::string::npos) break;
      p = e + 1;
    }
    if (f.size() < 3) continue;
    std::string c = f[0] + "=" + f[1] + "; path=" + (f.size() > 4 && !f[4].empty() ? f[4] : "/");
    if (!f[2].empty()) c += "; domain=" + f[2];
    if (f.size() > 3 && !f[3].empty() && f[3] != "0") {
      long minutes = std::strtol(f[3].c_str(), nullptr, 10);
      time_t exp = time(nullptr) + minutes * 60;
      char buf[64];
      struct tm tm {};
      gmtime_r(&exp, &tm);
      strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
      c += "; expires=";
      c += buf;
    }
    auto yes = [](const std::string& s) { return core::iequals(s, "true") || s == "1" || core::iequals(s, "secure") || core::iequals(s, "httponly"); };
    if (f.size() > 5 && yes(f[5])) c += "; secure";
    if (f.size() > 6 && yes(f[6])) c += "; HttpOnly";
    if (f.size() > 7 && !f[7].empty() && !core::iequals(f[7], "false") && f[7] != "0") c += "; SameSite=" + f[7];
    out_.set_cookies.push_back(std::move(c));
  }
}

Run::RuleResult Run::apply_rule(const Rule& r) {
  // Per-directory, the pattern sees the current value with the round's
  // PATH_INFO appended (mod_rewrite's "add path info postfix"), unless DPI.
  std::string_view subject = cur_;
  if (per_dir_ && !in_.path_info.empty() && !discard_path_info_) {
    subject_buf_ = cur_;
    subject_buf_.append(in_.path_info);
    subject = subject_buf_;
  }
  if (per_dir_ && starts_with(subject, prefix_)) subject.remove_prefix(prefix_.size());
  else if (per_dir_ && subject == set_.directory) subject = {};
  core::Regex::Captures caps;
  auto m = r.regex.match(subject, &caps);
  if (ctx_.trace_level >= 3) trace(3, "applying pattern '" + r.regex.pattern() + "' to uri '" + std::string(subject) + "'");
  if (m == core::Regex::Result::Error) {
    out_.error = r.where.file + ":" + std::to_string(r.where.line) + ": RewriteRule " + r.regex.pattern() +
                 " hit the regex match limit";
    return RuleResult::Error;
  }
  bool matched = (m == core::Regex::Result::Match) != r.negate;
  if (!matched) return RuleResult::NoMatch;
  if (r.negate) rule_refs_.clear();
  else rule_refs_.set(caps);
  cond_refs_.clear();
  std::vector<std::string> vary;
  for (size_t i = 0; i < r.conds.size(); ++i) {
    bool error = false;
    bool rc = cond_ok(r.conds[i], error);
    if (rc && !r.conds[i].novary) headers_read(r.conds[i].test, vary);
    if (error) {
      const auto& w = r.conds[i].where;
      out_.error = w.file + ":" + std::to_string(w.line) + ": RewriteCond hit the regex match limit";
      return RuleResult::Error;
    }
    if (r.conds[i].ornext) {
      if (!rc) continue;
      while (i < r.conds.size() && r.conds[i].ornext) ++i;  // the rest of the OR group is not needed
    } else if (!rc) {
      return RuleResult::NoMatch;
    }
  }
  for (auto& v : vary) {
    bool seen = false;
    for (const auto& n : out_.vary) seen = seen || core::iequals(n, v);
    if (!seen) out_.vary.push_back(std::move(v));
  }
  apply_env(r);
  apply_cookies(r);
  const RuleFlags& fl = r.flags;
  if (fl.discard_path_info && per_dir_) discard_path_info_ = true;
  if (!fl.type.empty()) out_.type = expand(fl.type, nullptr);
  if (!fl.handler.empty()) out_.handler = expand(fl.handler, nullptr);
  if (fl.forbidden || fl.gone) {
    status_ = fl.forbidden ? 403 : 410;
    changed_ = true;
    return RuleResult::Matched;
  }
  if (r.substitution == "-") {
    if (fl.redirect >= 400) {
      status_ = fl.redirect;
      changed_ = true;
    }
    if (ctx_.trace_level >= 2) trace(2, "pass through " + cur_);
    return RuleResult::Matched;
  }
  std::string next = expand(r.substitution, &fl);
  if (ctx_.trace_level >= 2) trace(2, "rewrite '" + std::string(subject) + "' -> '" + next + "'");
  cur_ = std::move(next);
  changed_ = true;
  if (!is_absolute_uri(cur_) || fl.proxy) split_query(fl);
  else {
    // An absolute URL keeps its own query; QSA still appends the request's.
    size_t q = cur_.find('?');
    if (q != std::string::npos) {
      std::string fresh = cur_.substr(q + 1);
      cur_.resize(q);
      query_ = fl.qsa && !query_.empty() ? (fresh.empty() ? query_ : fresh + "&" + query_) : fresh;
      query_changed_ = true;
    } else if (fl.qsd) {
      query_.clear();
      query_changed_ = true;
    }
  }
  if (per_dir_ && !cur_.empty() && cur_[0] != '/' && !is_absolute_uri(cur_)) {
    if (ctx_.trace_level >= 3) trace(3, "add per-dir prefix: " + cur_ + " -> " + prefix_ + cur_);
    cur_ = prefix_ + cur_;
  }
  if (fl.noescape) noescape_ = true;
  if (fl.passthrough) passthrough_ = true;
  if (fl.proxy) proxy_ = true;
  if (fl.redirect >= 300 && fl.redirect < 400) redirect_ = fl.redirect;
  else if (fl.redirect >= 400) status_ = fl.redirect;
  return RuleResult::Matched;
}

// A per-directory filename as a URL-path: RewriteBase replaces the
// directory's prefix; without one, a filename under the DocumentRoot loses it.
std::string Run::to_url(std::string_view filename) const {
  if (set_.base_set && starts_with(filename, prefix_)) {
    std::string base = set_.base;
    if (base.empty() || base.back() != '/') base.push_back('/');
    return base + std::string(filename.substr(prefix_.size()));
  }
  std::string_view root = in_.document_root;
  while (!root.empty() && root.back() == '/') root.remove_suffix(1);
  if (!root.empty() && starts_with(filename, root) && (filename.size() == root.size() || filename[root.size()] == '/'))
    return filename.size() == root.size() ? std::string("/") : std::string(filename.substr(root.size()));
  return std::string(filename);
}

Outcome Run::go() {
  const auto& rules = set_.rules;
  int rounds = 0;
  for (size_t i = 0; i < rules.size(); ++i) {
    const Rule& r = *rules[i];
    if (r.flags.nosubreq && in_.subrequest) {
      while (i < rules.size() && rules[i]->flags.chain) ++i;
      continue;
    }
    RuleResult rc = apply_rule(r);
    if (rc == RuleResult::Error) {
      out_.action = Outcome::Action::Error;
      return out_;
    }
    if (rc == RuleResult::NoMatch) {
      while (i < rules.size() && rules[i]->flags.chain) ++i;  // the rest of the chain is skipped
      continue;
    }
    if (status_ || proxy_) break;  // F, G, R=4xx and P end the round (Apache: [P] implies [L])
    if (r.flags.end) out_.end = true;
    if (r.flags.last || r.flags.end) break;
    if (r.flags.next) {
      if (++rounds >= r.flags.next_limit) {
        out_.action = Outcome::Action::Error;
        out_.error = r.where.file + ":" + std::to_string(r.where.line) + ": RewriteRule [N] looped " +
                     std::to_string(rounds) + " times (N=" + std::to_string(r.flags.next_limit) + ")";
        return out_;
      }
      i = static_cast<size_t>(-1);
      continue;
    }
    if (r.flags.skip) i += static_cast<size_t>(r.flags.skip);
  }
  if (!changed_) return out_;

  auto with_query = [&](std::string url, bool escape) {
    if (!query_.empty()) {
      url.push_back('?');
      url += escape && query_changed_ ? escape_uri(query_) : query_;
    }
    return url;
  };
  if (status_) {
    out_.action = Outcome::Action::Status;
    out_.status = status_;
    return out_;
  }
  if (proxy_) {
    out_.action = Outcome::Action::Proxy;
    out_.proxy_url = with_query(cur_, false);
    return out_;
  }
  bool absolute = is_absolute_uri(cur_);
  // An absolute URL to this server without [R] is a local path again (reduce_uri).
  if (absolute && !redirect_ && !in_.server_url.empty() && starts_with(cur_, in_.server_url) &&
      (cur_.size() == in_.server_url.size() || cur_[in_.server_url.size()] == '/')) {
    cur_ = cur_.size() == in_.server_url.size() ? "/" : cur_.substr(in_.server_url.size());
    absolute = false;
  }
  if (redirect_ || absolute) {
    std::string url = absolute ? cur_ : per_dir_ ? to_url(cur_) : cur_;
    if (!absolute) {
      if (url.empty() || url[0] != '/') url.insert(url.begin(), '/');
      url = std::string(in_.server_url) + (noescape_ ? url : escape_uri(url));
    } else if (!noescape_) {
      size_t host = url.find("://") + 3;
      size_t slash = url.find('/', host);
      if (slash != std::string::npos) url = url.substr(0, slash) + escape_uri(url.substr(slash));
    }
    out_.action = Outcome::Action::Redirect;
    out_.status = redirect_ ? redirect_ : 302;
    out_.location = with_query(std::move(url), !noescape_);
    return out_;
  }
  out_.query = query_;
  out_.query_set = query_changed_;
  if (per_dir_) {
    // Apache compares the filenames only: a rule that changed just the query
    // (Drupal's "core/install.php?rewrite=ok") makes no internal redirect
    // (which would run the rule again, and again); its query stays (query_set).
    if (cur_ == in_.path) {
      if (ctx_.trace_level >= 1) trace(1, "initial URL equal rewritten URL: " + cur_ + " [IGNORING REWRITE]");
      out_.action = Outcome::Action::None;
      return out_;
    }
    out_.action = Outcome::Action::Uri;
    out_.uri = to_url(cur_);
    if (ctx_.trace_level >= 1) trace(1, "internal redirect with " + out_.uri + " [INTERNAL REDIRECT]");
    return out_;
  }
  if (passthrough_) {
    out_.action = Outcome::Action::Uri;
    out_.uri = cur_;
    if (ctx_.trace_level >= 1) trace(1, "forcing '" + cur_ + "' to get passed through to next API URI-to-filename handler");
    return out_;
  }
  // A local path: when its first component does not exist on disk it is a
  // URL-path under the DocumentRoot (Apache 2.4's prefix_stat).
  out_.action = Outcome::Action::Filename;
  out_.filename = cur_;
  if (!cur_.empty() && cur_[0] == '/') {
    size_t second = cur_.find('/', 1);
    std::string first = cur_.substr(0, second);
    if (first == "/" || !ctx_.file_info(first).exists) {
      std::string root(in_.document_root);
      if (root == "/") root.clear();
      out_.filename = root + cur_;
      if (ctx_.trace_level >= 2) trace(2, "prefixed with document_root to " + out_.filename);
    }
  }
  if (ctx_.trace_level >= 1) trace(1, "go-ahead with " + out_.filename + " [OK]");
  return out_;
}

}  // namespace

std::string escape_uri(std::string_view s) { return http::percent_encode(s, path_char); }

std::string time_variable(std::string_view name, time_t now, bool& known) {
  struct tm tm {};
  localtime_r(&now, &tm);
  char buf[32];
  known = true;
  if (name == "TIME") std::snprintf(buf, sizeof buf, "%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  else if (name == "TIME_YEAR") std::snprintf(buf, sizeof buf, "%04d", tm.tm_year + 1900);
  else if (name == "TIME_MON") std::snprintf(buf, sizeof buf, "%02d", tm.tm_mon + 1);
  else if (name == "TIME_DAY") std::snprintf(buf, sizeof buf, "%02d", tm.tm_mday);
  else if (name == "TIME_HOUR") std::snprintf(buf, sizeof buf, "%02d", tm.tm_hour);
  else if (name == "TIME_MIN") std::snprintf(buf, sizeof buf, "%02d", tm.tm_min);
  else if (name == "TIME_SEC") std::snprintf(buf, sizeof buf, "%02d", tm.tm_sec);
  else if (name == "TIME_WDAY") std::snprintf(buf, sizeof buf, "%d", tm.tm_wday);
  else {
    known = false;
    return {};
  }
  return buf;
}

Outcome run(const RuleSet& set, Context& ctx, const Input& in) {
  if (!set.active()) return {};
  Run r(set, ctx, in);
  return r.go();
}

}  // namespace pillar::rewrite
