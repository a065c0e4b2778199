// The table of Apache modules (see modules.h). A module is "present" when
// Pillar implements the directives Debian's and Apache's stock configurations
// use from it; a module whose directives are partly future stays absent, so
// its <IfModule> blocks are skipped rather than half-applied.
#include "config/modules.h"

#include "http/request.h"

namespace pillar::config {
namespace {

constexpr ApacheModule kModules[] = {
    {"core_module", "core.c", true, ""},
    {"so_module", "mod_so.c", true, ""},
    {"http_module", "http_core.c", true, ""},
    {"mpm_event_module", "event.c", true, ""},
    {"mpm_worker_module", "worker.c", true, ""},
    {"mpm_prefork_module", "prefork.c", false, "the prefork MPM: Pillar runs the event engine; remove LoadModule mpm_prefork_module"},
    {"unixd_module", "mod_unixd.c", true, ""},
    {"status_module", "mod_status.c", true, ""},
    {"mime_module", "mod_mime.c", true, ""},
    {"dir_module", "mod_dir.c", true, ""},
    {"autoindex_module", "mod_autoindex.c", true, ""},
    {"log_config_module", "mod_log_config.c", true, ""},
    {"authz_core_module", "mod_authz_core.c", true, ""},
    {"authz_host_module", "mod_authz_host.c", true, ""},
    {"authn_core_module", "mod_authn_core.c", true, ""},
    {"access_compat_module", "mod_access_compat.c", true, ""},
    {"reqtimeout_module", "mod_reqtimeout.c", true, ""},
    {"env_module", "mod_env.c", true, ""},
    {"negotiation_module", "mod_negotiation.c", true, ""},
    {"proxy_module", "mod_proxy.c", true, ""},
    {"proxy_http_module", "mod_proxy_http.c", true, ""},
    {"proxy_balancer_module", "mod_proxy_balancer.c", true, ""},
    {"proxy_hcheck_module", "mod_proxy_hcheck.c", true, ""},
    {"proxy_wstunnel_module", "mod_proxy_wstunnel.c", true, ""},
    {"lbmethod_byrequests_module", "mod_lbmethod_byrequests.c", true, ""},
    {"lbmethod_bytraffic_module", "mod_lbmethod_bytraffic.c", true, ""},
    {"lbmethod_bybusyness_module", "mod_lbmethod_bybusyness.c", true, ""},
    {"slotmem_shm_module", "mod_slotmem_shm.c", true, ""},
    {"remoteip_module", "mod_remoteip.c", true, ""},
    {"cache_module", "mod_cache.c", true, ""},
    {"cache_socache_module", "mod_cache_socache.c", true, ""},
    {"cache_disk_module", "mod_cache_disk.c", true, ""},
    {"socache_shmcb_module", "mod_socache_shmcb.c", true, ""},
    // Lacking: what the notice says will not work.
    {"alias_module", "mod_alias.c", true, ""},
    {"rewrite_module", "mod_rewrite.c", true, ""},
    {"deflate_module", "mod_deflate.c", true, ""},
    {"brotli_module", "mod_brotli.c", true, ""},
    {"ratelimit_module", "mod_ratelimit.c", true, ""},  // RATE_LIMIT (request/bandwidth_filter.h)
    // AddOutputFilterByType, the directive stock configurations use from it
    // (FilterDeclare/FilterProvider/FilterChain are refused as unknown).
    {"filter_module", "mod_filter.c", true, ""},
    {"setenvif_module", "mod_setenvif.c", true, ""},
    {"headers_module", "mod_headers.c", true, ""},
    {"expires_module", "mod_expires.c", true, ""},
    {"auth_basic_module", "mod_auth_basic.c", true, ""},
    {"authn_file_module", "mod_authn_file.c", true, ""},
    {"authz_user_module", "mod_authz_user.c", true, ""},
    {"authz_groupfile_module", "mod_authz_groupfile.c", true, ""},
    {"ssl_module", "mod_ssl.c", true, "", true},
    // CGI (docs/cgi.md): Debian enables these with a2enmod, so their
    // <IfModule> blocks (serve-cgi-bin.conf's ScriptAlias) wait for the LoadModule.
    {"cgi_module", "mod_cgi.c", true, "", true},
    {"cgid_module", "mod_cgid.c", true, "", true},
    {"suexec_module", "mod_suexec.c", true, "", true},
    {"include_module", "mod_include.c", false, "server-side includes are not built yet: .shtml files are sent as they are"},
    {"proxy_fcgi_module", "mod_proxy_fcgi.c", true, ""},
    {"userdir_module", "mod_userdir.c", true, "", true},
    {"info_module", "mod_info.c", false, "server-info is not built yet"},
    {"http2_module", "mod_http2.c", true, "", true},
    {"php_module", "mod_php.c", false, "PHP is not embedded: .php files are sent as they are; use a FastCGI backend"},
};

}  // namespace

std::span<const ApacheModule> apache_modules() { return kModules; }

const ApacheModule* find_module(std::string_view name) {
  for (const auto& m : kModules) {
    if (http::iequals(m.id, name) || http::iequals(m.source, name)) return &m;
  }
  return nullptr;
}

bool module_present(std::string_view name, bool (*loaded)(const ApacheModule&, const void*), const void* ctx) {
  const ApacheModule* m = find_module(name);
  if (!m || !m->present) return false;
  return !m->needs_load || (loaded && loaded(*m, ctx));
}

}  // namespace pillar::config
