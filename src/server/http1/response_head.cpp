#include "server/http1/response_head.h"

#include <charconv>

#include "http/response.h"

namespace pillar::server::http1 {

void append_number(std::string& out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void begin_head(std::string& out, int status, std::string_view reason) {
  out.append("HTTP/1.1 ");
  append_number(out, static_cast<uint64_t>(status));
  out.push_back(' ');
  out.append(reason.empty() ? http::reason_phrase(status) : reason);
  out.append("\r\n");
}

HeadEnd end_head(std::string& out, BodyLength body, uint64_t length, int client_minor, bool keep_alive) {
  HeadEnd e;
  switch (body) {
    case BodyLength::None:
      break;
    case BodyLength::Known:
      out.append("Content-Length: ");
      append_number(out, length);
      out.append("\r\n");
      break;
    case BodyLength::Unknown:
      if (client_minor >= 1) {
        e.chunked = true;
        out.append("Transfer-Encoding: chunked\r\n");
      } else {
        keep_alive = false;
      }
      break;
  }
  e.keep_alive = keep_alive;
  if (!keep_alive) out.append("Connection: close\r\n");
  else if (client_minor == 0) out.append("Connection: keep-alive\r\n");
  out.append("\r\n");
  return e;
}

}  // namespace pillar::server::http1
