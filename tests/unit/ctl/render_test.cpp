// pillarctl's rendering of the control socket's answers for people.
#include <gtest/gtest.h>

#include <string>

#include "ctl/control_client.h"

namespace {

using pillar::ctl::render;

TEST(Render, BalancerShowsTheMethodNameAndAMemberRowEach) {
  auto result = nlohmann::json::parse(R"([{"balancer": "app", "lbmethod": "bybusyness", "members": [
      {"url": "http://10.0.0.1:8080", "route": "a", "status": "Ok", "ejected": false, "loadfactor": 1,
       "busy": 0, "requests": 7, "traffic_bytes": 1200},
      {"url": "http://10.0.0.2:8080", "route": "", "status": "E", "ejected": true, "loadfactor": 3,
       "busy": 2, "requests": 9, "traffic_bytes": 0}]}])");
  std::string out = render("balancer", result);
  EXPECT_NE(out.find("balancer://app lbmethod=bybusyness\n"), std::string::npos) << out;
  EXPECT_NE(out.find("STATUS"), std::string::npos) << out;
  // One line per member, with its status letters.
  size_t a = out.find("http://10.0.0.1:8080"), b = out.find("http://10.0.0.2:8080");
  ASSERT_NE(a, std::string::npos) << out;
  ASSERT_NE(b, std::string::npos) << out;
  std::string row_a = out.substr(a, out.find('\n', a) - a), row_b = out.substr(b, out.find('\n', b) - b);
  EXPECT_NE(row_a.find(" Ok "), std::string::npos) << row_a;
  EXPECT_NE(row_b.find(" E "), std::string::npos) << row_b;
  EXPECT_NE(row_b.find(" - "), std::string::npos) << row_b;  // no route
  EXPECT_EQ(out.find("\"lbmethod\""), std::string::npos) << "not the raw JSON:\n" << out;
}

TEST(Render, AnObjectIsKeyValueLines) {
  auto result = nlohmann::json::parse(R"({"balancer": "app", "member": "a", "status": "N"})");
  std::string out = render("balancer", result);
  EXPECT_NE(out.find("status: N\n"), std::string::npos) << out;
}

}  // namespace
