#include "fastcgi/cgi_env.h"

#include "core/text.h"

namespace pillar::fastcgi {
namespace {

void set(CgiEnv& env, std::string_view name, std::string_view value) {
  for (auto& [n, v] : env) {
    if (n == name) {
      v = std::string(value);
      return;
    }
  }
  env.emplace_back(std::string(name), std::string(value));
}

void unset(CgiEnv& env, std::string_view name) {
  for (auto it = env.begin(); it != env.end(); ++it) {
    if (it->first == name) {
      env.erase(it);
      return;
    }
  }
}

// "%{reqenv:NAME}" (and "%{NAME}") in a ProxyFCGISetEnvIf value take the
// variable's current value; anything else is literal.
std::string expand(std::string_view v, const CgiEnv& env) {
  std::string out;
  size_t i = 0;
  while (i < v.size()) {
    if (v[i] == '%' && i + 1 < v.size() && v[i + 1] == '{') {
      size_t close = v.find('}', i + 2);
      if (close != std::string_view::npos) {
        std::string_view name = v.substr(i + 2, close - i - 2);
        if (core::istarts_with(name, "reqenv:")) name.remove_prefix(7);
        if (const std::string* val = env_find(env, name)) out.append(*val);
        i = close + 1;
        continue;
      }
    }
    out.push_back(v[i++]);
  }
  return out;
}

}  // namespace

const std::string* env_find(const CgiEnv& env, std::string_view name) {
  for (const auto& [n, v] : env) {
    if (n == name) return &v;
  }
  return nullptr;
}

bool cgi_field_name(std::string_view field, std::string& out) {
  out.assign("HTTP_");
  for (char c : field) {
    if (c >= 'a' && c <= 'z') out.push_back(static_cast<char>(c - 'a' + 'A'));
    else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) out.push_back(c);
    else if (c == '-') out.push_back('_');
    else return false;
  }
  return !field.empty();
}

void build_cgi_env(const CgiRequest& r, CgiEnv& env) {
  env.clear();
  std::string name;
  for (const auto& f : r.fields) {
    if (core::iequals(f.name, "Proxy") || (!r.pass_auth && core::iequals(f.name, "Authorization")) ||
        core::iequals(f.name, "Content-Type") || core::iequals(f.name, "Content-Length"))
      continue;
    if (!cgi_field_name(f.name, name)) continue;
    bool joined = false;
    for (auto& [n, v] : env) {
      if (n == name) {
        v.append(", ");
        v.append(f.value);
        joined = true;
        break;
      }
    }
    if (!joined) env.emplace_back(name, std::string(f.value));
  }
  std::string_view content_type;
  for (const auto& f : r.fields) {
    if (core::iequals(f.name, "Content-Type")) {
      content_type = f.value;
      break;
    }
  }
  if (!content_type.empty()) env.emplace_back("CONTENT_TYPE", std::string(content_type));
  if (r.has_content_length) env.emplace_back("CONTENT_LENGTH", std::to_string(r.content_length));
  env.emplace_back("SERVER_SIGNATURE", std::string(r.server_signature));
  env.emplace_back("SERVER_SOFTWARE", std::string(r.server_software));
  env.emplace_back("SERVER_NAME", std::string(r.server_name));
  env.emplace_back("SERVER_ADDR", std::string(r.server_addr));
  env.emplace_back("SERVER_PORT", std::to_string(r.server_port));
  env.emplace_back("REMOTE_ADDR", std::string(r.remote_addr));
  env.emplace_back("DOCUMENT_ROOT", std::string(r.document_root));
  env.emplace_back("REQUEST_SCHEME", r.https ? "https" : "http");
  env.emplace_back("CONTEXT_PREFIX", "");
  env.emplace_back("CONTEXT_DOCUMENT_ROOT", std::string(r.document_root));
  if (r.https) env.emplace_back("HTTPS", "on");
  std::string filename(r.fcgi_prefix);
  if (r.backend == config::FcgiBackendType::Generic) filename.clear();
  filename.append(r.script_filename);
  env.emplace_back("SCRIPT_FILENAME", std::move(filename));
  env.emplace_back("REMOTE_PORT", std::to_string(r.remote_port));
  if (!r.remote_user.empty()) {  // as ap_add_common_vars, after mod_auth_basic found the user
    env.emplace_back("REMOTE_USER", std::string(r.remote_user));
    env.emplace_back("AUTH_TYPE", "Basic");
  }
  env.emplace_back("GATEWAY_INTERFACE", "CGI/1.1");
  env.emplace_back("SERVER_PROTOCOL", "HTTP/" + std::to_string(r.version_major) + "." + std::to_string(r.version_minor));
  env.emplace_back("REQUEST_METHOD", std::string(r.method));
  env.emplace_back("QUERY_STRING", std::string(r.query));
  env.emplace_back("REQUEST_URI", std::string(r.request_uri));
  env.emplace_back("SCRIPT_NAME", std::string(r.script_name));
  if (!r.path_info.empty()) {
    env.emplace_back("PATH_INFO", std::string(r.path_info));
    std::string translated(r.document_root);
    translated.append(r.path_info);
    env.emplace_back("PATH_TRANSLATED", std::move(translated));
  }
  for (const auto& [name, value] : r.request_env) {
    // php_value/php_admin_value own these: a SetEnv or E= (an .htaccess
    // line) must not reach around the refusal of php_admin_value there.
    if (name == "PHP_VALUE" || name == "PHP_ADMIN_VALUE" || env_find(env, name)) continue;
    env.emplace_back(name, value);
  }
  for (const auto& s : r.set_env) {
    if (!s.condition) continue;  // "false": kept for the syntax, never applies
    if (s.unset) unset(env, s.name);
    else set(env, s.name, expand(s.value, env));
  }
}

}  // namespace pillar::fastcgi
