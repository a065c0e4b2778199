// The shared field rules: hop-by-hop, framing, conditionals, Connection-named.
#include "http/field_rules.h"

#include <gtest/gtest.h>

#include <vector>

namespace pillar::http {
namespace {

TEST(FieldRules, HopByHopIsCaseInsensitiveAndExact) {
  for (std::string_view n : {"connection", "KEEP-ALIVE", "Proxy-Connection", "te", "Transfer-Encoding", "Upgrade",
                             "Trailer", "Proxy-Authorization", "proxy-authenticate"})
    EXPECT_TRUE(hop_by_hop(n)) << n;
  for (std::string_view n : {"Content-Type", "Authorization", "Connectionx", "T", "Cache-Control", "Set-Cookie"})
    EXPECT_FALSE(hop_by_hop(n)) << n;
}

TEST(FieldRules, FramingAndConditionals) {
  EXPECT_TRUE(framing_field("content-length"));
  EXPECT_TRUE(framing_field("Expect"));
  EXPECT_FALSE(framing_field("Content-Type"));
  for (std::string_view n : {"If-None-Match", "if-modified-since", "If-Match", "If-Unmodified-Since", "If-Range", "Range"})
    EXPECT_TRUE(conditional_or_range(n)) << n;
  EXPECT_FALSE(conditional_or_range("If"));
  EXPECT_FALSE(conditional_or_range("Accept-Ranges"));
}

TEST(FieldRules, FieldsNamedByConnectionAreHopByHop) {
  std::vector<HeaderField> fields = {{"Connection", "close, X-Trace"}, {"X-Trace", "1"}, {"X-Other", "2"}};
  EXPECT_TRUE(named_by_connection(fields, "x-trace"));
  EXPECT_TRUE(named_by_connection(fields, "close"));
  EXPECT_FALSE(named_by_connection(fields, "X-Other"));
}

}  // namespace
}  // namespace pillar::http
