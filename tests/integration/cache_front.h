// Helpers of the cache integration tests that run one pillar in front of a
// scripted origin (backend.h): the origin's replies, a client's GET, and
// the pillar itself (one virtual host, CacheEnable mem /, X-Cache on).
#pragma once
#include <memory>
#include <string>

#include "backend.h"
#include "test_common.h"

namespace itest {

// A reply of `status` with `fields` ("Name: value\r\n"...) and `body`
// (Content-Length framed; a 304 gets neither).
inline BackendReply cache_reply(int status, const std::string& fields, const std::string& body) {
  BackendReply r;
  r.bytes = "HTTP/1.1 " + std::to_string(status) + (status == 304 ? " Not Modified" : " OK") + "\r\n" + fields;
  if (status != 304) r.bytes += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  r.bytes += "\r\n";
  if (status != 304) r.bytes += body;
  return r;
}

// One request on its own connection (Connection: close); the first response.
inline HttpResponse cache_request(uint16_t port, const std::string& method, const std::string& target,
                                  const std::string& fields = "") {
  RawExchange ex = raw_exchange(port,
                                method + " " + target + " HTTP/1.1\r\nHost: localhost\r\n" + fields +
                                    "Connection: close\r\n\r\n",
                                5s, method == "HEAD");
  if (ex.responses.empty()) {
    HttpResponse r;
    r.body = ex.data;
    return r;
  }
  return ex.first();
}

inline std::string describe_response(const HttpResponse& r) {
  std::string s = "status " + std::to_string(r.status) + "\n";
  for (const auto& [n, v] : r.headers) s += "  " + n + ": " + v + "\n";
  return s + "  (body " + std::to_string(r.body.size()) + " bytes)";
}

// How many requests for `target` the origin received.
inline size_t origin_requests(const Backend& be, const std::string& target) {
  size_t n = 0;
  for (const auto& r : be.requests()) n += r.target == target ? 1 : 0;
  return n;
}

// One pillar, one virtual host proxying everything to `origin_url` under
// CacheEnable, X-Cache on; `extra` goes into the virtual host.
class CacheFront {
 public:
  TempTree tree;
  std::unique_ptr<ServerProcess> srv;

  void start(const std::string& origin_url, const std::string& extra = "") {
    std::string conf = proxy_front_config(tree.mkdir("www"),
                                          "PidFile " + tree.path("pillar.pid") +
                                              "\nCacheSize 16M\n<VirtualHost *>\n  ServerName localhost\n"
                                              "  ProxyPass / " + origin_url + "/ retry=0\n  CacheEnable mem /\n"
                                              "  CacheHeader on\n" + extra + "\n</VirtualHost>\n",
                                          1);
    srv = std::make_unique<ServerProcess>(conf);
    ASSERT_TRUE(srv->ok()) << srv->error();
  }
  uint16_t port() const { return srv->port(); }
};

}  // namespace itest
