// Handlers for `SetHandler` names that serve built-in content.
#pragma once
#include <memory>
#include <string_view>

#include "config/model.h"
#include "handlers/server_status.h"
#include "http/handler.h"

namespace pillar::handlers {

// The handler for a SetHandler kind other than Default.
std::unique_ptr<http::Handler> make_builtin_handler(config::HandlerKind kind, const config::ServerConfig& cfg,
                                                   const BuiltinContext& ctx);

// The welcome page of the embedded default configuration, at / (and
// /index.html); any other path is 404, as a site without that file. The
// page names /server-status and /metrics and shows a ten-line example
// configuration, welcome_example_config().
std::string_view welcome_example_config();
class WelcomeHandler final : public http::Handler {
 public:
  void handle(const http::RequestContext& ctx, http::Response& resp) override;
};

}  // namespace pillar::handlers
