// Test helpers: one line run through a command table, expected to be
// answered (its result) or refused (its error text).
#pragma once
#include <gtest/gtest.h>

#include <string>

#include "server/control/control_commands.h"

namespace pillar::server::testing {

inline nlohmann::json answered(const ControlCommands& table, const std::string& line) {
  auto r = table.run(line);
  EXPECT_TRUE(r["ok"].get<bool>()) << line << ": " << r.dump();
  return r["result"];
}

inline std::string refused(const ControlCommands& table, const std::string& line) {
  auto r = table.run(line);
  EXPECT_FALSE(r["ok"].get<bool>()) << line << ": " << r.dump();
  return r.value("error", "");
}

}  // namespace pillar::server::testing
