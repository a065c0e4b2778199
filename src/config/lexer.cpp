#include "config/lexer.h"

namespace pillar::config {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

// Splits one logical line into words. Returns false (with `why`) on an
// unterminated quote.
bool split_words(std::string_view s, std::vector<std::string>& words, std::string& why) {
  size_t i = 0;
  while (true) {
    while (i < s.size() && is_space(s[i])) ++i;
    if (i >= s.size()) return true;
    std::string w;
    if (s[i] == '"' || s[i] == '\'') {
      char q = s[i++];
      bool closed = false;
      while (i < s.size()) {
        char c = s[i++];
        if (c == '\\' && i < s.size() && (s[i] == q || s[i] == '\\')) {
          w.push_back(s[i++]);
        } else if (c == q) {
          closed = true;
          break;
        } else {
          w.push_back(c);
        }
      }
      if (!closed) {
        why = std::string("unterminated ") + (q == '"' ? "double" : "single") + " quote; close the argument with " + q;
        return false;
      }
    } else {
      while (i < s.size() && !is_space(s[i])) w.push_back(s[i++]);
    }
    words.push_back(std::move(w));
  }
}

}  // namespace

void lex_config(std::string_view text, const std::string& file, std::vector<ConfigLine>& out,
                std::vector<ConfigError>& errors) {
  int lineno = 0;
  size_t pos = 0;
  std::string logical;
  int first_line = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view phys = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++lineno;
    if (!phys.empty() && phys.back() == '\r') phys.remove_suffix(1);
    // A backslash that ends the line continues it; one followed by blanks does not (as Apache).
    bool continued = !phys.empty() && phys.back() == '\\';
    if (!continued) {
      while (!phys.empty() && is_space(phys.back())) phys.remove_suffix(1);
    }
    if (logical.empty()) {
      size_t b = 0;
      while (b < phys.size() && is_space(phys[b])) ++b;
      phys.remove_prefix(b);
      if (phys.empty() || phys[0] == '#') continue;  // comments are whole lines, as in Apache
      first_line = lineno;
    }
    if (continued) {
      phys.remove_suffix(1);  // only the backslash and the newline go, as in Apache
      logical.append(phys);
      if (pos < text.size()) continue;
    } else {
      logical.append(phys);
    }
    if (logical.find('\0') != std::string::npos) {
      errors.push_back({file, first_line, "NUL byte in configuration line; the file looks binary"});
      logical.clear();
      continue;
    }
    ConfigLine cl;
    cl.line = first_line;
    std::string_view lv = logical;
    while (!lv.empty() && is_space(lv.back())) lv.remove_suffix(1);
    cl.raw = lv;
    std::string why;
    if (!lv.empty() && lv[0] == '<') {
      if (lv.back() != '>') {
        errors.push_back({file, first_line, "section line must end with '>', e.g. <Directory \"/srv/www\">"});
        logical.clear();
        continue;
      }
      lv = lv.substr(1, lv.size() - 2);
      if (!lv.empty() && lv[0] == '/') {
        cl.kind = ConfigLine::Kind::SectionClose;
        lv.remove_prefix(1);
      } else {
        cl.kind = ConfigLine::Kind::SectionOpen;
      }
    }
    std::vector<std::string> words;
    if (!split_words(lv, words, why)) {
      errors.push_back({file, first_line, why});
    } else if (words.empty()) {
      errors.push_back({file, first_line, "empty section tag; write <Name arguments> or </Name>"});
    } else {
      cl.name = std::move(words[0]);
      cl.args.assign(std::make_move_iterator(words.begin() + 1), std::make_move_iterator(words.end()));
      out.push_back(std::move(cl));
    }
    logical.clear();
  }
}

}  // namespace pillar::config
