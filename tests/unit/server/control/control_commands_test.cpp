#include <gtest/gtest.h>

#include <stdexcept>

#include "server/control/control_socket.h"

namespace pillar::server {
namespace {

ControlCommands sample() {
  ControlCommands c;
  c.add("echo", "returns its arguments", [](const std::vector<std::string>& args) { return nlohmann::json(args); });
  c.add("fail", "always refused", [](const std::vector<std::string>&) -> nlohmann::json {
    throw std::runtime_error("refused: because");
  });
  return c;
}

TEST(ControlCommands, DispatchesWithArguments) {
  auto r = sample().run("echo  a\tb ");
  ASSERT_TRUE(r["ok"].get<bool>());
  EXPECT_EQ(r["result"], nlohmann::json({"a", "b"}));
}

TEST(ControlCommands, UnknownCommandIsAnErrorNamingIt) {
  auto r = sample().run("drain web1");
  EXPECT_FALSE(r["ok"].get<bool>());
  EXPECT_NE(r["error"].get<std::string>().find("drain"), std::string::npos);
}

TEST(ControlCommands, HandlerExceptionBecomesError) {
  auto r = sample().run("fail");
  EXPECT_FALSE(r["ok"].get<bool>());
  EXPECT_EQ(r["error"], "refused: because");
}

TEST(ControlCommands, HelpAndEmptyLineListCommands) {
  for (const char* line : {"help", "", "   "}) {
    auto r = sample().run(line);
    ASSERT_TRUE(r["ok"].get<bool>()) << line;
    EXPECT_TRUE(r["result"].contains("echo"));
    EXPECT_TRUE(r["result"].contains("fail"));
  }
}

}  // namespace
}  // namespace pillar::server
