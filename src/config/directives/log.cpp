// The log directive table: ErrorLog, LogLevel (core) and LogFormat, CustomLog
// (mod_log_config). Listed in directives/registry.cpp; docs/configuration.md
// documents each directive.
#include "config/directives/tables.h"

#include <sys/stat.h>
#include <unistd.h>


#include "config/values.h"
#include "http/request.h"

namespace pillar::config {
namespace {

bool log_path(DirectiveSink& out, const ConfigNode& n, const Scope& s, std::string_view v, std::string& path) {
  if (!v.empty() && v[0] == '|')
    return out.error(n, n.name + ": piped logs are not supported; log to a file and rotate it with logrotate"), false;
  if (v.rfind("syslog", 0) == 0)
    return out.error(n, n.name + ": syslog is not supported; log to a file or to stderr (journald collects it)"), false;
  path = (v == "stderr" || v == "/dev/stderr") ? "stderr" : fs_path(s, v);
  if (path == "stderr") return true;
  // What opening the log at start needs, checked here so pillar -t says it.
  std::string dir = path.substr(0, path.rfind('/'));
  if (dir.empty()) dir = "/";
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return out.error(n, n.name + " " + path + ": the directory " + dir + " does not exist; create it"), false;
  bool exists = stat(path.c_str(), &st) == 0;
  if (access(exists ? path.c_str() : dir.c_str(), W_OK) != 0)
    return out.error(n, n.name + " " + path + ": " + (exists ? path : dir) + " is not writable by Pillar"), false;
  return true;
}

void d_error_log(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  std::string p;
  if (!log_path(out, n, s, n.args[0], p)) return;
  if (s.ctx == kVHost) s.vhost.error_log = p;
  else s.server.error_log = p == "stderr" ? "" : p;
}

void d_log_level(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  static constexpr std::pair<std::string_view, LogLevel> kLevels[] = {
      {"emerg", LogLevel::Emerg}, {"alert", LogLevel::Alert}, {"crit", LogLevel::Crit},  {"error", LogLevel::Error},
      {"warn", LogLevel::Warn},   {"notice", LogLevel::Notice}, {"info", LogLevel::Info}, {"debug", LogLevel::Debug}};
  for (const auto& a : n.args) {
    if (size_t colon = a.find(':'); colon != std::string::npos) {
      // Per-module levels: one level for all in Pillar, except mod_rewrite's trace.
      std::string mod = core::lowercase(a.substr(0, colon)), lvl = core::lowercase(a.substr(colon + 1));
      if (mod == "rewrite" && s.ctx == kServer)
        s.server.rewrite_trace = lvl.size() == 6 && lvl.rfind("trace", 0) == 0 && lvl[5] >= '1' && lvl[5] <= '8' ? lvl[5] - '0' : 0;
      continue;
    }
    std::string v = core::lowercase(a);
    if (v.rfind("trace", 0) == 0 && v.size() == 6 && v[5] >= '1' && v[5] <= '8') v = "debug";
    bool found = false;
    for (const auto& [name, lvl] : kLevels) {
      if (v == name) {
        if (s.ctx == kServer) s.server.log_level = lvl;
        found = true;
      }
    }
    if (!found)
      return out.error(n, "LogLevel '" + a + "' is unknown; use emerg, alert, crit, error, warn, notice, info, debug or trace1-8");
  }
}

void d_log_format(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  if (n.args.size() == 1) return out.notice(n, "LogFormat without a nickname ignored (Pillar has no TransferLog)");
  s.vhost.log_formats[n.args[1]] = n.args[0];
}

void d_custom_log(DirectiveSink& out, const ConfigNode& n, Scope& s) {
  if (n.args.size() == 3)
    return out.error(n, "CustomLog condition '" + n.args[2] + "' is not supported; remove it");
  CustomLog cl;
  if (!log_path(out, n, s, n.args[0], cl.path)) return;
  const std::string& f = n.args[1];
  // A nickname is looked up once the whole file is read (a LogFormat may
  // come later), as Apache does when it opens the logs.
  if (f.find('%') == std::string::npos) cl.nickname = f;
  else cl.format = f;
  cl.where = {n.file, n.line};
  if (s.ctx == kVHost && !s.custom_logs_replaced) {
    s.vhost.custom_logs.clear();
    s.custom_logs_replaced = true;
  }
  s.vhost.custom_logs.push_back(std::move(cl));
}

constexpr DirectiveSpec kTable[] = {
    {"CustomLog", 2, 3, kSV, false, d_custom_log, "CustomLog PATH FORMAT|NICKNAME"},
    {"ErrorLog", 1, 1, kSV, false, d_error_log, "ErrorLog PATH|stderr"},
    {"LogFormat", 1, 2, kSV, false, d_log_format, "LogFormat \"FORMAT\" NICKNAME"},
    {"LogLevel", 1, -1, kSV | kDirectory, true, d_log_level, "LogLevel LEVEL"},
};

}  // namespace

std::span<const DirectiveSpec> log_directives() { return kTable; }

}  // namespace pillar::config
