// The build stamp: one place for "Server built", so `pillar -V`, server-status
// and anything else that says when the binary was built agree (each used its
// own __DATE__ __TIME__, which differ by the seconds between compiling them).
#pragma once
#include <string_view>

namespace pillar::core {

// "Mmm dd yyyy hh:mm:ss" (the compiler's __DATE__ and __TIME__), taken when
// build_info.cpp was compiled.
std::string_view build_time();

}  // namespace pillar::core
