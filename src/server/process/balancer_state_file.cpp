#include "server/process/balancer_state_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace pillar::server {

std::string render_balancer_state(const std::vector<std::unique_ptr<proxy::BalancerRuntime>>& balancers) {
  std::string out = "# pillar balancer state: BALANCER URL FLAGS WEIGHT (written by the master)\n";
  for (const auto& b : balancers) {
    std::string key = proxy::balancer_key(*b->cfg);
    auto span = b->span();
    for (size_t i = 0; i < span.size(); ++i) {
      if (b->cfg_index[i] < 0) continue;
      uint32_t f = span[i].status_flags.load();
      std::string flags;
      if (f & proxy::kStatusDisabled) flags += 'D';
      if (f & proxy::kStatusDrain) flags += 'N';
      out += key + " " + b->member_cfg(static_cast<int>(i)).url + " " + (flags.empty() ? "-" : flags) + " " +
             std::to_string(span[i].lbfactor) + "\n";
    }
  }
  return out;
}

bool write_balancer_state(const std::string& path, const std::string& text, std::string& error) {
  std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (!f) {
    error = "cannot write " + tmp + ": " + strerror(errno);
    return false;
  }
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = std::fflush(f) == 0 && ok;
  ok = fsync(fileno(f)) == 0 && ok;
  std::fclose(f);
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    error = "cannot write " + path + ": " + strerror(errno);
    std::remove(tmp.c_str());
    return false;
  }
  return true;
}

size_t restore_balancer_state(const std::string& path, const std::vector<std::unique_ptr<proxy::BalancerRuntime>>& balancers) {
  std::ifstream in(path);
  std::string line;
  size_t restored = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line.rfind("add ", 0) == 0) continue;  // "add": read by the master
    std::istringstream words(line);
    std::string key, url, flags;
    int weight = 0;
    if (!(words >> key >> url >> flags >> weight)) continue;
    for (const auto& b : balancers) {
      if (proxy::balancer_key(*b->cfg) != key) continue;
      auto span = b->span();
      for (size_t i = 0; i < span.size(); ++i) {
        if (b->cfg_index[i] < 0 || b->member_cfg(static_cast<int>(i)).url != url) continue;
        auto& m = span[i];
        uint32_t keep = m.status_flags.load() & ~uint32_t{proxy::kStatusDisabled | proxy::kStatusDrain};
        if (flags.find('D') != std::string::npos) keep |= proxy::kStatusDisabled;
        if (flags.find('N') != std::string::npos) keep |= proxy::kStatusDrain;
        m.status_flags.store(keep);
        if (weight >= 1 && weight <= 100) m.lbfactor = static_cast<uint32_t>(weight);
        ++restored;
      }
    }
  }
  return restored;
}

}  // namespace pillar::server
