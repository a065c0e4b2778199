// CustomLog/LogFormat: a format string compiled once at load into a list of
// items, rendered per request into the loop's log sink without lookups.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/log.h"
#include "core/transport.h"
#include "http/request.h"
#include "http/request_env.h"

namespace pillar::server {

// What a log line can say about one request.
struct LogRecord {
  const http::RequestHead* head = nullptr;  // null when the request did not parse
  std::string_view request_line;            // first line as received (may be truncated)
  std::string_view path;                    // raw URL path (%U)
  std::string_view query;                   // without '?'
  std::string_view client_ip;
  std::string_view user;                    // %u: the authenticated user (Basic); empty: "-"
  std::string_view local_ip;
  uint16_t local_port = 0;
  std::string_view server_name;             // the vhost's ServerName (%v)
  std::string_view host;                    // Host as sent (%V falls back to server_name)
  int status = 0;
  uint64_t body_bytes = 0;                  // %b / %B
  uint64_t bytes_in = 0;                    // %I
  uint64_t bytes_out = 0;                   // %O
  uint64_t duration_us = 0;                 // %D / %T
  time_t start_time = 0;                    // %t
  const std::string* response_headers = nullptr;  // "Name: v\r\n" block for %{X}o
  const http::RequestEnv* env = nullptr;    // %{VAR}e: the request's environment
  const http::RequestEnv* notes = nullptr;  // %{NAME}n: notes (Header note)
  uint32_t keepalive_count = 0;             // %k
  char connection_status = '+';             // %X: X aborted, + keep-alive, - close
  const core::Transport* transport = nullptr;  // the connection's, for mod_ssl's %{VAR}x
};

class AccessLogFormat {
 public:
  // Unknown %-directives are rejected with a message naming them.
  static std::unique_ptr<AccessLogFormat> compile(std::string_view format, std::string& error);
  void render(const LogRecord& r, std::string& out) const;  // appends one line incl. '\n'

 private:
  enum class Kind : uint8_t {
    Literal, RemoteHost, RemoteLogname, RemoteUser, Time, RequestLine, FinalStatus, OrigStatus,
    BytesCLF, Bytes, DurationUs, DurationS, DurationMs, ServerName, HostHeader, UrlPath, Query,
    Method, Protocol, LocalPort, LocalIp, Pid, RequestHeader, ResponseHeader, BytesIn, BytesOut,
    KeepAlives, ConnStatus, Env, Note, SslVar
  };
  struct Item {
    Kind kind;
    std::string arg;  // literal text or header name
  };
  std::vector<Item> items_;
};

// One CustomLog destination with its compiled format (shared by a vhost's
// Site and the per-directory Sites its .htaccess files make, server/htaccess.h).
struct AccessLog {
  std::shared_ptr<core::LogSink> sink;
  std::shared_ptr<const AccessLogFormat> format;
};

}  // namespace pillar::server
