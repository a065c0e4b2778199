// libFuzzer target for the configuration layer: lexer, section tree,
// directive table and value parsers, through load_config_text(). Include
// paths resolve against a server root that does not exist, so the fuzzer
// never reads real files. Invariants: a result is either a config or errors,
// never both; every error names a file and a non-negative line.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/loader.h"

namespace {

#define FUZZ_CHECK(cond)       \
  do {                         \
    if (!(cond)) std::abort(); \
  } while (0)

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;  // long inputs only slow the fuzzer down
  std::string_view text(reinterpret_cast<const char*>(data), size);

  pillar::config::LoadOptions opts;
  opts.server_root = "/nonexistent-fuzz-root";
  opts.defines = {"FUZZ"};
  pillar::config::LoadResult r = pillar::config::load_config_text(text, "fuzz.conf", opts);

  FUZZ_CHECK(r.ok() == (r.errors.empty() && r.config != nullptr));
  FUZZ_CHECK((r.config == nullptr) == !r.errors.empty());
  for (const auto& e : r.errors) {
    FUZZ_CHECK(!e.file.empty());
    FUZZ_CHECK(e.line >= 0);
    FUZZ_CHECK(!e.message.empty());
    (void)e.to_string();
  }
  if (r.config) {
    const auto& sc = *r.config;
    FUZZ_CHECK(!sc.listens.empty());
    for (size_t i = 1; i < sc.main_server.directories.size(); ++i) {
      FUZZ_CHECK(sc.main_server.directories[i - 1].path.size() <= sc.main_server.directories[i].path.size());
    }
    // Exercise the matchers the request path uses.
    sockaddr_storage client{};
    client.ss_family = AF_INET;
    for (const auto& d : sc.main_server.directories) (void)d.access.allows(client);
    for (const auto& f : sc.main_server.files) (void)f.matches("index.php");
    for (const auto& l : sc.main_server.locations) (void)l.matches("/server-status/x");
    for (const auto& vh : sc.vhosts) (void)vh.matches_name("www.example.com");
  }
  return 0;
}
