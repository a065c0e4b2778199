// Apache's start-up corrections for the MPM sizing directives, applied to
// the event engine: inconsistent values are adjusted with the warnings
// Apache prints, except that an explicit MaxRequestWorkers is honoured
// exactly (the limit is a node-wide connection counter, not a product of
// process and thread counts).
#pragma once
#include <string>
#include <vector>

#include "config/model.h"

namespace pillar::config {

void settle_process_config(ProcessConfig& p, std::vector<std::string>& warnings);

// Workers needed to hold `p.max_request_workers` connections.
uint32_t max_workers(const ProcessConfig& p);

}  // namespace pillar::config
