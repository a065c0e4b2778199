#include <gtest/gtest.h>

#include <stdexcept>

#include "server/control/control_commands.h"

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

TEST(ControlCommands, CommandWordsSplitAtSpacesAndTabs) {
  EXPECT_EQ(command_words(" cache\tpurge  http://h/x \t"), (std::vector<std::string>{"cache", "purge", "http://h/x"}));
  EXPECT_TRUE(command_words(" \t ").empty());
}

TEST(ControlCommands, ALaterAddReplacesTheCommand) {
  ControlCommands c = sample();
  c.add("echo", "new", [](const std::vector<std::string>&) { return nlohmann::json("replaced"); });
  EXPECT_EQ(c.run("echo x")["result"], "replaced");
  EXPECT_EQ(c.run("help")["result"]["echo"], "new");
}

}  // namespace
}  // namespace pillar::server
