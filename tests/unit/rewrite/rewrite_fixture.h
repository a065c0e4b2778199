// A RuleSet built from httpd.conf text, and a Context with canned
// variables, headers and files: the rewrite engine runs without sockets.
#pragma once
#include <map>
#include <memory>
#include <set>
#include <string>

#include "config/lexer.h"
#include "rewrite/engine.h"
#include "rewrite/rules.h"

namespace rwtest {

using namespace pillar;

struct Compiled {
  rewrite::Maps maps;
  rewrite::RuleSet set;
  std::vector<config::ConfigError> errors;
};

// `dir` empty: server context; else the <Directory> path.
inline std::unique_ptr<Compiled> compile(const std::string& text, const std::string& dir = {}) {
  auto c = std::make_unique<Compiled>();
  std::vector<config::ConfigLine> lines;
  config::lex_config(text, "test.conf", lines, c->errors);
  c->set.directory = dir;
  std::vector<rewrite::Condition> pending;
  for (const auto& l : lines) {
    config::RewriteLine rl{l.name, l.args, {"test.conf", l.line}};
    rewrite::add_line(rl, c->set, c->maps, pending, c->errors);
  }
  rewrite::finish(c->set, pending, c->errors);
  c->set.maps = &c->maps;
  return c;
}

class FakeContext : public rewrite::Context {
 public:
  std::map<std::string, std::string> vars, headers, envs;
  std::set<std::string> files, dirs, links;
  std::vector<std::string> traces;

  std::string variable(std::string_view name) override {
    auto it = vars.find(std::string(name));
    return it == vars.end() ? std::string() : it->second;
  }
  std::string_view header(std::string_view name) override {
    for (const auto& [k, v] : headers) {
      if (core_iequals(k, name)) return v;
    }
    return {};
  }
  std::string env(std::string_view name) override {
    auto it = envs.find(std::string(name));
    return it == envs.end() ? std::string() : it->second;
  }
  void set_env(std::string_view name, std::string_view value) override { envs[std::string(name)] = std::string(value); }
  void unset_env(std::string_view name) override { envs.erase(std::string(name)); }
  rewrite::FileInfo file_info(const std::string& path) override {
    rewrite::FileInfo f;
    std::string p = path.size() > 1 && path.back() == '/' ? path.substr(0, path.size() - 1) : path;
    if (files.count(p)) f.exists = f.regular = true, f.size = 10;
    if (dirs.count(p)) f.exists = f.directory = true;
    if (links.count(p)) f.symlink = true;
    return f;
  }
  std::string url_to_file(std::string_view url) override { return "/srv/www" + std::string(url); }
  void trace(std::string_view line) override { traces.emplace_back(line); }

 private:
  static bool core_iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
    return true;
  }
};

// Runs in server context against `path`?`query`.
inline rewrite::Outcome run(const Compiled& c, FakeContext& ctx, std::string_view path, std::string_view query = {}) {
  rewrite::Input in;
  in.path = path;
  in.query = query;
  in.document_root = "/srv/www";
  in.server_url = "http://example.com";
  return rewrite::run(c.set, ctx, in);
}

}  // namespace rwtest
