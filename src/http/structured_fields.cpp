// RFC 8941 §4.2 parsing algorithms, followed step by step over a cursor into
// the field value. Each parse_* returns false on a parse error; nothing is
// allocated for the parts that are only checked (parameters, inner lists).
#include "http/structured_fields.h"

#include "core/text.h"

#include "core/assert.h"

namespace pillar::http::sf {

namespace {

using core::is_digit;
bool is_lcalpha(char c) { return c >= 'a' && c <= 'z'; }
bool is_alpha(char c) { return is_lcalpha(c) || (c >= 'A' && c <= 'Z'); }
bool is_tchar(char c) {
  if (is_alpha(c) || is_digit(c)) return true;
  for (char t : std::string_view("!#$%&'*+-.^_`|~"))
    if (c == t) return true;
  return false;
}

class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  bool empty() const { return s_.empty(); }
  char peek() const { return s_.empty() ? '\0' : s_.front(); }
  char take() {
    PILLAR_ASSERT(!s_.empty());
    char c = s_.front();
    s_.remove_prefix(1);
    return c;
  }
  void skip_sp() {
    while (!s_.empty() && s_.front() == ' ') s_.remove_prefix(1);
  }
  void skip_ows() {
    while (!s_.empty() && (s_.front() == ' ' || s_.front() == '\t')) s_.remove_prefix(1);
  }
  std::string_view rest() const { return s_; }
  void drop(size_t n) { s_.remove_prefix(n); }

 private:
  std::string_view s_;
};

// §4.2.3.3
bool parse_key(Cursor& in, std::string* out) {
  if (!is_lcalpha(in.peek()) && in.peek() != '*') return false;
  std::string key;
  while (!in.empty()) {
    char c = in.peek();
    if (!is_lcalpha(c) && !is_digit(c) && c != '_' && c != '-' && c != '.' && c != '*') break;
    key.push_back(in.take());
  }
  if (out) *out = std::move(key);
  return true;
}

// §4.2.4
bool parse_number(Cursor& in, Member& m) {
  bool decimal = false;
  std::string num;
  if (in.peek() == '-') num.push_back(in.take());
  if (!is_digit(in.peek())) return false;
  size_t digits = 0;  // input_number's length without the sign
  while (!in.empty()) {
    char c = in.peek();
    if (is_digit(c)) {
      num.push_back(in.take());
      ++digits;
    } else if (!decimal && c == '.') {
      if (digits > 12) return false;
      num.push_back(in.take());
      ++digits;
      decimal = true;
    } else {
      break;
    }
    if (!decimal && digits > 15) return false;
    if (decimal && digits > 16) return false;
  }
  if (!decimal) {
    int64_t v = 0;
    for (char c : num)
      if (is_digit(c)) v = v * 10 + (c - '0');  // at most 15 digits: no overflow
    m.type = Type::Integer;
    m.integer = num.front() == '-' ? -v : v;
    return true;
  }
  if (num.back() == '.') return false;
  if (num.size() - num.find('.') - 1 > 3) return false;
  m.type = Type::Decimal;
  m.text = std::move(num);
  return true;
}

// §4.2.5
bool parse_string(Cursor& in, Member& m) {
  in.take();  // the opening DQUOTE
  std::string out;
  while (!in.empty()) {
    char c = in.take();
    if (c == '\\') {
      if (in.empty()) return false;
      char next = in.take();
      if (next != '"' && next != '\\') return false;
      out.push_back(next);
    } else if (c == '"') {
      m.type = Type::String;
      m.text = std::move(out);
      return true;
    } else if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      return false;
    } else {
      out.push_back(c);
    }
  }
  return false;  // no closing DQUOTE
}

// §4.2.6
bool parse_token(Cursor& in, Member& m) {
  std::string out;
  while (!in.empty() && (is_tchar(in.peek()) || in.peek() == ':' || in.peek() == '/')) out.push_back(in.take());
  m.type = Type::Token;
  m.text = std::move(out);
  return true;
}

// §4.2.7: the content is checked against the base64 alphabet, not decoded
// (nobody here needs the bytes).
bool parse_byte_sequence(Cursor& in, Member& m) {
  in.take();  // ':'
  size_t end = in.rest().find(':');
  if (end == std::string_view::npos) return false;
  std::string_view b64 = in.rest().substr(0, end);
  for (char c : b64)
    if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '/' && c != '=') return false;
  m.type = Type::ByteSequence;
  m.text = std::string(b64);
  in.drop(end + 1);
  return true;
}

// §4.2.8
bool parse_boolean(Cursor& in, Member& m) {
  in.take();  // '?'
  if (in.empty()) return false;
  char c = in.take();
  if (c != '0' && c != '1') return false;
  m.type = Type::Boolean;
  m.boolean = c == '1';
  return true;
}

// §4.2.3.1
bool parse_bare_item(Cursor& in, Member& m) {
  char c = in.peek();
  if (c == '-' || is_digit(c)) return parse_number(in, m);
  if (c == '"') return parse_string(in, m);
  if (c == '*' || is_alpha(c)) return parse_token(in, m);
  if (c == ':') return parse_byte_sequence(in, m);
  if (c == '?') return parse_boolean(in, m);
  return false;
}

// §4.2.3.2: checked, not kept.
bool parse_parameters(Cursor& in) {
  while (in.peek() == ';') {
    in.take();
    in.skip_sp();
    if (!parse_key(in, nullptr)) return false;
    if (in.peek() == '=') {
      in.take();
      Member ignored;
      if (!parse_bare_item(in, ignored)) return false;
    }
  }
  return true;
}

// §4.2.1.2: checked, not kept.
bool parse_inner_list(Cursor& in, Member& m) {
  in.take();  // '('
  while (!in.empty()) {
    in.skip_sp();
    if (in.peek() == ')') {
      in.take();
      m.type = Type::InnerList;
      return parse_parameters(in);
    }
    Member item;
    if (!parse_bare_item(in, item) || !parse_parameters(in)) return false;
    if (in.peek() != ' ' && in.peek() != ')') return false;
  }
  return false;  // no closing parenthesis
}

}  // namespace

std::optional<Dictionary> parse_dictionary(std::string_view field_value) {
  Cursor in(field_value);
  in.skip_sp();  // §4.2 steps 2 and 5
  Dictionary dict;
  while (!in.empty()) {
    Member m;
    if (!parse_key(in, &m.key)) return std::nullopt;
    if (in.peek() == '=') {
      in.take();
      if (in.peek() == '(') {
        if (!parse_inner_list(in, m)) return std::nullopt;
      } else if (!parse_bare_item(in, m) || !parse_parameters(in)) {
        return std::nullopt;
      }
    } else if (!parse_parameters(in)) {  // Boolean true, maybe with parameters
      return std::nullopt;
    }
    bool replaced = false;
    for (Member& old : dict) {
      if (old.key != m.key) continue;
      old = std::move(m);
      replaced = true;
      break;
    }
    if (!replaced) dict.push_back(std::move(m));
    in.skip_ows();
    if (in.empty()) return dict;
    if (in.take() != ',') return std::nullopt;
    in.skip_ows();
    if (in.empty()) return std::nullopt;  // a trailing comma
  }
  return dict;
}

}  // namespace pillar::http::sf
