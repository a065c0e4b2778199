// Generations: every configuration the master serves is installed here
// (checked, listeners reconciled, a runtime built) and served by a new
// generation of workers; the old one drains. A configuration that fails
// any step is refused and the running one keeps serving, unchanged.
#include <cstdio>
#include <stdexcept>

#include "config/loader.h"
#include "config/process_limits.h"
#include "core/log.h"
#include "server/default_config.h"
#include "server/process/master_state.h"

namespace pillar::server {

bool Master::install(std::unique_ptr<config::ServerConfig> cfg, std::string& error) {
  const bool first = !rt_;
  WorkerIdentity identity;
  if (!resolve_worker_identity(cfg->process, identity, error)) return false;
  if (!added_.apply(*cfg, error)) return false;
  if (!listeners_.reconcile(*cfg, error)) return false;
  handlers::BuiltinContext ctx{&board_, &vhost_stats_, vrrp_status_, &rate_table_, &client_conns_};
  if (!install_cache(*cfg, error)) return false;
  bool caching = cache_.ready() && !cfg->cache_unused();
  if (caching) {
    ctx.cache = [this] {
      auto st = cache_.stats();
      return handlers::CacheGauges{st.objects, st.bytes_used, st.bytes_total, st.evictions, st.lock_timeouts};
    };
    ctx.cache_evictions = [this](uint32_t vhost) { return cache_.evictions(vhost); };
  }
  auto rt = Runtime::build(std::move(cfg), error, ctx, members_);
  if (!rt) return false;
  if (caching) rt->set_cache(&cache_);
  if (rt_) old_runtimes_.push_back(std::move(rt_));
  rt_ = std::move(rt);
  identity_ = identity;
  health_.refresh(rt_->balancers(), rt_.get());
  const auto& c = rt_->config();
  core::ErrorLog::configure(rt_->error_sink(), static_cast<core::LogLevel>(c.log_level));
  for (const auto& n : c.notices) core::log(core::LogLevel::Notice, "core", "{}", n);
  if (std::string w = root_without_user_warning(c.process); !w.empty()) {
    // On the terminal too at start when the error log is a file (a reload's stderr may be that file).
    if (first && !c.error_log.empty() && c.error_log != "stderr") std::fprintf(stderr, "%s\n", w.c_str());
    core::log(core::LogLevel::Warn, "core", "{}", w);
  }
  auto& hdr = board_.header();
  hdr.max_conns.store(c.process.max_request_workers);
  hdr.threads_per_child.store(c.process.threads_per_child);
  return true;
}

// The store is sized once (CacheSize) and outlives reloads, so a reload
// keeps every cached object; a new CacheSize needs a full restart.
bool Master::install_cache(const config::ServerConfig& c, std::string& error) {
  if (c.cache_unused()) return true;
  if (cache_.ready()) {
    if (c.cache_size != cache_size_)
      core::log(core::LogLevel::Notice, "cache", "CacheSize changed; the store keeps its size until a full restart");
    return true;
  }
  if (!cache_.create(c.cache_size, error)) return false;
  cache_size_ = c.cache_size;
  return true;
}

std::unique_ptr<config::ServerConfig> Master::reread(std::string& error) {
  config::LoadResult res =
      opts_.config_file.empty()
          ? config::load_config_text(default_config_text(), "(embedded default)", opts_.load)
          : config::load_config_file(opts_.config_file, opts_.load);
  if (!res.ok()) {
    for (const auto& e : res.errors) error += (error.empty() ? "" : "; ") + e.to_string();
    return nullptr;
  }
  const auto& now = rt_->config().process;
  const auto& next = res.config->process;
  if (next.server_limit != now.server_limit || next.thread_limit != now.thread_limit) {
    // As Apache: these size the shared scoreboard and change only with a full stop and start.
    core::log(core::LogLevel::Warn, "mpm", "ServerLimit/ThreadLimit changes need a full restart; keeping {}/{}",
              now.server_limit, now.thread_limit);
    res.config->process.server_limit = now.server_limit;
    res.config->process.thread_limit = now.thread_limit;
    std::vector<std::string> ignored;
    config::settle_process_config(res.config->process, ignored);
  }
  return std::move(res.config);
}

bool Master::graceful_reload(bool hard, std::string& error) {
  auto cfg = reread(error);
  if (!cfg || !install(std::move(cfg), error)) {
    core::log(core::LogLevel::Error, "core", "configuration reload refused, old configuration still serving: {}", error);
    return false;
  }
  new_generation(hard);
  core::log(core::LogLevel::Notice, "core", "{} restart: generation {} serving, configuration reread",
            hard ? "SIGHUP" : "graceful", workers_->generation());
  return true;
}

void Master::new_generation(bool hard) {
  vrrp_.reconfigure(rt_->config(), listeners_.sockets(), vrrp_status_, master_fds());
  workers_->new_generation(rt_->config().process.start_servers, hard);
}

// pillarctl balancer NAME add URL [k=v...] / remove URL: a new generation
// from the running configuration plus the change (the file is not reread).
nlohmann::json Master::change_members(const std::vector<std::string>& args) {
  const std::string& name = args[0];
  const std::string& op = args[1];
  const std::string url = args.size() > 2 ? args[2] : "";
  if (url.empty()) throw std::runtime_error(op + " needs a member URL, e.g. http://10.0.0.7:8080");
  const AddedMembers saved = added_;
  if (op == "add") added_.add(rt_->config(), name, url, std::vector<std::string>(args.begin() + 3, args.end()));
  else added_.remove(rt_->config(), name, url);
  auto cfg = std::make_unique<config::ServerConfig>(rt_->config());
  saved.remove_from(*cfg);  // the members as the file has them; install() adds the new list
  std::string error;
  if (!install(std::move(cfg), error)) {
    added_ = saved;
    throw std::runtime_error(op + " refused: " + error);
  }
  new_generation(false);
  save_balancer_state();
  core::log(core::LogLevel::Notice, "proxy", "pillarctl: balancer {} {} {} (generation {})", name, op, url,
            workers_->generation());
  return {{"balancer", name}, {"member", url}, {"action", op}, {"generation", workers_->generation()}};
}

}  // namespace pillar::server
