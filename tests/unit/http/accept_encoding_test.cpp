// Accept-Encoding (RFC 9110 §12.5.3) as the DEFLATE filter reads it: the
// coding's own weight, "*" for codings not listed, q=0 refusing, x-gzip as
// gzip, identity irrelevant, several field lines, malformed weights.
#include "http/accept_encoding.h"

#include <gtest/gtest.h>

namespace pillar::http {
namespace {

TEST(AcceptEncoding, QValues) {
  EXPECT_EQ(parse_qvalue("1"), 1000);
  EXPECT_EQ(parse_qvalue("1.000"), 1000);
  EXPECT_EQ(parse_qvalue("0"), 0);
  EXPECT_EQ(parse_qvalue("0.000"), 0);
  EXPECT_EQ(parse_qvalue("0.5"), 500);
  EXPECT_EQ(parse_qvalue("0.001"), 1);
  EXPECT_EQ(parse_qvalue("1.5"), -1);
  EXPECT_EQ(parse_qvalue("0.0001"), -1);
  EXPECT_EQ(parse_qvalue("2"), -1);
  EXPECT_EQ(parse_qvalue(""), -1);
  EXPECT_EQ(parse_qvalue("0,5"), -1);
}

TEST(AcceptEncoding, WhoTakesGzip) {
  struct Case {
    const char* value;
    bool gzip;
  };
  const Case cases[] = {
      {"gzip", true},
      {"GZip", true},
      {"deflate, gzip, br", true},
      {"gzip;q=0.5", true},
      {"gzip ; q=0.001", true},
      {"x-gzip", true},
      {"gzip;q=0", false},
      {"gzip;q=0.000", false},
      {"gzip; Q=0", false},
      {"br, deflate", false},
      {"", false},
      {"identity", false},
      {"identity;q=0", false},         // refusing identity says nothing of gzip
      {"*", true},
      {"*;q=0", false},
      {"*, gzip;q=0", false},          // its own weight wins over *
      {"gzip;q=0, *", false},
      {"*;q=0, gzip", true},
      {"br;q=1, *;q=0.1", true},
      {"gzip;level=9", true},          // other parameters do not matter
      {"gzip;q=abc", false},           // a malformed weight is not acceptable
      {"gzipx", false},
      {",,gzip,,", true},
      {"x-gzip;q=0, gzip", true},      // the better of the two names
  };
  for (const auto& c : cases) EXPECT_EQ(accepts_coding(c.value, "gzip"), c.gzip) << c.value;
}

TEST(AcceptEncoding, EveryFieldLineCounts) {
  RequestHead head;
  EXPECT_FALSE(accepts_coding(head, "gzip"));  // no field: no coding (Apache's reading)
  head.headers.push_back({"Accept-Encoding", "br"});
  EXPECT_FALSE(accepts_coding(head, "gzip"));
  head.headers.push_back({"accept-encoding", "gzip;q=0.2"});
  EXPECT_TRUE(accepts_coding(head, "gzip"));
  head.headers.push_back({"Accept-Encoding", "gzip;q=0"});
  EXPECT_TRUE(accepts_coding(head, "gzip"));  // listed twice: the better weight
}

}  // namespace
}  // namespace pillar::http
