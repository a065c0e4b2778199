// Directive lines -> RuleSet, as mod_rewrite's cmd_rewrite* functions read
// them: the CondPattern's leading '!' and its operator (-f, =, -lt7...),
// the rule pattern's '!', the flag list "[L,R=301]" (names case-insensitive,
// as Apache; unknown flags are errors).
#include <cstdlib>

#include "core/text.h"
#include "rewrite/rules.h"

namespace pillar::rewrite {
namespace {

using config::ConfigError;

void error(std::vector<ConfigError>& errors, const config::RewriteLine& l, std::string msg) {
  errors.push_back({l.where.file, l.where.line, std::move(msg)});
}

// The flag list's items: "[A,B=c]" -> {"A", "B=c"}; false when not bracketed.
bool split_flags(std::string_view text, std::vector<std::string_view>& items) {
  if (text.size() < 2 || text.front() != '[' || text.back() != ']') return false;
  text = text.substr(1, text.size() - 2);
  for (size_t p = 0; p <= text.size();) {
    size_t comma = text.find(',', p);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = core::trim_ows(text.substr(p, comma - p));
    if (!item.empty()) items.push_back(item);
    p = comma + 1;
  }
  return true;
}

bool parse_int(std::string_view v, int lo, int hi, int& out) {
  if (v.empty() || v.size() > 9) return false;
  int n = 0;
  for (char c : v) {
    if (!core::is_digit(c)) return false;
    n = n * 10 + (c - '0');
  }
  if (n < lo || n > hi) return false;
  out = n;
  return true;
}

std::string parse_cond_flags(std::string_view text, Condition& c) {
  std::vector<std::string_view> items;
  if (!split_flags(text, items)) return "RewriteCond: bad flag delimiters in '" + std::string(text) + "'; write them as [NC,OR]";
  for (auto f : items) {
    if (core::iequals(f, "NC") || core::iequals(f, "nocase")) c.nocase = true;
    else if (core::iequals(f, "OR") || core::iequals(f, "ornext")) c.ornext = true;
    else if (core::iequals(f, "NV") || core::iequals(f, "novary")) c.novary = true;
    else return "RewriteCond: unknown flag '" + std::string(f) + "'; use NC, OR or NV";
  }
  return {};
}

}  // namespace

std::string parse_rule_flags(std::string_view text, RuleFlags& fl) {
  std::vector<std::string_view> items;
  if (!split_flags(text, items))
    return "RewriteRule: bad flag delimiters in '" + std::string(text) + "'; write them as [L,R=301]";
  for (auto item : items) {
    size_t eq = item.find('=');
    std::string key = core::lowercase(item.substr(0, eq));
    std::string_view val = eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
    bool has_val = eq != std::string_view::npos;
    auto bad = [&](std::string why) { return "RewriteRule flag '" + std::string(item) + "': " + why; };
    if (key == "l" || key == "last") fl.last = true;
    else if (key == "end") fl.end = true;
    else if (key == "nc" || key == "nocase") fl.nocase = true;
    else if (key == "c" || key == "chain") fl.chain = true;
    else if (key == "qsa" || key == "qsappend") fl.qsa = true;
    else if (key == "qsd" || key == "qsdiscard") fl.qsd = true;
    else if (key == "qsl" || key == "qslast") fl.qsl = true;
    else if (key == "ne" || key == "noescape") fl.noescape = true;
    else if (key == "b") {
      fl.escape_backrefs = true;
      fl.escape_chars = std::string(val);
    } else if (key == "bnp" || key == "backrefnoplus") fl.backref_no_plus = true;
    else if (key == "f" || key == "forbidden") fl.forbidden = true;
    else if (key == "g" || key == "gone") fl.gone = true;
    else if (key == "pt" || key == "passthrough") fl.passthrough = true;
    else if (key == "p" || key == "proxy") fl.proxy = true;
    else if (key == "ns" || key == "nosubreq") fl.nosubreq = true;
    else if (key == "dpi" || key == "discardpath") fl.discard_path_info = true;
    else if (key == "r" || key == "redirect") {
      fl.redirect = 302;
      if (has_val) {
        std::string v = core::lowercase(val);
        if (v == "permanent") fl.redirect = 301;
        else if (v == "temp") fl.redirect = 302;
        else if (v == "seeother") fl.redirect = 303;
        else if (!parse_int(v, 300, 399, fl.redirect) && !parse_int(v, 400, 599, fl.redirect))
          return bad("the status is 300-399 (a redirect) or 400-599 (the URL is dropped), or permanent, temp, seeother");
      }
    } else if (key == "s" || key == "skip") {
      if (!parse_int(val, 1, 100000, fl.skip)) return bad("S=N skips N following rules (N >= 1)");
    } else if (key == "n" || key == "next") {
      fl.next = true;
      if (has_val && !parse_int(val, 1, 1000000, fl.next_limit)) return bad("N=LIMIT is a number of rounds");
    } else if (key == "e" || key == "env") {
      if (val.empty()) return bad("E=VAR:VALUE, E=VAR or E=!VAR");
      fl.env.emplace_back(val);
    } else if (key == "co" || key == "cookie") {
      if (val.size() < 3 || val.find(val[0] == ';' ? ';' : ':') == std::string_view::npos)
        return bad("CO=NAME:VALUE:DOMAIN[:LIFETIME[:PATH[:SECURE[:HTTPONLY[:SAMESITE]]]]]");
      fl.cookies.emplace_back(val);
    } else if (key == "t" || key == "type") {
      if (val.empty()) return bad("T=MIME-TYPE");
      fl.type = std::string(val);
    } else if (key == "h" || key == "handler") {
      if (val.empty()) return bad("H=HANDLER");
      fl.handler = std::string(val);
    } else {
      return "RewriteRule: unknown flag '" + std::string(item) +
             "'; use B, BNP, C, CO, DPI, E, END, F, G, H, L, N, NC, NE, NS, P, PT, QSA, QSD, QSL, R, S or T";
    }
  }
  return {};
}

void add_line(const config::RewriteLine& l, RuleSet& set, Maps& maps, std::vector<Condition>& pending,
              std::vector<ConfigError>& errors) {
  const std::string& name = l.name;
  if (core::iequals(name, "RewriteEngine")) {
    if (core::iequals(l.args[0], "on")) set.engine_on = true;
    else if (core::iequals(l.args[0], "off")) set.engine_on = false;
    else return error(errors, l, "RewriteEngine " + l.args[0] + ": write On or Off");
    set.engine_set = true;
  } else if (core::iequals(name, "RewriteBase")) {
    set.base = l.args[0];
    set.base_set = true;
  } else if (core::iequals(name, "RewriteOptions")) {
    for (const auto& o : l.args) {
      if (core::iequals(o, "Inherit")) set.inherit = true;
      else if (core::iequals(o, "InheritBefore")) set.inherit_before = true;
      else if (core::iequals(o, "InheritDown") || core::iequals(o, "InheritDownBefore") ||
               core::iequals(o, "IgnoreInherit") || core::iequals(o, "AllowNoSlash") ||
               core::iequals(o, "AllowAnyURI") || core::iequals(o, "MergeBase") || core::iequals(o, "IgnoreContextInfo") ||
               core::iequals(o, "LegacyPrefixDocRoot") || core::istarts_with(o, "MaxRedirects"))
        return error(errors, l, "RewriteOptions " + o + " is not supported yet; Pillar has Inherit and InheritBefore");
      else return error(errors, l, "RewriteOptions " + o + " is unknown; use Inherit or InheritBefore");
    }
  } else if (core::iequals(name, "RewriteMap")) {
    if (l.args.size() == 3 && !core::istarts_with(l.args[1], "prg:"))
      return error(errors, l, "RewriteMap " + l.args[0] + ": map options are only for prg: maps (user:group)");
    if (maps.has(l.args[0])) return error(errors, l, "RewriteMap " + l.args[0] + " is already defined");
    std::string why = maps.define(l.args[0], l.args[1], l.args.size() == 3 ? std::string_view(l.args[2]) : std::string_view());
    if (!why.empty()) return error(errors, l, why);
  } else if (core::iequals(name, "RewriteCond")) {
    Condition c;
    c.where = l.where;
    c.test = l.args[0];
    if (core::iequals(c.test, "expr"))
      return error(errors, l, "RewriteCond expr (ap_expr) is not supported yet; write the test as %{VAR} and a CondPattern");
    if (l.args.size() == 3) {
      std::string why = parse_cond_flags(l.args[2], c);
      if (!why.empty()) return error(errors, l, why);
    }
    std::string_view p = l.args[1];
    if (!p.empty() && p[0] == '!') {
      c.negate = true;
      p.remove_prefix(1);
    }
    static constexpr std::pair<std::string_view, CondOp> kFile[] = {
        {"-f", CondOp::FileExists}, {"-d", CondOp::DirExists}, {"-s", CondOp::SizeNonZero}, {"-l", CondOp::Symlink},
        {"-L", CondOp::Symlink},    {"-h", CondOp::Symlink},   {"-x", CondOp::Executable},  {"-F", CondOp::FileLookup},
        {"-U", CondOp::UrlLookup}};
    static constexpr std::pair<std::string_view, CondOp> kInt[] = {
        {"-eq", CondOp::IntEq}, {"-ne", CondOp::IntNe}, {"-lt", CondOp::IntLt},
        {"-le", CondOp::IntLe}, {"-gt", CondOp::IntGt}, {"-ge", CondOp::IntGe}};
    static constexpr std::pair<std::string_view, CondOp> kStr[] = {
        {"<=", CondOp::StrLe}, {">=", CondOp::StrGe}, {"=", CondOp::StrEq}, {"<", CondOp::StrLt}, {">", CondOp::StrGt}};
    bool done = false;
    for (const auto& [k, op] : kFile) {
      if (p == k) {
        c.op = op;
        done = true;
      }
    }
    for (const auto& [k, op] : kInt) {
      if (!done && p.size() > 3 && p.substr(0, 3) == k) {
        c.op = op;
        c.operand = std::string(p.substr(3));
        char* end = nullptr;
        std::strtoll(c.operand.c_str(), &end, 10);
        if (!end || *end) return error(errors, l, "RewriteCond " + std::string(k) + ": '" + c.operand + "' is not an integer");
        done = true;
      }
    }
    for (const auto& [k, op] : kStr) {
      if (!done && p.substr(0, k.size()) == k) {
        c.op = op;
        c.operand = std::string(p.substr(k.size()));
        if (c.operand == "\"\"") c.operand.clear();  // ="" tests for an empty string
        done = true;
      }
    }
    if (!done) {
      c.op = CondOp::Regex;
      std::string why = c.regex.compile(p, c.nocase ? core::Regex::kCaseless : core::Regex::kNone);
      if (!why.empty()) return error(errors, l, "RewriteCond pattern " + std::string(p) + ": " + why);
    }
    pending.push_back(std::move(c));
  } else if (core::iequals(name, "RewriteRule")) {
    Rule r;
    r.where = l.where;
    if (l.args.size() == 3) {
      std::string why = parse_rule_flags(l.args[2], r.flags);
      if (!why.empty()) return error(errors, l, why);
    }
    std::string_view p = l.args[0];
    if (!p.empty() && p[0] == '!') {
      r.negate = true;
      p.remove_prefix(1);
    }
    std::string why = r.regex.compile(p, r.flags.nocase ? core::Regex::kCaseless : core::Regex::kNone);
    if (!why.empty()) return error(errors, l, "RewriteRule pattern " + std::string(p) + ": " + why);
    r.substitution = l.args[1];
    r.conds = std::move(pending);
    pending.clear();
    set.rules.push_back(std::make_shared<const Rule>(std::move(r)));
  }
}

void finish(RuleSet&, std::vector<Condition>& pending, std::vector<ConfigError>& errors) {
  for (const auto& c : pending) {
    errors.push_back({c.where.file, c.where.line,
                      "RewriteCond without a RewriteRule after it: conditions belong to the next RewriteRule; add the "
                      "rule or remove the condition"});
  }
  pending.clear();
}

}  // namespace pillar::rewrite
