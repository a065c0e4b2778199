// The fixture of the .htaccess integration tests (htaccess_test.cpp,
// htaccess_apps_test.cpp): a docroot with a stand-in front controller, a
// stylesheet and a directory, its <Directory> configuration; and ParamEcho,
// a FastCGI application that echoes the parameters it was sent.
#pragma once
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "fcgi_stand_in.h"
#include "test_common.h"

namespace itest {

// index.php stands in for a front controller and is served as a file here
// (no FastCGI), which ScriptSourceGuard would refuse.
inline const std::string kPhpAsText = "ScriptSourceGuard Off\n";

class Htaccess : public ::testing::Test {
 protected:
  TempTree tree;
  std::string docroot = tree.mkdir("www");

  void SetUp() override {
    tree.write("www/index.php", "front controller\n");
    tree.write("www/style.css", "body{}\n");
    tree.write("www/wp-admin/index.html", "admin dir\n");
  }
  // The docroot's <Directory> with `allow` (AllowOverride's arguments) and `extra` lines.
  std::string config(const std::string& allow, const std::string& extra = "") const {
    return basic_config(docroot, kPhpAsText + "<Directory \"" + docroot + "\">\n  AllowOverride " + allow + "\n" + extra +
                                     "</Directory>\n");
  }
  // Rules equivalent to WordPress's stock block (written here, not copied).
  static std::string wordpress_rules() {
    return "# front controller\n"
           "<IfModule mod_rewrite.c>\n"
           "RewriteEngine On\n"
           "RewriteBase /\n"
           "RewriteRule ^index\\.php$ - [L]\n"
           "RewriteCond %{REQUEST_FILENAME} !-f\n"
           "RewriteCond %{REQUEST_FILENAME} !-d\n"
           "RewriteRule . /index.php [L]\n"
           "</IfModule>\n";
  }
  // Waits for `needle` in the server's stderr (the error log).
  static bool logged(const ServerProcess& srv, const std::string& needle) {
    return eventually([&] { return srv.stderr_text().find(needle) != std::string::npos; });
  }
};

// A FastCGI application on 127.0.0.1 that answers each request with the
// PHP_VALUE and PHP_ADMIN_VALUE parameters it received as its body, and
// some others as response headers: SCRIPT_FILENAME, PATH_INFO, REQUEST_URI,
// SCRIPT_NAME, QUERY_STRING and HTTP_AUTHORIZATION as X-Script-Filename,
// X-Path-Info, X-Request-Uri, X-Script-Name, X-Query-String and
// X-Http-Authorization (each only when sent), and X-Param-Names: every
// parameter's name, in order, joined with ",".
class ParamEcho {
 public:
  ParamEcho() {
    fd_ = listen_loopback(port_, 16);
    thread_ = std::thread([this] { run(); });
  }
  ~ParamEcho() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    for (auto& t : conns_) t.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }

 private:
  static size_t length(const std::string& s, size_t& i) {
    auto b = [&](size_t k) { return static_cast<size_t>(static_cast<uint8_t>(s[k])); };
    if (i >= s.size()) return 0;
    if (!(b(i) & 0x80)) return b(i++);
    size_t n = (b(i) & 0x7f) << 24 | b(i + 1) << 16 | b(i + 2) << 8 | b(i + 3);
    i += 4;
    return n;
  }
  bool serve(int c) {
    std::string params;
    if (!fcgi_read_request(c, params, stop_)) return false;
    std::string body, names, head = "Content-Type: text/plain\r\n";
    for (size_t i = 0; i < params.size();) {
      size_t nl = length(params, i), vl = length(params, i);
      std::string name = params.substr(i, nl), value = params.substr(i + nl, vl);
      i += nl + vl;
      if (name == "PHP_VALUE" || name == "PHP_ADMIN_VALUE") body += "[" + name + "]\n" + value + "\n";
      if (name == "SCRIPT_FILENAME") head += "X-Script-Filename: " + value + "\r\n";
      if (name == "PATH_INFO") head += "X-Path-Info: " + value + "\r\n";
      if (name == "REQUEST_URI") head += "X-Request-Uri: " + value + "\r\n";
      if (name == "SCRIPT_NAME") head += "X-Script-Name: " + value + "\r\n";
      if (name == "QUERY_STRING") head += "X-Query-String: " + value + "\r\n";
      if (name == "HTTP_AUTHORIZATION") head += "X-Http-Authorization: " + value + "\r\n";
      names += (names.empty() ? "" : ",") + name;
    }
    head += "X-Param-Names: " + names + "\r\n";
    std::string out = fcgi_record(6, head + "\r\n" + body) + fcgi_record(6, "") +
                      fcgi_record(3, std::string(8, '\0'));
    return ::send(c, out.data(), out.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(out.size());
  }
  void run() {
    pollfd p{fd_, POLLIN, 0};
    while (!stop_ && ::poll(&p, 1, 100) >= 0) {
      if (!(p.revents & POLLIN)) continue;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      // A thread per connection: each worker keeps its own pooled connection.
      conns_.emplace_back([this, c] {
        while (!stop_ && serve(c)) {
        }
        ::close(c);
      });
    }
  }
  std::vector<std::thread> conns_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace itest
