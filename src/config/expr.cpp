// The ap_expr compiler (a recursive-descent parser straight over the text)
// and its evaluator. The parsed form is two flat arrays, words and
// conditions, that refer to each other by index; regexes and literal
// networks are compiled here, once. Errors say the offset and what was
// expected, as the loader prints them after FILE:LINE.
#include "config/expr.h"

#include <arpa/inet.h>
#include <fnmatch.h>

#include <charconv>
#include <cstring>
#include <deque>

#include "config/model.h"
#include "config/values.h"
#include "core/assert.h"
#include "core/regex.h"
#include "core/text.h"
#include "http/request.h"
#include "http/request_env.h"

namespace pillar::config {

Expr::~Expr() = default;

namespace {

struct VarName {
  std::string_view name;
  Expr::Var var;
};
constexpr VarName kVars[] = {
    {"HTTP_HOST", Expr::Var::HttpHost},           {"REQUEST_URI", Expr::Var::RequestUri},
    {"QUERY_STRING", Expr::Var::QueryString},     {"REQUEST_METHOD", Expr::Var::RequestMethod},
    {"REQUEST_SCHEME", Expr::Var::RequestScheme}, {"HTTPS", Expr::Var::Https},
    {"REMOTE_ADDR", Expr::Var::RemoteAddr},       {"SERVER_NAME", Expr::Var::ServerName},
    {"SERVER_PORT", Expr::Var::ServerPort},       {"SERVER_PROTOCOL", Expr::Var::ServerProtocol},
    {"THE_REQUEST", Expr::Var::TheRequest},       {"REQUEST_FILENAME", Expr::Var::RequestFilename},
    {"SCRIPT_FILENAME", Expr::Var::RequestFilename}, {"DOCUMENT_ROOT", Expr::Var::DocumentRoot},
    {"REMOTE_USER", Expr::Var::RemoteUser},       {"CONTENT_TYPE", Expr::Var::ContentType},
    {"IPV6", Expr::Var::Ipv6},
};

struct FuncName {
  std::string_view name;
  Expr::Func func;
};
constexpr FuncName kFuncs[] = {
    {"req", Expr::Func::Req},         {"http", Expr::Func::Req},   {"resp", Expr::Func::Resp},
    {"env", Expr::Func::Env},         {"reqenv", Expr::Func::Env}, {"tolower", Expr::Func::ToLower},
    {"toupper", Expr::Func::ToUpper},
};

struct OpName {
  std::string_view name;
  Expr::Op op;
};
constexpr OpName kBinaryOps[] = {
    {"==", Expr::Op::StrEq},  {"=", Expr::Op::StrEq},   {"!=", Expr::Op::StrNe},  {"<=", Expr::Op::StrLe},
    {"<", Expr::Op::StrLt},   {">=", Expr::Op::StrGe},  {">", Expr::Op::StrGt},   {"-eq", Expr::Op::IntEq},
    {"-ne", Expr::Op::IntNe}, {"-lt", Expr::Op::IntLt}, {"-le", Expr::Op::IntLe}, {"-gt", Expr::Op::IntGt},
    {"-ge", Expr::Op::IntGe}, {"-ipmatch", Expr::Op::IpMatch}, {"-strmatch", Expr::Op::StrMatch},
    {"-strcmatch", Expr::Op::StrCMatch}, {"-fnmatch", Expr::Op::StrMatch},
};

bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

}  // namespace

// Builds an Expr from its text; the first error stops it.
class ExprParser {
 public:
  ExprParser(Expr& e, std::string_view text) : e_(e), s_(text) {}

  bool parse(std::string& error) {
    int root = or_expr();
    if (root >= 0) {
      skip_space();
      if (pos_ < s_.size()) fail("unexpected '" + std::string(s_.substr(pos_, 12)) + "'; expected && or || or the end");
    }
    if (!error_.empty()) {
      error = error_ + " (at offset " + std::to_string(err_pos_) + ")";
      return false;
    }
    e_.root_ = root;
    return true;
  }

 private:
  Expr& e_;
  std::string_view s_;
  size_t pos_ = 0;
  std::string error_;
  size_t err_pos_ = 0;
  int depth_ = 0;
  static constexpr int kMaxDepth = 64;  // nesting of parentheses, ! and function calls

  int fail(std::string msg) {
    if (error_.empty()) {
      error_ = std::move(msg);
      err_pos_ = pos_;
    }
    return -1;
  }
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\r' || s_[pos_] == '\n')) ++pos_;
  }
  bool eat(std::string_view tok) {
    skip_space();
    if (s_.substr(pos_, tok.size()) != tok) return false;
    pos_ += tok.size();
    return true;
  }
  // An operator word such as "-ipmatch" or "true": followed by no identifier character.
  bool eat_word(std::string_view w) {
    skip_space();
    if (s_.substr(pos_, w.size()) != w) return false;
    if (pos_ + w.size() < s_.size() && ident_char(s_[pos_ + w.size()])) return false;
    pos_ += w.size();
    return true;
  }
  int add_cond(Expr::Cond c) {
    e_.conds_.push_back(std::move(c));
    return static_cast<int>(e_.conds_.size() - 1);
  }
  int add_word(Expr::Word w) {
    e_.words_.push_back(std::move(w));
    return static_cast<int>(e_.words_.size() - 1);
  }
  int literal(std::string text) {
    Expr::Word w;
    w.text = std::move(text);
    return add_word(std::move(w));
  }

  int or_expr() {
    int a = and_expr();
    while (a >= 0 && eat("||")) {
      int b = and_expr();
      if (b < 0) return -1;
      a = add_cond({Expr::Op::Or, a, b});
    }
    return a;
  }
  int and_expr() {
    int a = unary();
    while (a >= 0 && eat("&&")) {
      int b = unary();
      if (b < 0) return -1;
      a = add_cond({Expr::Op::And, a, b});
    }
    return a;
  }
  int unary() {
    if (++depth_ > kMaxDepth) return fail("the expression nests too deeply");
    int r;
    skip_space();
    if (s_.substr(pos_, 2) != "!=" && s_.substr(pos_, 2) != "!~" && eat("!")) {
      int a = unary();
      r = a < 0 ? -1 : add_cond({Expr::Op::Not, a});
    } else if (eat("(")) {
      r = or_expr();
      if (r >= 0 && !eat(")")) r = fail("expected ')'");
    } else if (eat_word("true")) {
      r = add_cond({Expr::Op::True});
    } else if (eat_word("false")) {
      r = add_cond({Expr::Op::False});
    } else {
      r = comparison();
    }
    --depth_;
    return r;
  }

  int comparison() {
    skip_space();
    if (pos_ >= s_.size()) return fail("expected a condition");
    if (s_[pos_] == '-' && pos_ + 1 < s_.size() && std::isalpha(static_cast<unsigned char>(s_[pos_ + 1]))) {
      size_t end = pos_ + 1;
      while (end < s_.size() && ident_char(s_[end])) ++end;
      std::string_view op = s_.substr(pos_, end - pos_);
      Expr::Op kind;
      if (op == "-n") kind = Expr::Op::NonEmpty;
      else if (op == "-z") kind = Expr::Op::Empty;
      else if (op == "-T") kind = Expr::Op::Truthy;
      else if (op == "-R") kind = Expr::Op::IpMatch;
      else if (op.size() == 2 && std::strchr("defsLhFUA", op[1]))
        return fail("the file test " + std::string(op) + " is not supported");
      else return fail("unknown unary operator " + std::string(op) + "; Pillar accepts -n, -z, -T and -R");
      pos_ = end;
      int w = word();
      if (w < 0) return -1;
      if (kind != Expr::Op::IpMatch) return add_cond({kind, w});
      Expr::Word addr;  // -R 'net': REMOTE_ADDR -ipmatch 'net'
      addr.kind = Expr::Word::Kind::Var;
      addr.var = Expr::Var::RemoteAddr;
      return ip_match(add_word(std::move(addr)), w);
    }
    int a = word();
    if (a < 0) return -1;
    skip_space();
    if (eat("=~")) return regex_cond(a, Expr::Op::Match);
    if (eat("!~")) return regex_cond(a, Expr::Op::NoMatch);
    if (eat_word("-in") || eat_word("in")) return in_list(a);
    for (const auto& o : kBinaryOps) {
      bool alpha = o.name[0] == '-';
      if (alpha ? !eat_word(o.name) : !eat(o.name)) continue;
      int b = word();
      if (b < 0) return -1;
      if (o.op == Expr::Op::IpMatch) return ip_match(a, b);
      return add_cond({o.op, a, b});
    }
    if (pos_ >= s_.size()) return fail("expected an operator (==, !=, =~, -ipmatch...) after the word");
    return fail("expected an operator (==, !=, =~, -ipmatch...) at '" + std::string(s_.substr(pos_, 12)) + "'");
  }

  int ip_match(int a, int b) {
    Expr::Cond c{Expr::Op::IpMatch, a, b};
    const Expr::Word& w = e_.words_[static_cast<size_t>(b)];
    if (w.kind == Expr::Word::Kind::Literal) {  // compiled now: a bad network is a configuration error
      auto net = std::make_unique<IpNetwork>();
      std::string why;
      if (!parse_network(w.text, *net, why)) return fail("-ipmatch '" + w.text + "': " + why);
      e_.networks_.push_back(std::move(net));
      c.network = static_cast<int>(e_.networks_.size() - 1);
    }
    return add_cond(std::move(c));
  }

  int in_list(int a) {
    if (!eat("{")) return fail("expected '{' after -in");
    Expr::Cond c{Expr::Op::In, a};
    do {
      int w = word();
      if (w < 0) return -1;
      c.list.push_back(w);
    } while (eat(","));
    if (!eat("}")) return fail("expected ',' or '}' in the -in list");
    return add_cond(std::move(c));
  }

  int regex_cond(int a, Expr::Op op) {
    skip_space();
    if (pos_ >= s_.size()) return fail("expected a regular expression (/.../ or m#...#)");
    char delim = s_[pos_];
    if (delim == 'm' && pos_ + 1 < s_.size() && std::ispunct(static_cast<unsigned char>(s_[pos_ + 1])) &&
        s_[pos_ + 1] != '\\') {
      delim = s_[++pos_];
    } else if (delim != '/') {
      return fail("expected a regular expression (/.../ or m#...#) after =~");
    }
    size_t start = ++pos_;
    while (pos_ < s_.size() && s_[pos_] != delim) pos_ += s_[pos_] == '\\' && pos_ + 1 < s_.size() ? 2 : 1;
    if (pos_ >= s_.size()) return fail(std::string("the regular expression has no closing '") + delim + "'");
    std::string pattern(s_.substr(start, pos_ - start));
    ++pos_;
    unsigned flags = core::Regex::kNone;
    while (pos_ < s_.size() && std::isalpha(static_cast<unsigned char>(s_[pos_]))) {
      if (s_[pos_] != 'i') return fail(std::string("unknown regular expression flag '") + s_[pos_] + "'; Pillar accepts i");
      flags |= core::Regex::kCaseless;
      ++pos_;
    }
    auto re = std::make_unique<core::Regex>();
    if (std::string why = re->compile(pattern, flags); !why.empty())
      return fail("the regular expression '" + pattern + "' is invalid: " + why);
    e_.regexes_.push_back(std::move(re));
    Expr::Cond c{op, a};
    c.regex = static_cast<int>(e_.regexes_.size() - 1);
    return add_cond(std::move(c));
  }

  // word := part ("." part)*
  int word() {
    int a = word_part();
    if (a < 0) return -1;
    skip_space();
    if (pos_ >= s_.size() || s_[pos_] != '.') return a;
    Expr::Word cat;
    cat.kind = Expr::Word::Kind::Concat;
    cat.parts.push_back(a);
    while (eat(".")) {
      int b = word_part();
      if (b < 0) return -1;
      cat.parts.push_back(b);
    }
    return add_word(std::move(cat));
  }

  int word_part() {
    skip_space();
    if (pos_ >= s_.size()) return fail("expected a word (a 'string', a %{VARIABLE}, a number or a function)");
    char c = s_[pos_];
    if (c == '\'' || c == '"') return quoted(c);
    if (c == '%' && s_.substr(pos_, 2) == "%{") return variable();
    if (std::isdigit(static_cast<unsigned char>(c))) {
      size_t start = pos_;
      while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
      return literal(std::string(s_.substr(start, pos_ - start)));
    }
    if (c == '$') return fail("back-references ($0..$9) are not supported in expressions");
    if (std::isalpha(static_cast<unsigned char>(c))) return function();
    return fail(std::string("unexpected '") + c + "'; expected a word (a 'string', a %{VARIABLE}, a number or a function)");
  }

  int function() {
    size_t start = pos_;
    while (pos_ < s_.size() && ident_char(s_[pos_])) ++pos_;
    std::string_view name = s_.substr(start, pos_ - start);
    const FuncName* f = nullptr;
    for (const auto& k : kFuncs)
      if (core::iequals(k.name, name)) f = &k;
    if (!f) {
      pos_ = start;
      return fail("unknown function or word '" + std::string(name) +
                  "'; strings are quoted ('...'), functions are req, http, resp, env, reqenv, tolower, toupper");
    }
    if (!eat("(")) return fail(std::string(name) + " takes its argument in parentheses: " + std::string(name) + "('...')");
    if (++depth_ > kMaxDepth) return fail("the expression nests too deeply");
    int arg = word();
    --depth_;
    if (arg < 0) return -1;
    if (!eat(")")) return fail("expected ')' after the argument of " + std::string(name));
    Expr::Word w;
    const Expr::Word& aw = e_.words_[static_cast<size_t>(arg)];
    if (f->func == Expr::Func::Resp) e_.reads_response_ = true;
    if (aw.kind == Expr::Word::Kind::Literal && f->func != Expr::Func::ToLower && f->func != Expr::Func::ToUpper) {
      // A lookup by a constant name: resolved now.
      w.kind = f->func == Expr::Func::Req ? Expr::Word::Kind::Field
               : f->func == Expr::Func::Resp ? Expr::Word::Kind::RespField
                                             : Expr::Word::Kind::Env;
      w.text = aw.text;
      return add_word(std::move(w));
    }
    w.kind = Expr::Word::Kind::Func;
    w.func = f->func;
    w.parts.push_back(arg);
    return add_word(std::move(w));
  }

  // %{NAME}, %{HTTP:Field}, %{ENV:name}, %{HTTP_FIELD_NAME}
  int variable() {
    pos_ += 2;
    size_t end = s_.find('}', pos_);
    if (end == std::string_view::npos) return fail("the variable has no closing '}'");
    std::string_view name = s_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return variable_word(name);
  }

  int variable_word(std::string_view name) {
    Expr::Word w;
    if (size_t colon = name.find(':'); colon != std::string_view::npos) {
      std::string_view kind = name.substr(0, colon), arg = name.substr(colon + 1);
      if (arg.empty()) return fail("%{" + std::string(name) + "}: the name after ':' is empty");
      if (core::iequals(kind, "HTTP") || core::iequals(kind, "REQ")) w.kind = Expr::Word::Kind::Field;
      else if (core::iequals(kind, "ENV") || core::iequals(kind, "REQENV")) w.kind = Expr::Word::Kind::Env;
      else if (core::iequals(kind, "RESP")) {
        w.kind = Expr::Word::Kind::RespField;
        e_.reads_response_ = true;
      } else
        return fail("%{" + std::string(name) + "}: unknown variable kind '" + std::string(kind) +
                    "'; Pillar accepts %{HTTP:field}, %{ENV:name} and %{RESP:field}");
      w.text = std::string(arg);
      return add_word(std::move(w));
    }
    for (const auto& v : kVars) {
      if (!core::iequals(v.name, name)) continue;
      w.kind = Expr::Word::Kind::Var;
      w.var = v.var;
      if (v.var == Expr::Var::ContentType) e_.reads_response_ = true;
      return add_word(std::move(w));
    }
    if (name.size() > 5 && core::iequals(name.substr(0, 5), "HTTP_")) {  // HTTP_USER_AGENT: the User-Agent field
      w.kind = Expr::Word::Kind::Field;
      w.text = std::string(name.substr(5));
      for (char& ch : w.text) ch = ch == '_' ? '-' : ch;
      return add_word(std::move(w));
    }
    return fail("unknown variable %{" + std::string(name) + "}; see docs/configuration.md for those Pillar knows");
  }

  // '...' or "..." with %{VAR} inside; \ escapes the quote and itself.
  int quoted(char q) {
    ++pos_;
    Expr::Word cat;
    cat.kind = Expr::Word::Kind::Concat;
    std::string lit;
    auto flush = [&] {
      if (!lit.empty()) cat.parts.push_back(literal(std::move(lit)));
      lit.clear();
    };
    for (;;) {
      if (pos_ >= s_.size()) return fail(std::string("the string has no closing ") + q);
      char c = s_[pos_];
      if (c == q) {
        ++pos_;
        break;
      }
      if (c == '\\' && pos_ + 1 < s_.size() && (s_[pos_ + 1] == q || s_[pos_ + 1] == '\\')) {
        lit.push_back(s_[pos_ + 1]);
        pos_ += 2;
      } else if (c == '%' && s_.substr(pos_, 2) == "%{") {
        flush();
        int v = variable();
        if (v < 0) return -1;
        cat.parts.push_back(v);
      } else {
        lit.push_back(c);
        ++pos_;
      }
    }
    if (cat.parts.empty()) return literal(std::move(lit));
    flush();
    if (cat.parts.size() == 1) return cat.parts[0];
    return add_word(std::move(cat));
  }
};

std::shared_ptr<const Expr> Expr::compile(std::string_view text, std::string& error) {
  std::shared_ptr<Expr> e(new Expr());
  e->text_ = std::string(text);
  ExprParser p(*e, e->text_);
  if (!p.parse(error)) return nullptr;
  PILLAR_ASSERT(e->root_ >= 0);
  return e;
}

// The thread's buffers: kept between evaluations (their capacity too); a
// deque, so views into earlier ones stay valid as it grows.
namespace {
struct Buffers {
  std::deque<std::string> pool;
  size_t used = 0;
};
thread_local Buffers t_buffers;
}  // namespace

// One evaluation: views into the input, and the thread's buffers for what
// has to be made (tolower, joined fields, concatenations).
class ExprEvaluator {
 public:
  ExprEvaluator(const Expr& e, const ExprInput& in) : e_(e), in_(in) {}

  bool cond(int i) const {
    const Expr::Cond& c = e_.conds_[static_cast<size_t>(i)];
    using Op = Expr::Op;
    switch (c.op) {
      case Op::True: return true;
      case Op::False: return false;
      case Op::Not: return !cond(c.a);
      case Op::And: return cond(c.a) && cond(c.b);
      case Op::Or: return cond(c.a) || cond(c.b);
      case Op::StrEq: return word(c.a) == word(c.b);
      case Op::StrNe: return word(c.a) != word(c.b);
      case Op::StrLt: return word(c.a) < word(c.b);
      case Op::StrLe: return word(c.a) <= word(c.b);
      case Op::StrGt: return word(c.a) > word(c.b);
      case Op::StrGe: return word(c.a) >= word(c.b);
      case Op::IntEq: case Op::IntNe: case Op::IntLt: case Op::IntLe: case Op::IntGt: case Op::IntGe: {
        int64_t x = 0, y = 0;
        if (!integer(word(c.a), x) || !integer(word(c.b), y)) return false;  // not numbers: false, as Apache's error
        switch (c.op) {
          case Op::IntEq: return x == y;
          case Op::IntNe: return x != y;
          case Op::IntLt: return x < y;
          case Op::IntLe: return x <= y;
          case Op::IntGt: return x > y;
          default: return x >= y;
        }
      }
      case Op::Match: case Op::NoMatch: {
        core::Regex::Result r = e_.regexes_[static_cast<size_t>(c.regex)]->match(word(c.a));
        if (r == core::Regex::Result::Error) return false;  // a limit hit: neither matches
        return (r == core::Regex::Result::Match) == (c.op == Op::Match);
      }
      case Op::IpMatch: return ip_match(c);
      case Op::StrMatch: case Op::StrCMatch: {
        std::string& text = buffer();
        text.assign(word(c.a));
        std::string& pattern = buffer();
        pattern.assign(word(c.b));
        return ::fnmatch(pattern.c_str(), text.c_str(), c.op == Op::StrCMatch ? FNM_CASEFOLD : 0) == 0;
      }
      case Op::In: {
        std::string_view v = word(c.a);
        for (int w : c.list)
          if (word(w) == v) return true;
        return false;
      }
      case Op::NonEmpty: return !word(c.a).empty();
      case Op::Empty: return word(c.a).empty();
      case Op::Truthy: {  // -T: false for "", 0, off, false, no (any case), as Apache
        std::string_view v = word(c.a);
        for (std::string_view f : {"", "0", "off", "false", "no"})
          if (core::iequals(v, f)) return false;
        return true;
      }
    }
    return false;
  }

 private:
  const Expr& e_;
  const ExprInput& in_;

  static std::string& buffer() {
    if (t_buffers.used >= t_buffers.pool.size()) t_buffers.pool.emplace_back();
    std::string& s = t_buffers.pool[t_buffers.used++];
    s.clear();
    return s;
  }

  static bool integer(std::string_view v, int64_t& out) {
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    return ec == std::errc() && p == v.data() + v.size() && !v.empty();
  }

  bool ip_match(const Expr::Cond& c) const {
    IpNetwork parsed;
    const IpNetwork* net = nullptr;
    if (c.network >= 0) {
      net = e_.networks_[static_cast<size_t>(c.network)].get();
    } else {
      std::string why;
      if (!parse_network(word(c.b), parsed, why)) return false;
      net = &parsed;
    }
    const Expr::Word& lhs = e_.words_[static_cast<size_t>(c.a)];
    if (lhs.kind == Expr::Word::Kind::Var && lhs.var == Expr::Var::RemoteAddr && in_.client) return net->contains(*in_.client);
    sockaddr_storage a{};
    std::string& text = buffer();
    text.assign(word(c.a));
    auto* v4 = reinterpret_cast<sockaddr_in*>(&a);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&a);
    if (::inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) a.ss_family = AF_INET;
    else if (::inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) a.ss_family = AF_INET6;
    else return false;
    return net->contains(a);
  }

  std::string_view field(std::string_view name) const {
    if (!in_.head) return {};
    if (core::iequals(name, "Host") && !in_.head->authority.empty()) return in_.head->authority;
    std::string_view first;
    std::string* joined = nullptr;
    for (const auto& f : in_.head->headers) {  // repeated fields read as one, joined by ", " (as Apache merges them)
      if (!core::iequals(f.name, name)) continue;
      if (first.data() == nullptr) {
        first = f.value;
        if (first.data() == nullptr) first = std::string_view("", 0);
        continue;
      }
      if (!joined) {
        joined = &buffer();
        joined->assign(first);
      }
      joined->append(", ").append(f.value);
    }
    return joined ? std::string_view(*joined) : first;
  }

  std::string_view env(std::string_view name) const { return in_.env ? in_.env->get(name) : std::string_view(); }

  std::string_view var(Expr::Var v) const {
    using V = Expr::Var;
    switch (v) {
      case V::HttpHost: return field("Host");
      case V::RequestUri: return in_.uri;
      case V::QueryString: return in_.query;
      case V::RequestMethod: return in_.head ? in_.head->method_name : std::string_view();
      case V::RequestScheme: return in_.https ? "https" : "http";
      case V::Https: return in_.https ? "on" : "off";
      case V::RemoteAddr: return in_.remote_addr;
      case V::ServerName: return in_.server_name;
      case V::ServerPort: {
        std::string& s = buffer();
        s = std::to_string(in_.server_port);
        return s;
      }
      case V::ServerProtocol: return protocol();
      case V::TheRequest: {
        if (!in_.head) return {};
        std::string& s = buffer();
        s.append(in_.head->method_name).append(" ").append(in_.head->target).append(" ").append(protocol());
        return s;
      }
      case V::RequestFilename: return in_.filename;
      case V::DocumentRoot: return in_.document_root;
      case V::RemoteUser: return in_.remote_user;
      case V::ContentType:  // the response's field as it stands (an earlier Header line may have set it)
        if (in_.response_field) {
          std::string_view v = in_.response_field(in_.response_ctx, "Content-Type");
          if (!v.empty()) return v;
        }
        return in_.content_type;
      case V::Ipv6: return in_.client && in_.client->ss_family == AF_INET6 ? "on" : "off";
    }
    return {};
  }

  std::string_view protocol() const {
    if (!in_.head) return {};
    if (in_.head->version_major == 2) return "HTTP/2.0";
    return in_.head->version_minor == 0 ? "HTTP/1.0" : "HTTP/1.1";
  }

  std::string_view word(int i) const {
    const Expr::Word& w = e_.words_[static_cast<size_t>(i)];
    using K = Expr::Word::Kind;
    switch (w.kind) {
      case K::Literal: return w.text;
      case K::Var: return var(w.var);
      case K::Field: return field(w.text);
      case K::RespField: return in_.response_field ? in_.response_field(in_.response_ctx, w.text) : std::string_view();
      case K::Env: return env(w.text);
      case K::Concat: {
        std::string& s = buffer();
        for (int p : w.parts) s.append(word(p));
        return s;
      }
      case K::Func: {
        PILLAR_ASSERT(w.parts.size() == 1);
        std::string_view arg = word(w.parts[0]);
        switch (w.func) {
          case Expr::Func::Req: return field(arg);
          case Expr::Func::Resp: return in_.response_field ? in_.response_field(in_.response_ctx, arg) : std::string_view();
          case Expr::Func::Env: return env(arg);
          case Expr::Func::ToLower: case Expr::Func::ToUpper: {
            std::string& s = buffer();
            s.assign(arg);
            for (char& ch : s) ch = w.func == Expr::Func::ToLower ? core::ascii_lower(ch) : core::ascii_upper(ch);
            return s;
          }
        }
      }
    }
    return {};
  }
};

bool Expr::evaluate(const ExprInput& in) const {
  PILLAR_ASSERT(root_ >= 0);
  t_buffers.used = 0;
  return ExprEvaluator(*this, in).cond(root_);
}

}  // namespace pillar::config
