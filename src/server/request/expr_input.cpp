#include "server/request/expr_input.h"

#include "server/site.h"

namespace pillar::server {

config::ExprInput expr_input(const Request& req, std::string_view filename) {
  config::ExprInput in;
  in.head = &req.head;
  in.uri = req.path;
  in.query = req.head.query;
  in.remote_addr = req.client_ip;
  in.client = &req.client;
  in.https = req.https;
  in.server_port = req.meta.local_port;
  in.filename = !filename.empty() ? filename : std::string_view(req.rewrite.filename);
  in.remote_user = req.remote_user;
  in.env = &req.env;
  if (req.site) {
    in.server_name = req.site->cfg->server_name;
    in.document_root = req.site->cfg->document_root;
  }
  return in;
}

}  // namespace pillar::server
