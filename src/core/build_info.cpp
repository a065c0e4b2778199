#include "core/build_info.h"

namespace pillar::core {

std::string_view build_time() { return __DATE__ " " __TIME__; }

}  // namespace pillar::core
