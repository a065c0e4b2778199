// The Apache comparison corpus: real-world configuration files (Debian's stock
// tree in tests/fixtures/debian-apache2, a bulk-hosting vhost file and
// examples from Apache's documentation in tests/fixtures/apache-corpus) each
// run by Pillar and by Debian's apache2 on another loopback port, with the
// answers to the same requests compared field by field: status, Content-Type,
// Content-Encoding, Content-Language, Location, Set-Cookie, Cache-Control,
// Expires (as its distance to Date), Vary and the custom headers each file
// sets; directory listings by the names they list. Skipped when apache2 is
// not installed (scripts/install-deps installs it).
//
// Both servers read the same files. Each gets its own copy of the corpus in
// which only these are substituted, for both alike except the port:
//  - `Listen 80`: Apache gets `Listen 127.0.0.1:PORT` (a port the test picked
//    by binding port 0), Pillar `Listen 127.0.0.1:0` (its ephemeral port,
//    which it logs);
//  - `<VirtualHost *:80>` becomes `<VirtualHost *>` (neither listens on 80);
//  - `/var/www` becomes the test's document tree (shared by both servers).
// Logs, pid file, runtime and lock directories and the run user come from
// Debian's envvars names (APACHE_LOG_DIR, ...) set in each server's
// environment, as /etc/apache2/envvars sets them for apache2ctl; as root both
// run as nobody/nogroup (Apache refuses to serve as root).
//
// Deliberate differences (docs/apache-compat.md) are excluded by name in
// `kExcluded` below, each with its reason.
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "php_fpm.h"
#include "test_common.h"

extern char** environ;

namespace itest {
namespace {

namespace fs = std::filesystem;

constexpr const char* kApache = "/usr/sbin/apache2";

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
}

// One request of a corpus: a path on a Host (the port is added per server),
// with extra request fields.
struct Ask {
  std::string path;
  std::string host = "localhost";
  std::vector<std::string> headers = {};
  std::string method = "GET";
  std::string label = {};  // names the request in kExcluded (default: its path)
};

std::string describe(const Ask& a) {
  std::string s = a.method + " " + a.path + " Host: " + a.host;
  for (const auto& h : a.headers) s += " [" + h + "]";
  return s;
}

// Apache's cookie and HTTP dates ("Wdy, DD Mon YYYY HH:MM:SS GMT" or with
// dashes); -1 when it is not one.
time_t parse_http_date(std::string s) {
  std::replace(s.begin(), s.end(), '-', ' ');
  tm t{};
  const char* end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &t);
  if (!end) return -1;
  return timegm(&t);
}

// What is compared of one answer: field name -> normalized value ("" when
// absent). Normalizations keep only what does not depend on the moment or
// the port: the server's own port becomes PORT; Expires and cookie expiry
// dates become their distance to Date; digits in a header whose value is a
// time (%D, %t) become N.
using Fields = std::map<std::string, std::string>;

std::string all_values(const CurlResult& r, std::string_view name, std::string_view sep) {
  std::string v;
  for (const auto& [n, value] : r.headers) {
    if (!iequals(n, name)) continue;
    if (!v.empty()) v += sep;
    v += value;
  }
  return v;
}

// Names of the entries a directory listing links to (neither the sort
// links, nor the parent, nor icons), sorted.
std::string listed_names(const std::string& body) {
  static const std::regex href(R"re(<a href="([^"]*)")re", std::regex::icase);
  std::set<std::string> names;
  for (auto it = std::sregex_iterator(body.begin(), body.end(), href); it != std::sregex_iterator(); ++it) {
    std::string h = (*it)[1];
    if (h.empty() || h[0] == '?' || h[0] == '/' || h == "../" || h.find("://") != std::string::npos) continue;
    names.insert(h);
  }
  std::string out;
  for (const auto& n : names) out += n + " ";
  return out;
}

struct Corpus;
Fields fields_as_sent(const CurlResult& r, uint16_t port, const Corpus& c);

struct Corpus {
  std::vector<std::string> custom;    // response fields the files set
  std::vector<std::string> timed;     // custom fields whose digits are times
  std::vector<std::string> contains;  // body texts whose presence is compared
};

Fields fields_of(const CurlResult& r, uint16_t port, const Corpus& c) {
  Fields f = fields_as_sent(r, port, c);
  // The server's own pages, named apart so that kExcluded can name them:
  // an error or redirect page (no corpus file sets an ErrorDocument) and a
  // directory listing.
  std::string kind = f.count("listed names") ? " (listing)" : r.status >= 300 && r.status != 304 ? " (error page)" : "";
  if (kind.empty()) return f;
  Fields named;
  for (auto& [name, value] : f) {
    bool own = name == "Content-Type" || name == "Content-Encoding" || name == "Vary" || name == "Cache-Control";
    named[own ? name + kind : name] = value;
  }
  return named;
}

Fields fields_as_sent(const CurlResult& r, uint16_t port, const Corpus& c) {
  Fields f;
  f["status"] = std::to_string(r.status);
  std::string p = ":" + std::to_string(port);
  time_t date = parse_http_date(r.header("Date"));
  for (const char* name : {"Content-Type", "Content-Encoding", "Content-Language", "Location", "Cache-Control", "Vary"}) {
    std::string v = all_values(r, name, ", ");
    replace_all(v, p, ":PORT");
    f[name] = v;
  }
  // Media-type parameters: the space after ';' and the case of a charset
  // are not significant (RFC 9110 8.3.1), "text/html;charset=UTF-8" is
  // "text/html; charset=utf-8".
  {
    std::string& ct = f["Content-Type"];
    std::string out;
    for (size_t i = 0; i < ct.size(); ++i) {
      out += ct[i];
      if (ct[i] == ';')
        while (i + 1 < ct.size() && ct[i + 1] == ' ') ++i;
    }
    ct = lower(out);
  }
  // max-age is computed from the moment of the request: a second may pass
  // between the two servers' answers.
  {
    static const std::regex max_age(R"(max-age=(\d+))");
    std::smatch m;
    std::string& cc = f["Cache-Control"];
    if (std::regex_search(cc, m, max_age) && std::stol(m[1]) > 60) {
      long n = std::stol(m[1]);
      cc = m.prefix().str() + "max-age=" + std::to_string((n + 30) / 60) + "min" + m.suffix().str();
    }
  }
  std::string exp = r.header("Expires");
  if (!exp.empty()) {
    time_t e = parse_http_date(exp);
    f["Expires"] = e < 0 || date < 0 ? "unparsed: " + exp : "Date" + std::string(e >= date ? "+" : "") +
                                                                 std::to_string((e - date + 30) / 60) + "min";
  } else {
    f["Expires"] = "";
  }
  std::string cookies = all_values(r, "Set-Cookie", " | ");
  static const std::regex cookie_date(R"((expires=)([^;|]*GMT))", std::regex::icase);
  std::string norm;
  auto begin = cookies.cbegin();
  for (std::smatch m; std::regex_search(begin, cookies.cend(), m, cookie_date); begin = m.suffix().first) {
    time_t e = parse_http_date(m[2]);
    norm += std::string(begin, m[0].first) + m[1].str() + "Date+" + std::to_string(e < 0 ? -1 : (e - date + 30) / 60) + "min";
  }
  norm.append(begin, cookies.cend());
  f["Set-Cookie"] = norm;
  // An ETag's coding suffix (its value differs: Apache's inode/mtime/size).
  std::string etag = r.header("ETag");
  f["ETag coding suffix"] = etag.size() > 6 && etag.find("-gzip") != std::string::npos ? "-gzip" : "";
  static const std::regex digits(R"(\d+)");
  for (const auto& name : c.custom) {
    std::string v = all_values(r, name, ", ");
    if (std::find(c.timed.begin(), c.timed.end(), name) != c.timed.end()) v = std::regex_replace(v, digits, "N");
    f[name] = v;
  }
  if (icontains(f["Content-Type"], "text/html") && r.body.find("Index of") != std::string::npos)
    f["listed names"] = listed_names(r.body);
  for (const auto& text : c.contains) f["body has '" + text + "'"] = r.body.find(text) != std::string::npos ? "yes" : "no";
  return f;
}

// Deliberate differences, documented in docs/apache-compat.md ("Compared
// with Apache"): a field name never compared, or "FIELD@LABEL" for the
// requests with that label (or path).
const std::map<std::string, std::string> kExcluded = {
    {"Content-Type (error page)",
     "Pillar's own error and redirect pages say charset=utf-8, Apache's iso-8859-1 (both are ASCII)"},
    {"Content-Type (listing)",
     "Pillar writes listings in UTF-8 and says so; Apache says ISO-8859-1 unless IndexOptions Charset= (Debian's "
     "autoindex.conf sets UTF-8: there they agree)"},
    {"Cache-Control (listing)", "Pillar sends no-cache with a listing (it changes with the directory, has no validators)"},
    {"Cache-Control@/server-status?auto", "Pillar sends no-cache with server-status (live counters)"},
    {"body has '/icons/image2.gif'", "AddIcon, AddIconByType, DefaultIcon: accepted with a notice, no icons"},
    {"body has '/icons/text.gif'", "AddIcon, AddIconByType, DefaultIcon: accepted with a notice, no icons"},
    {"body has '/icons/unknown.gif'", "AddIcon, AddIconByType, DefaultIcon: accepted with a notice, no icons"},
    {"body has 'The planet Mars'", "AddDescription: accepted with a notice, no description column"},
    {"status@/mime/script.cgi", "ScriptSourceGuard (default On for .cgi): a script no handler runs is 403, never its source"},
    {"Content-Type@/mime/script.cgi", "ScriptSourceGuard: Pillar's 403 page"},
    {"Content-Type (error page)@/mime/script.cgi", "ScriptSourceGuard: Pillar's 403 page"},
    {"Content-Encoding@x-gzip",
     "Accept-Encoding: x-gzip is gzip to Pillar (RFC 9110 8.4.1.3); Apache's mod_deflate looks for the gzip token only"},
    {"ETag coding suffix@x-gzip", "Accept-Encoding: x-gzip (see Content-Encoding@x-gzip)"},
    {"Content-Encoding@range", "Pillar never compresses an answer to a Range request (it answers 206 from the file); "
                               "Apache compresses the whole body"},
    {"ETag coding suffix@range", "Range requests are not compressed (see Content-Encoding@range)"},
};

bool excluded(const std::string& field, const Ask& a) {
  return kExcluded.count(field) || kExcluded.count(field + "@" + (a.label.empty() ? a.path : a.label));
}

// Debian's apache2 in the foreground on 127.0.0.1:port, with its own
// directories in the environment; stopped (TERM, then KILL) with the object.
class ApachePeer {
 public:
  ApachePeer(const std::string& server_root, const std::string& conf, uint16_t port,
             const std::vector<std::string>& env)
      : port_(port) {
    std::vector<std::string> envs;
    for (char** e = environ; *e; ++e) envs.emplace_back(*e);
    envs.insert(envs.end(), env.begin(), env.end());
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      ::setpgid(0, 0);
      int devnull = ::open("/dev/null", O_RDWR);
      ::dup2(devnull, 0);
      ::dup2(devnull, 1);
      std::vector<char*> envp;
      for (auto& e : envs) envp.push_back(e.data());
      envp.push_back(nullptr);
      std::vector<const char*> argv = {kApache, "-d", server_root.c_str(), "-f", conf.c_str(), "-DFOREGROUND", nullptr};
      ::execve(kApache, const_cast<char* const*>(argv.data()), envp.data());
      ::_exit(127);
    }
    eventually(
        [&] {
          if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return exited_ = true;
          return ready_ = can_connect_tcp(port_);
        },
        10s);
  }
  ~ApachePeer() {
    if (pid_ <= 0 || exited_) return;
    ::kill(pid_, SIGTERM);
    if (!eventually([&] { return ::waitpid(pid_, nullptr, WNOHANG) == pid_; }, 5s)) {
      ::kill(-pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  bool ready() const { return ready_; }
  uint16_t port() const { return port_; }

 private:
  uint16_t port_;
  pid_t pid_ = -1;
  bool ready_ = false;
  bool exited_ = false;
};

class ApacheCompare : public ::testing::Test {
 protected:
  TempTree tree;
  std::string www = tree.path("var/www");
  std::string run_user, run_group;

  void SetUp() override {
    if (::access(kApache, X_OK) != 0) GTEST_SKIP() << "apache2 is not installed (scripts/install-deps installs it)";
    ::chmod(tree.root().c_str(), 0755);
    if (::geteuid() == 0) {
      run_user = "nobody";
      run_group = "nogroup";
    } else {
      run_user = getpwuid(getuid())->pw_name;
      run_group = getgrgid(getgid())->gr_name;
    }
    make_documents();
  }

  void make_documents() {
    std::string article, text, css, js, xml;
    for (int i = 0; i < 200; ++i) {
      article += "<p>paragraph " + std::to_string(i) + " of the article</p>\n";
      text += "line " + std::to_string(i) + " of the text\n";
      css += ".rule" + std::to_string(i) + " { color: #" + std::to_string(100 + i) + "; }\n";
      js += "function f" + std::to_string(i) + "() { return " + std::to_string(i) + "; }\n";
      xml += "<item><title>entry " + std::to_string(i) + "</title></item>\n";
    }
    std::string page = "<html><body>" + article + "</body></html>\n";
    std::string gif("GIF89a\x01\x00\x01\x00\x00\x00\x00;", 13);
    std::string png("\x89PNG\r\n\x1a\n", 8);
    auto w = [&](const std::string& rel, const std::string& content) { tree.write("var/www/" + rel, content); };
    w("html/index.html", "<html><body>It works</body></html>\n");
    w("html/article.html", page);
    w("html/big.txt", text);
    w("html/style.css", css);
    w("html/app.js", js);
    w("html/feed.xml", "<rss>" + xml + "</rss>\n");
    w("html/image.gif", gif);
    w("html/pic.png", png);
    w("html/photo.jpg", "\xff\xd8\xff\xe0");
    w("html/data.json", "{\"a\": 1}\n");
    w("html/page.html.gz", std::string("\x1f\x8b\x08\x00", 4));
    w("html/page.html.utf8", "<p>caf\xc3\xa9</p>\n");
    w("html/notes.txt", "notes\n");
    w("html/x.exe", "MZ");
    w("html/new.html", "<p>new</p>\n");
    w("html/bar.html", "<p>bar</p>\n");
    w("html/page.html", page);
    w("html/homepage.mobile.html", "<p>mobile</p>\n");
    w("html/homepage.std.html", "<p>standard</p>\n");
    w("html/not-found.html", "<p>fallback</p>\n");
    w("html/.htaccess", "# not served\n");
    w("html/site/page.html", page);
    w("html/site/big.css", css);
    w("html/site/img.png", png + text);
    w("html/site/small.html", "<p>s</p>\n");
    w("html/forced/anything.txt", "GIF89a");
    tree.mkdir("var/www/html/app");
    w("html/txtindex/index.txt", "the text index\n");
    tree.mkdir("var/www/html/empty");
    w("html/dir/a.txt", "a\n");
    w("html/dir/b.html", "<p>b</p>\n");
    tree.mkdir("var/www/html/dir/sub");
    w("html/listing/HEADER.html", "<p>The listing's own header</p>\n");
    w("html/listing/README.html", "<p>The listing's readme</p>\n");
    w("html/listing/mars.gif", gif);
    w("html/listing/a.txt", "a\n");
    w("html/listing/b.png", png);
    w("html/listing/c.tar", "tar");
    w("html/listing/notes~", "backup\n");
    w("html/listing/.hidden", "hidden\n");
    w("html/listing/file10.txt", "10\n");
    w("html/listing/file9.txt", "9\n");
    tree.mkdir("var/www/html/listing/sub");
    w("html/mime/README.euc", "euc\n");
    w("html/mime/doc.jis", "jis\n");
    w("html/mime/welcome.html.en", "<p>welcome</p>\n");
    w("html/mime/welcome.html.fr", "<p>bienvenue</p>\n");
    w("html/mime/doc.ja.html", "<p>ja</p>\n");
    w("html/mime/x.foo", "foo\n");
    w("html/mime/data.txt.gz", std::string("\x1f\x8b\x08\x00", 4));
    w("html/mime/archive.tar.Z", "Z");
    w("html/mime/script.cgi", "#!/bin/sh\n");
    w("html/mime/plain", "no extension\n");
    w("ftp/pub/image/pic.png", png);
    w("icons/a.png", png);
    w("icons/b.gif", gif);
    w("shop/index.html", page);
    w("shop/product.html", "<p>product</p>\n");
    w("shop/cart.html", "<p>cart</p>\n");
    w("shop/style.css", css);
    w("shop/app.js", js);
    w("shop/logo.png", png);
    w("shared/static/site.css", css);
    w("shared/static/logo.png", png);
    w("blog/index.html", page);
    w("blog/feed.xml", "<rss>" + xml + "</rss>\n");
    w("blog/notes.txt", text);
    w("blog/year/2020.html", "<p>2020</p>\n");
  }

  // Copies `files` (relative to tests/fixtures, each a file or a directory)
  // into DIR/etc with the substitutions above, `listen` for `Listen 80`.
  void copy_corpus(const std::string& dir, const std::vector<std::string>& files, const std::string& listen) {
    std::string etc = dir + "/etc";
    fs::create_directories(etc);
    for (const char* d : {"log", "run", "lock"}) {
      fs::create_directories(dir + "/" + d);
      ::chmod((dir + "/" + d).c_str(), 0777);
    }
    for (const auto& f : files) {
      fs::path src = std::string(PILLAR_FIXTURES) + "/" + f;
      fs::path dst = fs::path(etc) / src.filename();
      fs::copy(src, dst, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
    }
    for (const auto& e : fs::recursive_directory_iterator(etc)) {
      if (!e.is_regular_file()) continue;
      std::string text = slurp(e.path());
      replace_all(text, "/var/www", www);
      replace_all(text, "Listen 80\n", "Listen " + listen + "\n");
      replace_all(text, "<VirtualHost *:80>", "<VirtualHost *>");
      std::ofstream(e.path(), std::ios::binary | std::ios::trunc) << text;
    }
  }

  std::vector<std::string> envvars(const std::string& dir) const {
    return {"APACHE_RUN_USER=" + run_user,       "APACHE_RUN_GROUP=" + run_group,
            "APACHE_PID_FILE=" + dir + "/run/apache2.pid", "APACHE_RUN_DIR=" + dir + "/run",
            "APACHE_LOCK_DIR=" + dir + "/lock",  "APACHE_LOG_DIR=" + dir + "/log"};
  }

  // Runs the corpus: `files` copied for each server, `top` (relative to the
  // copy's etc/) the file each server is started with; when empty, a file
  // that includes each of `files` in order.
  void compare(const std::vector<std::string>& files, std::string top, const std::vector<Ask>& asks,
               const Corpus& corpus = {}) {
    std::string adir = tree.path("apache"), pdir = tree.path("pillar");
    uint16_t aport = free_port();
    copy_corpus(adir, files, "127.0.0.1:" + std::to_string(aport));
    copy_corpus(pdir, files, "127.0.0.1:0");
    if (top.empty()) {
      top = "top.conf";
      for (const std::string& dir : {adir, pdir}) {
        std::string text;
        for (const auto& f : files) text += "Include " + dir + "/etc/" + fs::path(f).filename().string() + "\n";
        std::ofstream(dir + "/etc/top.conf") << text;
      }
    }
    // apache2 -d ROOT -f FILE; for Pillar, whose -f has no -d beside it, the
    // same as a ServerRoot line before an Include of the file.
    std::string root = fs::path(adir + "/etc/" + top).parent_path().string();
    ApachePeer apache(root, adir + "/etc/" + top, aport, envvars(adir));
    ASSERT_TRUE(apache.ready()) << "apache2 did not come up: " << tree.read("apache/log/error.log");
    ServerProcess pillar("ServerRoot " + fs::path(pdir + "/etc/" + top).parent_path().string() + "\nInclude " + pdir + "/etc/" + top + "\n", 1, envvars(pdir));
    ASSERT_TRUE(pillar.ok()) << pillar.error();
    for (const Ask& a : asks) {
      CurlResult ra, rp;
      for (auto [port, out] : {std::pair{aport, &ra}, std::pair{pillar.port(), &rp}}) {
        CurlOptions o;
        o.method = a.method;
        o.headers = a.headers;
        o.headers.push_back("Host: " + a.host + ":" + std::to_string(port));
        *out = curl_request("http://127.0.0.1:" + std::to_string(port) + a.path, o);
      }
      ASSERT_EQ(ra.curl_code, 0) << describe(a) << ": apache2: " << ra.curl_error;
      ASSERT_EQ(rp.curl_code, 0) << describe(a) << ": pillar: " << rp.curl_error;
      Fields fa = fields_of(ra, aport, corpus), fp = fields_of(rp, pillar.port(), corpus);
      for (const auto& [name, value] : fa) {
        if (excluded(name, a)) continue;
        if (fp[name] != value)
          ADD_FAILURE() << describe(a) << ": " << name << ": Pillar '" << fp[name] << "', Apache '" << value << "'";
      }
      for (const auto& [name, value] : fp)
        if (!fa.count(name) && !value.empty() && !excluded(name, a)) ADD_FAILURE() << describe(a) << ": only Pillar has " << name << ": " << value;
    }
  }
};

TEST_F(ApacheCompare, DebianStockTree) {
  compare({"debian-apache2/apache2"}, "apache2/apache2.conf",
          {
              {"/"},
              {"/index.html"},
              {"/missing.html"},
              {"/article.html"},
              {"/article.html", "localhost", {"Accept-Encoding: gzip"}},
              {"/article.html", "localhost", {"Accept-Encoding: gzip"}, "HEAD"},
              {"/big.txt", "localhost", {"Accept-Encoding: gzip, deflate, br"}},
              {"/style.css", "localhost", {"Accept-Encoding: gzip"}},
              {"/app.js", "localhost", {"Accept-Encoding: gzip"}},
              {"/data.json"},
              {"/image.gif"},
              {"/page.html.gz", "localhost", {"Accept-Encoding: gzip"}},
              {"/page.html.utf8"},
              {"/dir", "localhost", {}, "GET", "trailing-slash"},
              {"/dir/"},
              {"/dir/?C=M;O=D"},
              {"/icons/folder.gif"},
              {"/icons/"},
              {"/.htaccess"},
              {"/server-status?auto"},
              {"/empty/"},
          });
}

TEST_F(ApacheCompare, BulkHostingVhosts) {
  std::vector<Ask> asks;
  for (const char* ae : {"", "gzip"}) {
    std::vector<std::string> h;
    if (*ae) h.push_back(std::string("Accept-Encoding: ") + ae);
    for (const char* host : {"www.shop.test", "blog.test"}) {
      for (const char* path : {"/", "/index.html", "/style.css", "/app.js", "/logo.png", "/feed.xml", "/notes.txt",
                               "/missing"})
        asks.push_back({path, host, h});
    }
  }
  std::vector<Ask> more = {
      {"/", "unknown.test"},
      {"/missing", "unknown.test"},
      {"/static/site.css", "www.shop.test", {"Accept-Encoding: gzip"}},
      {"/static/logo.png", "www.shop.test"},
      {"/catalog", "www.shop.test"},
      {"/catalog/shoes?size=9", "www.shop.test"},
      {"/old-offers", "www.shop.test"},
      {"/product/42", "www.shop.test"},
      {"/product/abc", "www.shop.test"},
      {"/cart", "www.shop.test"},
      {"/some/page?x=1", "shop.test"},
      {"/", "cdn.shop.test"},
      {"/archive/2020/", "blog.test"},
      {"/archive/20/", "blog.test"},
      {"/feed", "blog.test", {"Accept-Encoding: gzip"}},
      {"/", "blog.test", {"User-Agent: Googlebot/2.1"}},
      {"/year/2020.html", "blog.test"},
      {"/", "old-name.test"},
      {"/a/b?c=d", "old-name.test"},
  };
  asks.insert(asks.end(), more.begin(), more.end());
  compare({"apache-corpus/base.conf", "apache-corpus/bulk-hosting.conf"}, "", asks,
          {{"X-Hosted-By", "X-Content-Type-Options", "X-Served-By", "X-Bot", "X-Frame-Options"}});
}

// Each of these runs base.conf and one documentation file.

TEST_F(ApacheCompare, DocsModAlias) {
  compare({"apache-corpus/base.conf", "apache-corpus/docs/mod_alias.conf"}, "",
          {
              {"/image/pic.png"},
              {"/image/missing.png"},
              {"/icons/a.png"},
              {"/icons/b.gif"},
              {"/icons", "localhost", {}, "GET", "trailing-slash"},
              {"/service"},
              {"/service/foo?q=1"},
              {"/services"},
              {"/one"},
              {"/one/two"},
              {"/three"},
              {"/x/y.gif"},
              {"/image.gif?v=2"},
              {"/perm/a"},
              {"/temp"},
              {"/gone"},
              {"/located"},
              {"/located/deeper"},
          });
}

TEST_F(ApacheCompare, DocsModHeaders) {
  compare({"apache-corpus/base.conf", "apache-corpus/docs/mod_headers.conf"}, "",
          {
              {"/index.html"},
              {"/timing"},
              {"/hello"},
              {"/conditional"},
              {"/conditional", "localhost", {"MyRequestHeader: myvalue"}},
              {"/index.html", "localhost", {"TSfoo: one", "TSbar: two", "Other: x"}},
              {"/notes.txt"},
              {"/missing.html"},
              {"/missing.html", "localhost", {"TSx: y"}},
          },
          {{"MyHeader", "TSfoo", "TSbar", "Other", "TSx", "X-Always", "X-Success", "X-List", "X-Empty", "X-Never"},
           {"MyHeader"}});
}

TEST_F(ApacheCompare, DocsModExpires) {
  compare({"apache-corpus/base.conf", "apache-corpus/docs/mod_expires.conf"}, "",
          {
              {"/index.html"},
              {"/image.gif"},
              {"/pic.png"},
              {"/style.css"},
              {"/big.txt"},
              {"/data.json"},
              {"/missing.html"},
              {"/index.html", "localhost", {"If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT"}},
          });
}

TEST_F(ApacheCompare, DocsModDeflate) {
  std::vector<Ask> asks;
  for (const char* path : {"/article.html", "/index.html", "/big.txt", "/feed.xml", "/style.css", "/image.gif",
                           "/site/page.html", "/site/big.css", "/site/img.png", "/site/small.html", "/missing.html"}) {
    asks.push_back({path});
    asks.push_back({path, "localhost", {"Accept-Encoding: gzip"}});
  }
  asks.push_back({"/article.html", "localhost", {"Accept-Encoding: gzip;q=0"}});
  asks.push_back({"/article.html", "localhost", {"Accept-Encoding: deflate"}});
  asks.push_back({"/article.html", "localhost", {"Accept-Encoding: gzip"}, "HEAD"});
  asks.push_back({"/article.html", "localhost", {"Accept-Encoding: gzip", "Range: bytes=0-99"}, "GET", "range"});
  asks.push_back({"/site/page.html", "localhost", {"Accept-Encoding: x-gzip"}, "GET", "x-gzip"});
  compare({"apache-corpus/base.conf", "apache-corpus/docs/mod_deflate.conf"}, "", asks);
}

TEST_F(ApacheCompare, DocsModSetenvif) {
  compare({"apache-corpus/base.conf", "apache-corpus/docs/mod_setenvif.conf"}, "",
          {
              {"/image.gif"},
              {"/photo.jpg"},
              {"/index.html", "localhost", {"Referer: http://www.mydomain.example.com/page"}},
              {"/index.html", "localhost", {"TSabc: lower"}},
              {"/index.html", "localhost", {"TSabc: Upper"}},
              {"/index.html", "localhost", {"User-Agent: FooRoBoT/1.0"}},
              {"/index.html", "www.example.org"},
              {"/index.html", "EXAMPLE.ORG"},
              {"/page.html.gz"},
              {"/missing.xbm"},
          },
          {{"X-Image", "X-Intra", "X-XBit", "X-Extension", "X-TS", "X-Robot", "X-Human", "X-Site"}});
}

TEST_F(ApacheCompare, DocsModMime) {
  std::vector<Ask> asks;
  for (const char* f : {"README.euc", "doc.jis", "welcome.html.en", "welcome.html.fr", "doc.ja.html", "x.foo",
                        "data.txt.gz", "archive.tar.Z", "script.cgi", "plain"})
    asks.push_back({std::string("/mime/") + f});
  asks.push_back({"/forced/anything.txt"});
  asks.push_back({"/image.gif"});
  asks.push_back({"/page.html.utf8"});
  compare({"apache-corpus/base.conf", "apache-corpus/docs/mod_mime.conf"}, "", asks);
}

TEST_F(ApacheCompare, DocsModDir) {
  compare({"apache-corpus/base.conf", "apache-corpus/docs/mod_dir.conf"}, "",
          {
              {"/"},
              {"/txtindex/"},
              {"/txtindex", "localhost", {}, "GET", "trailing-slash"},
              {"/txtindex?a=b", "localhost", {}, "GET", "trailing-slash"},
              {"/app/anything"},
              {"/app/deep/er.html"},
              {"/app/"},
              {"/empty/"},
              {"/missing.html"},
          });
}

TEST_F(ApacheCompare, DocsModAutoindex) {
  compare({"apache-corpus/base.conf", "apache-corpus/docs/mod_autoindex.conf"}, "",
          {
              {"/listing/"},
              {"/listing", "localhost", {}, "GET", "trailing-slash"},
              {"/listing/?C=S;O=A"},
              {"/listing/sub/"},
              {"/icons/image2.gif"},
              {"/empty/"},
          },
          {{}, {}, {"The listing's own header", "The listing's readme", "The planet Mars", "/icons/image2.gif",
                    "/icons/text.gif", "/icons/unknown.gif", "<table"}});
}

TEST_F(ApacheCompare, DocsModRewrite) {
  compare({"apache-corpus/base.conf", "apache-corpus/docs/mod_rewrite.conf"}, "",
          {
              {"/foo.html"},
              {"/old.html"},
              {"/old.html?x=1"},
              {"/moved.html"},
              {"/", "localhost", {"User-Agent: Mozilla/5.0 (iPhone; CPU iPhone OS 17_0)"}, "GET", "rewrite-cond-header"},
              {"/"},
              {"/x.exe"},
              {"/gone"},
              {"/gone/too"},
              {"/index.html"},
              {"/env"},
              {"/qsd?drop=me"},
              {"/pages/about?lang=en"},
              {"/some/path?q=1", "example.com"},
              {"/some/path", "www.example.com"},
          },
          {{"X-Foo"}});
}

}  // namespace
}  // namespace itest
