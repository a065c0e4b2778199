// The node's 1-minute load average, as PillarShedLoad compares it
// (docs/limits.md). The master reads it once a second and publishes it in
// the scoreboard, so a request never reads /proc itself.
#pragma once
#include <cstdint>
#include <string_view>

namespace pillar::core {

// "0.52 0.58 0.59 1/123 4567" (/proc/loadavg): the first figure x 1000;
// nullopt-like 0 with `ok` false when the text is not that.
uint32_t parse_load_milli(std::string_view text, bool& ok);

// The file read: /proc/loadavg, or $PILLAR_LOADAVG_FILE (tests give the
// master a load they control). 0 when it cannot be read.
uint32_t read_load_milli();

}  // namespace pillar::core
