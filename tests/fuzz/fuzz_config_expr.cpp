// libFuzzer target for the ap_expr compiler and evaluator (config/expr.h):
// any text either compiles or gives a message; what compiles evaluates
// against a fixed request without crashing, twice with the same answer
// (the per-thread buffers are reused between evaluations).
#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/expr.h"
#include "http/request.h"
#include "http/request_env.h"

namespace {

#define FUZZ_CHECK(cond)       \
  do {                         \
    if (!(cond)) std::abort(); \
  } while (0)

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string why;
  auto e = pillar::config::Expr::compile(text, why);
  FUZZ_CHECK((e == nullptr) != why.empty());
  if (!e) return 0;
  pillar::http::RequestHead head;
  head.method_name = "GET";
  head.target = "/a/b?x=1";
  head.path = "/a/b";
  head.query = "x=1";
  head.authority = "www.example.com";
  head.headers = {{"Host", "www.example.com"}, {"X-Debug", "1"}, {"X-Debug", "2"}};
  pillar::http::RequestEnv env;
  env.set("A", "b");
  sockaddr_storage client{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&client);
  v4->sin_family = AF_INET;
  inet_pton(AF_INET, "10.0.0.1", &v4->sin_addr);
  pillar::config::ExprInput in;
  in.head = &head;
  in.uri = "/a/b";
  in.query = "x=1";
  in.remote_addr = "10.0.0.1";
  in.client = &client;
  in.env = &env;
  in.content_type = "text/html";
  bool first = e->evaluate(in);
  FUZZ_CHECK(e->evaluate(in) == first);
  return 0;
}
