// mod_headers' format specifiers read from a live request: its
// environment, when its head was read, the node's connection slots (%i %b:
// Pillar's slots are connections, so idle and busy are the shares of
// MaxRequestWorkers free and in use), the load averages, and the client's
// TLS connection (%{VAR}s, the names of LogFormat's %{VAR}x).
#pragma once
#include "server/metadata/header_edit.h"
#include "server/request/request.h"

namespace pillar::server::metadata {

class RequestFormatSource final : public FormatSource {
 public:
  explicit RequestFormatSource(const Request& req) : req_(req) {}
  const http::RequestEnv& env() const override { return req_.env; }
  uint64_t request_time_us() const override;
  uint64_t duration_us() const override;
  std::string load() const override;
  int idle_percent() const override { return 100 - busy_percent(); }
  int busy_percent() const override;
  std::string ssl_var(std::string_view name) const override;

 private:
  const Request& req_;
};

}  // namespace pillar::server::metadata
