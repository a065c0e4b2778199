#include "server/access_log.h"

#include "server/tls_front.h"

#include <unistd.h>

#include <charconv>
#include <ctime>

#include "http/response.h"

namespace pillar::server {

namespace {

void append_number(std::string& out, uint64_t v) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}

// Apache escapes quotes, backslashes and non-printable bytes in logged
// request data so a client cannot forge log lines.
void append_escaped(std::string& out, std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c >= 0x7f) {
      out.append("\\x");
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
}

void append_or_dash(std::string& out, std::string_view s) {
  if (s.empty()) out.push_back('-');
  else append_escaped(out, s);
}

std::string_view response_header(const std::string* block, std::string_view name) {
  return block ? http::find_header_line(*block, name) : std::string_view{};
}

// "[24/Nov/2026:14:14:31 +0000]", formatted once per second per thread.
void append_clf_time(std::string& out, time_t t) {
  thread_local time_t cached = -1;
  thread_local char buf[40];
  thread_local size_t len = 0;
  if (t != cached) {
    struct tm tm;
    localtime_r(&t, &tm);
    len = strftime(buf, sizeof buf, "[%d/%b/%Y:%H:%M:%S %z]", &tm);
    cached = t;
  }
  out.append(buf, len);
}

}  // namespace

std::unique_ptr<AccessLogFormat> AccessLogFormat::compile(std::string_view f, std::string& error) {
  auto fmt = std::make_unique<AccessLogFormat>();
  std::string literal;
  auto flush_literal = [&] {
    if (!literal.empty()) fmt->items_.push_back({Kind::Literal, std::move(literal)});
    literal.clear();
  };
  for (size_t i = 0; i < f.size(); ++i) {
    char c = f[i];
    if (c == '\\' && i + 1 < f.size()) {  // \n, \t, \" as Apache
      char e = f[++i];
      literal.push_back(e == 'n' ? '\n' : e == 't' ? '\t' : e);
      continue;
    }
    if (c != '%') {
      literal.push_back(c);
      continue;
    }
    if (++i >= f.size()) {
      error = "LogFormat ends with a lone '%'";
      return nullptr;
    }
    std::string arg;
    if (f[i] == '{') {
      size_t close = f.find('}', i);
      if (close == std::string_view::npos) {
        error = "LogFormat: unclosed '%{' (expected %{NAME}i or similar)";
        return nullptr;
      }
      arg = std::string(f.substr(i + 1, close - i - 1));
      i = close + 1;
    }
    // Modifiers Apache allows (status lists, '<' '>'): '>' selects the final status, others are ignored.
    while (i < f.size() && (f[i] == '<' || f[i] == '>' || f[i] == '!' || f[i] == ',' ||
                            (f[i] >= '0' && f[i] <= '9')))
      ++i;
    if (i >= f.size()) {
      error = "LogFormat: '%' directive is incomplete";
      return nullptr;
    }
    Kind k;
    switch (f[i]) {
      case '%': literal.push_back('%'); continue;
      case 'h': case 'a': k = Kind::RemoteHost; break;
      case 'l': k = Kind::RemoteLogname; break;
      case 'u': k = Kind::RemoteUser; break;
      case 't': k = Kind::Time; break;
      case 'r': k = Kind::RequestLine; break;
      case 's': k = Kind::FinalStatus; break;
      case 'b': k = Kind::BytesCLF; break;
      case 'B': k = Kind::Bytes; break;
      case 'D': k = Kind::DurationUs; break;
      case 'T': k = arg == "ms" ? Kind::DurationMs : arg == "us" ? Kind::DurationUs : Kind::DurationS; break;
      case 'v': k = Kind::ServerName; break;
      case 'V': k = Kind::HostHeader; break;
      case 'U': k = Kind::UrlPath; break;
      case 'q': k = Kind::Query; break;
      case 'm': k = Kind::Method; break;
      case 'H': k = Kind::Protocol; break;
      case 'p': k = Kind::LocalPort; break;
      case 'A': k = Kind::LocalIp; break;
      case 'P': k = Kind::Pid; break;
      case 'i': k = Kind::RequestHeader; break;
      case 'o': k = Kind::ResponseHeader; break;
      case 'I': k = Kind::BytesIn; break;
      case 'O': k = Kind::BytesOut; break;
      case 'k': k = Kind::KeepAlives; break;
      case 'X': k = Kind::ConnStatus; break;
      case 'e': k = Kind::Env; break;
      case 'x': k = Kind::SslVar; break;  // mod_ssl: %{SSL_PROTOCOL}x, %{SSL_CLIENT_S_DN}x...
      default:
        error = std::string("LogFormat: unsupported directive '%") + f[i] +
                "' (supported: %a %A %b %B %D %h %H %i %k %l %m %o %p %P %q %r %s %t %T %u %U %v %V %x %X %I %O %e %%)";
        return nullptr;
    }
    if (k == Kind::SslVar && !ssl_var_known(arg)) {
      error = "LogFormat: %{" + arg + "}x is not a mod_ssl variable Pillar knows (" + std::string(ssl_var_names()) + ")";
      return nullptr;
    }
    if ((k == Kind::RequestHeader || k == Kind::ResponseHeader || k == Kind::Env) && arg.empty()) {
      error = std::string("LogFormat: '%") + f[i] + "' needs a header name, e.g. %{User-Agent}" + f[i];
      return nullptr;
    }
    flush_literal();
    fmt->items_.push_back({k, std::move(arg)});
  }
  flush_literal();
  return fmt;
}

void AccessLogFormat::render(const LogRecord& r, std::string& out) const {
  for (const Item& it : items_) {
    switch (it.kind) {
      case Kind::Literal: out.append(it.arg); break;
      case Kind::RemoteHost: append_or_dash(out, r.client_ip); break;
      case Kind::RemoteLogname: out.push_back('-'); break;
      case Kind::RemoteUser: append_or_dash(out, r.user); break;
      case Kind::Time: append_clf_time(out, r.start_time); break;
      case Kind::RequestLine: append_escaped(out, r.request_line); break;
      case Kind::FinalStatus:
      case Kind::OrigStatus: append_number(out, static_cast<uint64_t>(r.status)); break;
      case Kind::BytesCLF:
        if (r.body_bytes == 0) out.push_back('-');
        else append_number(out, r.body_bytes);
        break;
      case Kind::Bytes: append_number(out, r.body_bytes); break;
      case Kind::DurationUs: append_number(out, r.duration_us); break;
      case Kind::DurationMs: append_number(out, r.duration_us / 1000); break;
      case Kind::DurationS: append_number(out, r.duration_us / 1000000); break;
      case Kind::ServerName: append_or_dash(out, r.server_name); break;
      case Kind::HostHeader: append_or_dash(out, r.host.empty() ? r.server_name : r.host); break;
      case Kind::UrlPath: append_or_dash(out, r.path); break;
      case Kind::Query:
        if (!r.query.empty()) {
          out.push_back('?');
          append_escaped(out, r.query);
        }
        break;
      case Kind::Method: append_or_dash(out, r.head ? r.head->method_name : std::string_view()); break;
      case Kind::Protocol:
        if (r.head) {
          out.append("HTTP/");
          out.push_back(static_cast<char>('0' + r.head->version_major));
          out.push_back('.');
          out.push_back(static_cast<char>('0' + r.head->version_minor));
        } else {
          out.push_back('-');
        }
        break;
      case Kind::LocalPort: append_number(out, r.local_port); break;
      case Kind::LocalIp: append_or_dash(out, r.local_ip); break;
      case Kind::Pid: append_number(out, static_cast<uint64_t>(getpid())); break;
      case Kind::RequestHeader: append_or_dash(out, r.head ? r.head->find(it.arg) : std::string_view()); break;
      case Kind::Env: {
        std::string_view v;
        if (r.env) {
          for (const auto& [k, val] : *r.env) {
            if (k == it.arg) v = val;
          }
        }
        append_or_dash(out, v);
        break;
      }
      case Kind::ResponseHeader: append_or_dash(out, response_header(r.response_headers, it.arg)); break;
      case Kind::BytesIn: append_number(out, r.bytes_in); break;
      case Kind::BytesOut: append_number(out, r.bytes_out); break;
      case Kind::KeepAlives: append_number(out, r.keepalive_count); break;
      case Kind::ConnStatus: out.push_back(r.connection_status); break;
      case Kind::SslVar: {
        std::string v = r.transport ? ssl_var(*r.transport, it.arg) : std::string();
        append_or_dash(out, v);
        break;
      }
    }
  }
  out.push_back('\n');
}

}  // namespace pillar::server
