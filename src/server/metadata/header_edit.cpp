// The edit engine (header_edit.h). Response and request fields differ in
// kind (owned strings with a table; views into the read buffer with
// storage for new values), so each has its own walk; the value rules
// (formats, merge's tokens, edit's replacement) are shared.
#include "server/metadata/header_edit.h"

#include <cstdio>

#include "core/text.h"
#include "server/metadata/regsub.h"

namespace pillar::server::metadata {
namespace {

using Op = config::HeaderAction::Op;
using Kind = config::HeaderFormat::Kind;

// merge: is `v` one of the comma-separated tokens of `list`? Apache's
// comparison: leading spaces skipped, the token runs to the next comma
// outside quotes, compared byte for byte.
bool has_token(std::string_view list, std::string_view v) {
  size_t i = 0;
  while (i < list.size()) {
    while (i < list.size() && (list[i] == ' ' || list[i] == '\t')) ++i;
    size_t start = i;
    while (i < list.size() && list[i] != ',') {
      if (list[i++] == '"') {
        while (i < list.size() && list[i++] != '"') {
        }
      }
    }
    if (list.substr(start, i - start) == v) return true;
    if (i < list.size()) ++i;
  }
  return false;
}

// edit / edit*: the first match of `re` in `value` replaced (every match,
// each taking its own $N), as Apache's process_regexp. False: no match.
bool edit_value(const core::Regex& re, std::string_view value, std::string_view repl, bool all, std::string& out) {
  out.clear();
  size_t pos = 0;
  bool changed = false;
  while (pos <= value.size()) {
    std::string_view rest = value.substr(pos);
    core::Regex::Captures c;
    if (re.match(rest, &c) != core::Regex::Result::Match) break;
    size_t so = static_cast<size_t>(c.group[0].data() - rest.data());
    size_t eo = so + c.group[0].size();
    out.append(rest.substr(0, so));
    regsub(repl, c, out);
    changed = true;
    if (!all) {
      pos += eo;
      break;
    }
    if (eo == so) {  // an empty match: keep the next character and go on past it
      if (so < rest.size()) out.push_back(rest[so]);
      pos += so + 1;
      continue;
    }
    pos += eo;
  }
  if (pos < value.size()) out.append(value.substr(pos));
  return changed;
}

bool visible(FieldTable f, config::HeaderAction::Table t) {
  if (f == FieldTable::Both) return true;
  return t == config::HeaderAction::Table::Always ? f == FieldTable::Always : f == FieldTable::OnSuccess;
}

FieldTable table_for(const config::HeaderAction& a, std::string_view name) {
  if (core::iequals(name, "Content-Type")) return FieldTable::Both;
  return a.table == config::HeaderAction::Table::Always ? FieldTable::Always : FieldTable::OnSuccess;
}

}  // namespace

void render_format(const config::HeaderFormat& f, const FormatSource& src, std::string& out) {
  char buf[64];
  for (const auto& p : f.pieces) {
    switch (p.kind) {
      case Kind::Literal: out.append(p.text); break;
      case Kind::RequestTime:
        std::snprintf(buf, sizeof buf, "t=%llu", static_cast<unsigned long long>(src.request_time_us()));
        out.append(buf);
        break;
      case Kind::Duration:
        std::snprintf(buf, sizeof buf, "D=%llu", static_cast<unsigned long long>(src.duration_us()));
        out.append(buf);
        break;
      case Kind::Load: out.append("l=").append(src.load()); break;
      case Kind::Idle: out.append("i=").append(std::to_string(src.idle_percent())); break;
      case Kind::Busy: out.append("b=").append(std::to_string(src.busy_percent())); break;
      case Kind::Env: {
        const std::string* v = src.env().find(p.text);
        out.append(v ? std::string_view(*v) : std::string_view("(null)"));
        break;
      }
      case Kind::Ssl: {
        std::string v = src.ssl_var(p.text);
        out.append(v.empty() ? std::string_view("(null)") : std::string_view(v));
        break;
      }
    }
  }
}

bool condition_holds(const config::HeaderAction& a, const http::RequestEnv& env, const config::ExprInput* in) {
  if (a.expr) return in && a.expr->evaluate(*in);
  if (a.env.empty()) return true;
  return env.has(a.env) != a.env_negated;
}

void apply_response_action(const config::HeaderAction& a, std::vector<ResponseField>& fields,
                           std::span<const http::HeaderField> request_fields, const FormatSource& src,
                           http::RequestEnv& notes) {
  auto first = [&]() -> ResponseField* {
    for (auto& f : fields) {
      if (visible(f.table, a.table) && core::iequals(f.name, a.header)) return &f;
    }
    return nullptr;
  };
  auto named = [&](const ResponseField& f) { return visible(f.table, a.table) && core::iequals(f.name, a.header); };
  std::string value;
  if (a.op != Op::Unset && a.op != Op::Echo) render_format(a.value, src, value);
  switch (a.op) {
    case Op::Set: {  // the first field of the name takes the value, the others go
      bool placed = false;
      for (size_t i = 0; i < fields.size();) {
        if (!named(fields[i])) {
          ++i;
        } else if (!placed) {
          fields[i++].value = value;
          placed = true;
        } else {
          fields.erase(fields.begin() + static_cast<std::ptrdiff_t>(i));
        }
      }
      if (!placed) fields.push_back({a.header, std::move(value), table_for(a, a.header)});
      return;
    }
    case Op::SetIfEmpty:
      if (!first()) fields.push_back({a.header, std::move(value), table_for(a, a.header)});
      return;
    case Op::Add: fields.push_back({a.header, std::move(value), table_for(a, a.header)}); return;
    case Op::Append:
    case Op::Merge: {
      ResponseField* f = first();
      if (!f) {
        fields.push_back({a.header, std::move(value), table_for(a, a.header)});
      } else if (a.op == Op::Append || !has_token(f->value, value)) {
        f->value.append(", ").append(value);
      }
      return;
    }
    case Op::Unset: std::erase_if(fields, named); return;
    case Op::Echo:
      for (const auto& rf : request_fields) {
        if (a.regex->match(rf.name) == core::Regex::Result::Match)
          fields.push_back({std::string(rf.name), std::string(rf.value), FieldTable::OnSuccess});  // Apache: headers_out
      }
      return;
    case Op::Edit:
    case Op::EditAll: {
      std::string edited;
      for (auto& f : fields) {
        if (!visible(f.table, a.table) || !core::iequals(f.name, a.header)) continue;
        if (edit_value(*a.regex, f.value, value, a.op == Op::EditAll, edited)) f.value = edited;
      }
      return;
    }
    case Op::Note:
      if (ResponseField* f = first()) notes.set(value, f->value);
      return;
  }
}

void apply_request_action(const config::HeaderAction& a, std::vector<http::HeaderField>& fields,
                          std::deque<std::string>& storage, const FormatSource& src, http::RequestEnv& notes) {
  auto first = [&]() -> http::HeaderField* {
    for (auto& f : fields) {
      if (core::iequals(f.name, a.header)) return &f;
    }
    return nullptr;
  };
  auto keep = [&](std::string v) -> std::string_view { return storage.emplace_back(std::move(v)); };
  std::string value;
  if (a.op != Op::Unset) render_format(a.value, src, value);
  switch (a.op) {
    case Op::Set: {  // the first field of the name takes the value, the others go
      bool placed = false;
      std::string_view kept;
      for (size_t i = 0; i < fields.size();) {
        if (!core::iequals(fields[i].name, a.header)) {
          ++i;
        } else if (!placed) {
          kept = keep(std::move(value));
          fields[i++].value = kept;
          placed = true;
        } else {
          fields.erase(fields.begin() + static_cast<std::ptrdiff_t>(i));
        }
      }
      if (!placed) fields.push_back({a.header, keep(std::move(value))});
      return;
    }
    case Op::SetIfEmpty:
      if (!first()) fields.push_back({a.header, keep(std::move(value))});
      return;
    case Op::Add: fields.push_back({a.header, keep(std::move(value))}); return;
    case Op::Append:
    case Op::Merge: {
      http::HeaderField* f = first();
      if (!f) {
        fields.push_back({a.header, keep(std::move(value))});
      } else if (a.op == Op::Append || !has_token(f->value, value)) {
        std::string joined(f->value);
        joined.append(", ").append(value);
        f->value = keep(std::move(joined));
      }
      return;
    }
    case Op::Unset:
      std::erase_if(fields, [&](const http::HeaderField& o) { return core::iequals(o.name, a.header); });
      return;
    case Op::Edit:
    case Op::EditAll: {
      std::string edited;
      for (auto& f : fields) {
        if (!core::iequals(f.name, a.header)) continue;
        if (edit_value(*a.regex, f.value, value, a.op == Op::EditAll, edited)) f.value = keep(edited);
      }
      return;
    }
    case Op::Note:
      if (http::HeaderField* f = first()) notes.set(value, f->value);
      return;
    case Op::Echo: return;  // refused at load for RequestHeader
  }
}

bool parse_fields(std::string_view block, FieldTable table, std::vector<ResponseField>& fields) {
  bool ok = true;
  while (!block.empty()) {
    size_t eol = block.find("\r\n");
    std::string_view line = block.substr(0, eol);
    block = eol == std::string_view::npos ? std::string_view() : block.substr(eol + 2);
    if (line.empty()) continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      ok = false;
      continue;
    }
    std::string_view name = line.substr(0, colon);
    std::string_view value = core::trim_ows(line.substr(colon + 1));
    FieldTable t = table;
    if (core::iequals(name, "Date")) t = FieldTable::None;
    else if (core::iequals(name, "Content-Type") && table != FieldTable::None) t = FieldTable::Both;
    fields.push_back({std::string(name), std::string(value), t});
  }
  return ok;
}

}  // namespace pillar::server::metadata
