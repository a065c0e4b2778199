// Unit tests for the Pillar-specific TLS directives of directives/ssl.cpp.
#include <gtest/gtest.h>

#include <string>

#include "config/loader.h"
#include "config_text.h"

using namespace pillar::config;

namespace {

using config_text::errors;
using config_text::load;

TEST(SslDirectives, TicketKeyRotationDefaultsToTwelveHoursAndTakesSeconds) {
  auto d = load("");
  ASSERT_TRUE(d.ok()) << errors(d);
  EXPECT_EQ(d.config->ticket_key_rotation, Millis(12LL * 3600 * 1000));
  auto r = load("PillarTLSTicketKeyRotation 3600\n");
  ASSERT_TRUE(r.ok()) << errors(r);
  EXPECT_EQ(r.config->ticket_key_rotation, Millis(3600 * 1000));
}

TEST(SslDirectives, TicketKeyRotationRefusesZeroWordsAndVhosts) {
  for (const char* bad : {"PillarTLSTicketKeyRotation 0\n", "PillarTLSTicketKeyRotation soon\n",
                          "PillarTLSTicketKeyRotation 99999999\n",
                          "<VirtualHost *>\nPillarTLSTicketKeyRotation 60\n</VirtualHost>\n"}) {
    auto r = load(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.errors[0].to_string().find("PillarTLSTicketKeyRotation"), std::string::npos) << errors(r);
  }
}

}  // namespace
