// The configuration `pillar` runs when started without -f.
#pragma once
#include <string_view>

namespace pillar::server {

std::string_view default_config_text();

}  // namespace pillar::server
