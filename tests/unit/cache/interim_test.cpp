// Unit tests for interim responses through the cache (RFC 9110 §15.2, RFC
// 9111 §3): forward_interim() and decide_store()'s refusal of 1xx.
#include <gtest/gtest.h>

#include "cache/policy.h"
#include "heads.h"

using pillar::cache::decide_store;
using pillar::cache::forward_interim;
using pillar::cache::Settings;
using namespace cache_test;

namespace {

TEST(Interim, OneXxButSwitchingProtocolsIsForwarded) {
  for (int status : {100, 102, 103, 150, 199}) EXPECT_TRUE(forward_interim(status, 1, 1, false)) << status;
  EXPECT_FALSE(forward_interim(101, 1, 1, false));  // the connection leaves HTTP: not an interim response
  for (int status : {200, 204, 304, 99}) EXPECT_FALSE(forward_interim(status, 1, 1, false)) << status;
}

TEST(Interim, NeverToAnHttp10Client) {
  EXPECT_FALSE(forward_interim(103, 1, 0, false));
  EXPECT_FALSE(forward_interim(100, 1, 0, false));
  EXPECT_TRUE(forward_interim(103, 2, 0, false));
}

// RFC 9110 §15.2: a 1xx the proxy caused need not be forwarded; Pillar's own
// 100 Continue already went to the client.
TEST(Interim, OriginsContinueIsDroppedWhenPillarAnsweredExpect) {
  EXPECT_FALSE(forward_interim(100, 1, 1, true));
  EXPECT_TRUE(forward_interim(100, 1, 1, false));
  EXPECT_TRUE(forward_interim(103, 1, 1, true));  // only 100 is Pillar's to repeat
}

// RFC 9111 §3: only a final status is stored, whatever the 1xx says about caching.
TEST(Interim, NeverStored) {
  Req req("");
  for (int status : {100, 102, 103}) {
    Resp r("Date: @{+0}\r\nCache-Control: public, max-age=600\r\nLink: </s.css>; rel=preload\r\n", status);
    auto d = decide_store(req.head, r.head, T, T, -1, Settings{});
    EXPECT_FALSE(d.store) << status;
    EXPECT_STREQ(d.why, "not final") << status;
  }
}

}  // namespace
