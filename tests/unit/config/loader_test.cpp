// Unit tests for src/config/loader.cpp (and through it section_tree.cpp,
// directives.cpp, model.cpp): httpd.conf text -> validated ServerConfig, or
// errors that name the file and line and say what would be right.
#include "config/loader.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace fs = std::filesystem;
using namespace pillar::config;

namespace {

// ---- helpers -------------------------------------------------------------------

// A scratch server root shared by all tests: htdocs/, site2/, conf.d/, logs/.
class TempRoot {
 public:
  TempRoot() {
    std::string tmpl = (fs::temp_directory_path() / "pillar-config-test-XXXXXX").string();
    char* p = mkdtemp(tmpl.data());
    if (!p) std::abort();
    path_ = p;
    for (const char* d : {"htdocs", "site2", "conf.d", "logs", "empty.d", "sub"}) fs::create_directories(path_ / d);
  }
  ~TempRoot() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string str() const { return path_.string(); }
  std::string operator/(std::string_view rel) const { return (path_ / rel).string(); }
  void write(std::string_view rel, std::string_view text) const {
    fs::create_directories((path_ / rel).parent_path());
    std::ofstream(path_ / rel, std::ios::binary) << text;
  }

 private:
  fs::path path_;
};

const TempRoot& root() {
  static TempRoot r;
  return r;
}

constexpr const char* kName = "t.conf";

LoadResult load(std::string_view text, LoadOptions opts = {}) {
  if (opts.server_root.empty()) opts.server_root = root().str();
  return load_config_text(text, kName, opts);
}

std::string dump(const LoadResult& r) {
  std::string s;
  for (const auto& e : r.errors) s += "  " + e.to_string() + "\n";
  return s;
}

// Loads `text` and expects it to succeed.
#define LOAD_OK(var, text)                                      \
  LoadResult var##_result = load(text);                         \
  ASSERT_TRUE(var##_result.ok()) << dump(var##_result);         \
  const ServerConfig& var = *var##_result.config

sockaddr_storage v4(const char* ip) {
  sockaddr_storage ss{};
  auto* a = reinterpret_cast<sockaddr_in*>(&ss);
  a->sin_family = AF_INET;
  EXPECT_EQ(inet_pton(AF_INET, ip, &a->sin_addr), 1) << ip;
  return ss;
}

sockaddr_storage v6(const char* ip) {
  sockaddr_storage ss{};
  auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
  a->sin6_family = AF_INET6;
  EXPECT_EQ(inet_pton(AF_INET6, ip, &a->sin6_addr), 1) << ip;
  return ss;
}

const DirectorySection* find_dir(const VirtualHost& vh, std::string_view path) {
  for (const auto& d : vh.directories) {
    if (d.path == path) return &d;
  }
  return nullptr;
}

bool has_notice(const ServerConfig& sc, std::string_view needle) {
  return std::any_of(sc.notices.begin(), sc.notices.end(),
                     [&](const std::string& n) { return n.find(needle) != std::string::npos; });
}

// ---- error cases: exact file, exact line, helpful message ----------------------------

struct ErrorCase {
  const char* name;
  const char* text;
  int line;
  std::vector<const char*> hints;  // each must appear in the message
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

class LoaderError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(LoaderError, ReportsFileLineAndHint) {
  const ErrorCase& c = GetParam();
  LoadResult r = load(c.text);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.config, nullptr);
  ASSERT_EQ(r.errors.size(), 1u) << "config:\n" << c.text << "\nerrors:\n" << dump(r);
  const ConfigError& e = r.errors[0];
  EXPECT_EQ(e.file, kName);
  EXPECT_EQ(e.line, c.line) << e.to_string();
  for (const char* h : c.hints) EXPECT_NE(e.message.find(h), std::string::npos) << "want '" << h << "' in: " << e.message;
  EXPECT_GT(e.message.size(), 20u) << "a message that says what would be right: " << e.message;
}

const ErrorCase kErrorCases[] = {
    // Directive table: names, argument counts, contexts.
    {"UnknownDirective", "Listen 8080\nFrobnicate on\n", 2, {"unknown directive 'Frobnicate'", "docs/configuration.md"}},
    {"UnknownDirectiveInDirectory", "Listen 8080\n<Directory /srv>\n  Frobnicate\n</Directory>\n", 3,
     {"unknown directive 'Frobnicate'"}},
    {"TooFewArguments", "Listen 8080\nTimeout\n", 2, {"Timeout takes 1 argument(s), got 0", "syntax: Timeout SECONDS"}},
    {"TooManyArguments", "Listen 8080\n\nKeepAlive On Off\n", 3, {"takes 1 argument(s), got 2", "KeepAlive On|Off"}},
    {"TooManyArgumentsRange", "Listen 8080\nListen 9090 http extra\n", 2, {"Listen takes 1 to 2 argument(s), got 3"}},
    {"ListenInVirtualHost", "Listen 8080\n<VirtualHost *:8080>\n  Listen 9090\n</VirtualHost>\n", 3,
     {"Listen is not allowed in <VirtualHost>", "Listen [IP:]PORT"}},
    {"SetHandlerAtTopLevel", "Listen 8080\nSetHandler server-status\n", 2,
     {"SetHandler is not allowed in the server config", "SetHandler server-status"}},
    {"RequireAtTopLevel", "Listen 8080\nRequire all granted\n", 2, {"Require is not allowed in the server config"}},
    {"ServerAliasInMainServer", "Listen 8080\nServerAlias www.example.com\n", 2, {"ServerAlias is not allowed"}},
    {"AllowOverrideInLocation", "Listen 8080\n<Location /x>\n  AllowOverride None\n</Location>\n", 3,
     {"AllowOverride is not allowed in <Location>"}},
    {"DocumentRootInDirectory", "Listen 8080\n<Directory /srv>\n  DocumentRoot htdocs\n</Directory>\n", 3,
     {"DocumentRoot is not allowed in <Directory>"}},
    // Sections.
    {"MismatchedClose", "Listen 8080\n<Directory /srv>\n  Options None\n</Location>\n", 4,
     {"</Location> closes <Directory> opened at line 2", "expected </Directory>"}},
    {"CloseWithoutOpen", "Listen 8080\n</Directory>\n", 2, {"</Directory> without a matching <Directory>"}},
    {"UnclosedSection", "Listen 8080\n\n<Directory /srv>\n  Options None\n", 3,
     {"<Directory> is never closed", "add </Directory>"}},
    {"SectionMissingBracket", "Listen 8080\n<Directory /srv\n", 2, {"must end with '>'"}},
    {"UnterminatedQuote", "Listen 8080\nDocumentRoot \"htdocs\n", 2, {"unterminated double quote"}},
    {"UnknownSection", "Listen 8080\n<Macro site>\n</Macro>\n", 2, {"unknown section <Macro>", "<VirtualHost>, <Directory>"}},
    {"ProxyNotABalancer", "Listen 8080\n<Proxy *>\n</Proxy>\n", 2, {"<Proxy> takes a balancer", "balancer://"}},
    {"DirectoryMatch", "Listen 8080\n<DirectoryMatch \"^/srv\">\n</DirectoryMatch>\n", 2,
     {"regular expression is not supported", "<Directory /path>"}},
    {"DirectoryTilde", "Listen 8080\n<Directory ~ \"^/srv\">\n</Directory>\n", 2, {"regular expression is not supported"}},
    {"LocationMatch", "Listen 8080\n<LocationMatch \"^/x\">\n</LocationMatch>\n", 2,
     {"regular expression is not supported", "<Location /prefix>"}},
    {"LocationRelative", "Listen 8080\n<Location server-status>\n</Location>\n", 2, {"must start with '/'"}},
    {"DirectoryWithoutPath", "Listen 8080\n<Directory>\n</Directory>\n", 2, {"needs an argument", "<Directory \"/srv/www\">"}},
    {"FilesInLocation", "Listen 8080\n<Location /x>\n\n<Files a>\n</Files>\n</Location>\n", 4,
     {"<Files> is not allowed in <Location>"}},
    {"DirectoryInDirectory", "Listen 8080\n<Directory /a>\n<Directory /a/b>\n</Directory>\n</Directory>\n", 3,
     {"<Directory> is not allowed in <Directory>"}},
    {"VirtualHostWithoutAddress", "Listen 8080\n<VirtualHost>\n</VirtualHost>\n", 2, {"needs an address", "*:80"}},
    {"VirtualHostHostName", "Listen 8080\n<VirtualHost www.example.com:80>\n</VirtualHost>\n", 2,
     {"<VirtualHost www.example.com:80>", "not an IP address"}},
    {"VirtualHostInDirectory", "Listen 8080\n<Directory /srv>\n<VirtualHost *:80>\n</VirtualHost>\n</Directory>\n", 3,
     {"only allowed at the top level"}},
    {"IfModuleTwoArguments", "Listen 8080\n<IfModule a b>\n</IfModule>\n", 2, {"exactly one argument"}},
    // Listen.
    {"ListenHostName", "Listen 8080\nListen localhost:80\n", 2, {"not an IP address", "not host names"}},
    {"ListenBadPort", "Listen 8080\nListen 70000\n", 2, {"out of range", "0 to 65535"}},
    {"ListenTwice", "Listen 8080\nListen 8080\n", 2, {"Listen 8080 appears twice", "remove one"}},
    {"ListenFtp", "Listen 8080\nListen 8443 ftp\n", 2, {"protocol 'ftp' is not supported", "http or https"}},
    {"ListenBacklogZero", "Listen 8080\nListenBacklog 0\n", 2, {"ListenBacklog", "out of range"}},
    {"NoListenAtAll", "Timeout 30\n", 0, {"no Listen directive", "Listen 80"}},
    // Access control.
    {"AllowOverrideBadClass", "Listen 8080\n<Directory /srv>\n  AllowOverride FileInfo Everything\n</Directory>\n", 3,
     {"illegal override option Everything", "Options[=Option,...]"}},
    {"AllowOverrideBadOption", "Listen 8080\n<Directory /srv>\n  AllowOverride Options=Indexes,Bogus\n</Directory>\n", 3,
     {"'Bogus' is not an option"}},
    {"AllowOverrideNonfatalWhat", "Listen 8080\n<Directory /srv>\n  AllowOverride All Nonfatal=Some\n</Directory>\n", 3,
     {"Nonfatal=Override, Nonfatal=Unknown or Nonfatal=All"}},
    {"AllowOverrideAtTopLevel", "Listen 8080\nAllowOverride All\n", 2, {"AllowOverride is not allowed in the server config"}},
    {"AllowOverrideInFiles", "Listen 8080\n<Directory /srv>\n<Files x>\n  AllowOverride All\n</Files>\n</Directory>\n", 4,
     {"AllowOverride is not allowed in <Files>"}},
    {"AllowOverrideListUnknown", "Listen 8080\n<Directory /srv>\n  AllowOverrideList Redirect Frobnicate\n</Directory>\n", 3,
     {"AllowOverrideList Frobnicate: no such directive"}},
    {"AllowOverrideListNotHtaccess", "Listen 8080\n<Directory /srv>\n  AllowOverrideList Listen\n</Directory>\n", 3,
     {"Listen cannot be used in .htaccess"}},
    {"RequireHost", "Listen 8080\n<Directory /srv>\n  Require host example.com\n</Directory>\n", 3,
     {"Require host is not supported", "use Require ip"}},
    {"RequireIpHostName", "Listen 8080\n<Location />\n  Require ip intranet.example.com\n</Location>\n", 3,
     {"intranet.example.com", "host names are not supported"}},
    {"RequireIpNonContiguousMask", "Listen 8080\n<Location />\n  Require ip 10.0.0.0/255.0.255.0\n</Location>\n", 3,
     {"not contiguous"}},
    {"RequireMethod", "Listen 8080\n<Location />\n  Require method GET\n</Location>\n", 3,
     {"Require method is not supported", "Require all granted", "Require valid-user"}},
    {"RequireAllMaybe", "Listen 8080\n<Location />\n  Require all maybe\n</Location>\n", 3,
     {"Require all granted or Require all denied"}},
    {"RequireNotAlone", "Listen 8080\n<Location />\n  Require not\n</Location>\n", 3, {"Require not needs a rule"}},
    {"RequireIpWithoutAddress", "Listen 8080\n<Location />\n  Require ip\n</Location>\n", 3, {"at least one address"}},
    {"OrderBadValue", "Listen 8080\n<Directory /srv>\n  Order Allow;Deny\n</Directory>\n", 3,
     {"is unknown", "Deny,Allow", "Allow,Deny"}},
    {"AllowWithoutFrom", "Listen 8080\n<Directory /srv>\n  Allow 10.0.0.0/8\n</Directory>\n", 3,
     {"Allow needs 'from'", "Allow from all"}},
    {"DenyFromEnv", "Listen 8080\n<Directory /srv>\n  Deny from env=bad_bot\n</Directory>\n", 3,
     {"env=", "Require ip"}},
    {"AllowFromHostName", "Listen 8080\n<Files x>\n  Allow from .example.com\n</Files>\n", 3,
     {"host names are not supported"}},
    // Values.
    {"BadDuration", "Listen 8080\nTimeout 10x\n", 2, {"Timeout: '10x' is not a duration", "500ms"}},
    {"BadDurationInVirtualHost", "Listen 8080\n<VirtualHost *:8080>\n  KeepAliveTimeout forever\n</VirtualHost>\n", 3,
     {"KeepAliveTimeout: 'forever' is not a duration"}},
    {"KeepAliveMaybe", "Listen 8080\nKeepAlive maybe\n", 2, {"KeepAlive", "not On or Off"}},
    {"LimitRequestBodyBad", "Listen 8080\nLimitRequestBody 10X\n", 2, {"LimitRequestBody", "not a size"}},
    {"LimitRequestFieldsTooMany", "Listen 8080\nLimitRequestFields 40000\n", 2, {"out of range", "0 to 32767"}},
    {"RequestReadTimeoutBadType", "Listen 8080\nRequestReadTimeout headers=20\n", 2,
     {"'headers=20'", "header=20-40,MinRate=500"}},
    {"RequestReadTimeoutBadNumber", "Listen 8080\nRequestReadTimeout header=abc\n", 2,
     {"RequestReadTimeout header", "not a whole number"}},
    {"RequestReadTimeoutMaxBelowMin", "Listen 8080\nRequestReadTimeout header=40-20,MinRate=500\n", 2,
     {"out of range"}},
    {"RequestReadTimeoutBadRate", "Listen 8080\nRequestReadTimeout body=20,Rate=500\n", 2, {",MinRate="}},
    {"ErrorDocumentSuccessStatus", "Listen 8080\nErrorDocument 200 /ok.html\n", 2, {"400 to 599"}},
    {"HostnameLookupsOn", "Listen 8080\nHostnameLookups On\n", 2, {"never resolves", "Off"}},
    {"LogLevelUnknown", "Listen 8080\nLogLevel verbose\n", 2, {"LogLevel 'verbose' is unknown", "trace1-8"}},
    {"ServerTokensBogus", "Listen 8080\nServerTokens Everything\n", 2, {"Prod", "Full"}},
    {"ServerNameEmpty", "Listen 8080\nServerName :80\n", 2, {"needs a host name"}},
    {"OptionsUnknown", "Listen 8080\n<Directory /srv>\n  Options Indexes Bogus\n</Directory>\n", 3,
     {"Options 'Bogus' is unknown", "FollowSymLinks"}},
    {"OptionsMixed", "Listen 8080\nOptions Indexes +FollowSymLinks\n", 2, {"mixes +/- forms"}},
    {"AddTypeSwapped", "Listen 8080\nAddType .txt text/plain\n", 2, {"first argument is the MIME type"}},
    {"SetHandlerUnknown", "Listen 8080\n<Location /cgi-bin>\n  SetHandler perl-script\n</Location>\n", 3,
     {"SetHandler perl-script is unknown", "server-status", "pillar-metrics"}},
    // Files and paths.
    {"DocumentRootMissing", "Listen 8080\nDocumentRoot /nonexistent/pillar-test/www\n", 2,
     {"/nonexistent/pillar-test/www is not a directory", "create it"}},
    {"ServerRootMissing", "Listen 8080\nServerRoot /nonexistent/pillar-test\n", 2, {"is not a directory"}},
    {"TypesConfigMissing", "Listen 8080\nTypesConfig /nonexistent/pillar-test/mime.types\n", 2, {"cannot be read"}},
    {"IncludeMissingFile", "Listen 8080\nInclude conf/missing.conf\n", 2,
     {"conf/missing.conf does not exist", "IncludeOptional"}},
    {"IncludeGlobNoMatch", "Listen 8080\n\nInclude conf.d/*.nomatch\n", 3, {"matches no file", "IncludeOptional"}},
    {"IncludeTwoArguments", "Listen 8080\nInclude a.conf b.conf\n", 2, {"takes one argument"}},
    {"FilesMatchBadRegex", "Listen 8080\n<FilesMatch \"(\\.php\">\n  Require all denied\n</FilesMatch>\n", 2,
     {"regular expression '(\\.php' is invalid"}},
    {"FilesTildeBadRegex", "Listen 8080\n<Directory /srv>\n<Files ~ \"[a-\">\n</Files>\n</Directory>\n", 3,
     {"is invalid"}},
    {"FilesTwoPatterns", "Listen 8080\n<Files a b>\n</Files>\n", 2, {"takes one pattern", "quote it"}},
    // Logging.
    {"CustomLogUnknownNickname", "Listen 8080\nCustomLog logs/access.log fancy\n", 2,
     {"format 'fancy'", "LogFormat", "common or combined"}},
    {"CustomLogPiped", "Listen 8080\nCustomLog \"|/usr/bin/rotatelogs /var/log/a 86400\" common\n", 2,
     {"piped logs are not supported", "logrotate"}},
    {"ErrorLogPiped", "Listen 8080\nErrorLog \"|/usr/bin/logger -t httpd\"\n", 2, {"piped logs are not supported"}},
    {"ErrorLogSyslog", "Listen 8080\nErrorLog syslog:local1\n", 2, {"syslog is not supported"}},
    {"CustomLogCondition", "Listen 8080\nCustomLog logs/a.log common env=!dontlog\n", 2,
     {"condition 'env=!dontlog' is not supported"}},
};

INSTANTIATE_TEST_SUITE_P(Cases, LoaderError, ::testing::ValuesIn(kErrorCases),
                         [](const ::testing::TestParamInfo<ErrorCase>& i) { return std::string(i.param.name); });

TEST(LoaderErrors, SeveralErrorsAreAllReported) {
  LoadResult r = load("Listen 8080\nFrobnicate\nTimeout 10x\n<Directory /srv>\n  AllowOverride Most\n</Directory>\n");
  ASSERT_EQ(r.errors.size(), 3u) << dump(r);
  EXPECT_EQ(r.errors[0].line, 2);
  EXPECT_EQ(r.errors[1].line, 3);
  EXPECT_EQ(r.errors[2].line, 5);
  EXPECT_EQ(r.config, nullptr);
}

TEST(LoaderErrors, ErrorInsideAnIncludedFileNamesThatFile) {
  root().write("conf.d/bad-inc/x.conf", "# included\n\nFrobnicate yes\n");
  LoadResult r = load("Listen 8080\nInclude conf.d/bad-inc/x.conf\n");
  ASSERT_EQ(r.errors.size(), 1u) << dump(r);
  EXPECT_EQ(r.errors[0].file, root() / "conf.d/bad-inc/x.conf");
  EXPECT_EQ(r.errors[0].line, 3);
  EXPECT_NE(r.errors[0].message.find("unknown directive 'Frobnicate'"), std::string::npos);
}

TEST(LoaderErrors, SectionErrorInsideAnIncludedFile) {
  root().write("conf.d/bad-sec/x.conf", "<Directory /srv>\n  Options None\n");
  LoadResult r = load("Listen 8080\nInclude conf.d/bad-sec/x.conf\n");
  ASSERT_EQ(r.errors.size(), 1u) << dump(r);
  EXPECT_EQ(r.errors[0].file, root() / "conf.d/bad-sec/x.conf");
  EXPECT_EQ(r.errors[0].line, 1);
  EXPECT_NE(r.errors[0].message.find("never closed"), std::string::npos);
}

TEST(LoaderErrors, MissingIncludeInsideAnIncludedFileNamesTheIncludingFile) {
  root().write("conf.d/nested-missing/a.conf", "\nInclude conf.d/nested-missing/nope.conf\n");
  LoadResult r = load("Listen 8080\nInclude conf.d/nested-missing/a.conf\n");
  ASSERT_EQ(r.errors.size(), 1u) << dump(r);
  EXPECT_EQ(r.errors[0].file, root() / "conf.d/nested-missing/a.conf");
  EXPECT_EQ(r.errors[0].line, 2);
}

TEST(LoaderErrors, SelfIncludeStopsWithAHint) {
  root().write("conf.d/loop/self.conf", "Include conf.d/loop/self.conf\n");
  LoadResult r = load("Listen 8080\nInclude conf.d/loop/self.conf\n");
  ASSERT_FALSE(r.ok());
  ASSERT_GE(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].file, root() / "conf.d/loop/self.conf");
  EXPECT_EQ(r.errors[0].line, 1);
  EXPECT_NE(r.errors[0].message.find("including itself"), std::string::npos) << r.errors[0].message;
}

TEST(LoaderErrors, MissingConfigFile) {
  LoadResult r = load_config_file(root() / "does-not-exist.conf");
  ASSERT_FALSE(r.ok());
  ASSERT_GE(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("cannot read configuration file"), std::string::npos) << r.errors[0].message;
  EXPECT_NE(r.errors[0].message.find("does-not-exist.conf"), std::string::npos);
}

TEST(LoaderErrors, ErrorToStringHasFileAndLine) {
  LoadResult r = load("Listen 8080\nFrobnicate\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].to_string().rfind("t.conf:2: unknown directive", 0), 0u) << r.errors[0].to_string();
  LoadResult r2 = load("Timeout 5\n");
  ASSERT_EQ(r2.errors.size(), 1u);
  EXPECT_EQ(r2.errors[0].to_string().rfind("t.conf: no Listen", 0), 0u) << r2.errors[0].to_string();
}

// ---- minimal and default configuration --------------------------------------------------

TEST(Loader, MinimalConfigHasApacheDefaults) {
  LOAD_OK(sc, "Listen 8080\n");
  ASSERT_EQ(sc.listens.size(), 1u);
  EXPECT_EQ(sc.listens[0].port, 8080);
  EXPECT_TRUE(sc.listens[0].any_address);
  EXPECT_EQ(sc.config_file, kName);
  EXPECT_EQ(sc.server_root, root().str());
  EXPECT_EQ(sc.timeout, Millis(60000));
  EXPECT_TRUE(sc.keep_alive);
  EXPECT_EQ(sc.keep_alive_timeout, Millis(5000));
  EXPECT_EQ(sc.max_keep_alive_requests, 100u);
  EXPECT_EQ(sc.main_server.directory_index, std::vector<std::string>{"index.html"});
  EXPECT_TRUE(sc.main_server.document_root.empty());
  EXPECT_TRUE(sc.vhosts.empty());
  EXPECT_EQ(sc.main_server.log_formats.at("common"), "%h %l %u %t \"%r\" %>s %b");
  EXPECT_NE(sc.main_server.log_formats.at("combined").find("%{User-Agent}i"), std::string::npos);
}

TEST(Loader, DirectiveNamesAreCaseInsensitive) {
  LOAD_OK(sc, "listen 8080\nTIMEOUT 7\nkeepalive off\n");
  EXPECT_EQ(sc.timeout, Millis(7000));
  EXPECT_FALSE(sc.keep_alive);
}

TEST(Loader, ServerWideSettings) {
  LOAD_OK(sc,
          "Listen 127.0.0.1:0\n"
          "Listen [::1]:8081\n"
          "ListenBacklog 128\n"
          "Timeout 500ms\n"
          "KeepAliveTimeout 2\n"
          "MaxKeepAliveRequests 0\n"
          "LimitRequestBody 10M\n"
          "LimitRequestFields 0\n"
          "LimitRequestFieldSize 4096\n"
          "LimitRequestLine 4094\n"
          "EnableSendfile Off\n"
          "ServerTokens Prod\n"
          "LogLevel info ssl:warn\n"
          "ErrorLog logs/error.log\n"
          "HostnameLookups Off\n"
          "ServerAdmin root@example.com\n"
          "ServerSignature Off\n");
  ASSERT_EQ(sc.listens.size(), 2u);
  EXPECT_EQ(sc.listens[0].port, 0);
  EXPECT_EQ(sc.listens[1].addr.ss_family, AF_INET6);
  EXPECT_EQ(sc.listen_backlog, 128);
  EXPECT_EQ(sc.timeout, Millis(500));
  EXPECT_EQ(sc.keep_alive_timeout, Millis(2000));
  EXPECT_EQ(sc.max_keep_alive_requests, 0u);
  EXPECT_EQ(sc.limit_request_body, 10ull << 20);
  EXPECT_EQ(sc.limit_request_fields, 32767u);  // 0 = unlimited
  EXPECT_EQ(sc.limit_request_field_size, 4096u);
  EXPECT_EQ(sc.limit_request_line, 4094u);
  EXPECT_FALSE(sc.enable_sendfile);
  EXPECT_EQ(sc.server_tokens, "Pillar");
  EXPECT_EQ(sc.log_level, LogLevel::Info);
  EXPECT_EQ(sc.error_log, root() / "logs/error.log");
}

// ---- virtual hosts and inheritance ------------------------------------------------------------

TEST(Loader, VirtualHostsInheritFromTheMainServer) {
  LOAD_OK(sc,
          "Listen 8080\n"
          "ServerName main.example.com\n"
          "DocumentRoot htdocs\n"
          "DirectoryIndex index.php index.html\n"
          "ErrorDocument 404 /missing.html\n"
          "ErrorDocument 500 \"Something broke\"\n"
          "AddType text/x-foo .FOO\n"
          "<VirtualHost *:8080>\n"
          "  ServerName a.example.com\n"
          "</VirtualHost>\n"
          "<VirtualHost *:8080>\n"
          "  ServerName b.example.com\n"
          "  DocumentRoot site2\n"
          "  DirectoryIndex disabled\n"
          "  ErrorDocument 404 default\n"
          "  ErrorDocument 403 http://example.com/denied\n"
          "</VirtualHost>\n");
  const VirtualHost& m = sc.main_server;
  EXPECT_EQ(m.document_root, root() / "htdocs");
  EXPECT_EQ(m.directory_index, (std::vector<std::string>{"index.php", "index.html"}));
  ASSERT_EQ(m.error_documents.count(404), 1u);
  EXPECT_EQ(m.error_documents.at(404).kind, ErrorDocument::Kind::LocalPath);
  EXPECT_EQ(m.error_documents.at(500).kind, ErrorDocument::Kind::Text);
  EXPECT_EQ(m.error_documents.at(500).value, "Something broke");
  EXPECT_EQ(m.add_types.at(".foo"), "text/x-foo");

  ASSERT_EQ(sc.vhosts.size(), 2u);
  const VirtualHost& a = sc.vhosts[0];
  EXPECT_EQ(a.server_name, "a.example.com");
  EXPECT_EQ(a.document_root, root() / "htdocs");
  EXPECT_EQ(a.directory_index, (std::vector<std::string>{"index.php", "index.html"}));
  ASSERT_EQ(a.error_documents.count(404), 1u);
  EXPECT_EQ(a.error_documents.at(404).value, "/missing.html");
  EXPECT_EQ(a.add_types.at(".foo"), "text/x-foo");
  EXPECT_EQ(a.where.line, 8);

  const VirtualHost& b = sc.vhosts[1];
  EXPECT_EQ(b.document_root, root() / "site2");
  EXPECT_TRUE(b.directory_index.empty());
  EXPECT_EQ(b.error_documents.count(404), 0u);
  EXPECT_EQ(b.error_documents.at(403).kind, ErrorDocument::Kind::Redirect);
  EXPECT_EQ(b.error_documents.at(500).value, "Something broke");
  // The main server is untouched by the vhost overrides.
  EXPECT_EQ(m.error_documents.count(404), 1u);
}

// Apache merges each vhost with the whole main server after reading the
// file, so main-server lines after a <VirtualHost> still reach it.
TEST(Loader, MainServerLinesAfterAVirtualHostAreInherited) {
  LOAD_OK(sc,
          "Listen 8080\n"
          "<VirtualHost *:8080>\n"
          "  ServerName a.example.com\n"
          "</VirtualHost>\n"
          "DocumentRoot htdocs\n"
          "ServerName main.example.com\n");
  ASSERT_EQ(sc.vhosts.size(), 1u);
  EXPECT_EQ(sc.vhosts[0].document_root, root() / "htdocs");
}

TEST(Loader, VirtualHostWithoutServerNameUsesTheMainServerName) {
  LOAD_OK(sc, "Listen 8080\nServerName Main.Example.com:8080\n<VirtualHost *:8080>\n</VirtualHost>\n");
  EXPECT_EQ(sc.main_server.server_name, "main.example.com");
  ASSERT_EQ(sc.vhosts.size(), 1u);
  EXPECT_EQ(sc.vhosts[0].server_name, "main.example.com");
}

TEST(Loader, ServerNameDropsSchemeAndPortAndLowercases) {
  LOAD_OK(sc,
          "Listen 8080\n"
          "<VirtualHost *:8080>\n  ServerName https://WWW.Example.COM:443\n</VirtualHost>\n"
          "<VirtualHost *:8080>\n  ServerName [::1]:8080\n</VirtualHost>\n");
  ASSERT_EQ(sc.vhosts.size(), 2u);
  EXPECT_EQ(sc.vhosts[0].server_name, "www.example.com");
  EXPECT_EQ(sc.vhosts[1].server_name, "[::1]");
}

TEST(Loader, VirtualHostAddresses) {
  LOAD_OK(sc, "Listen 8080\n<VirtualHost *:8080 127.0.0.1:80 [::1]:8080 _default_:* 10.0.0.1>\n</VirtualHost>\n");
  ASSERT_EQ(sc.vhosts.size(), 1u);
  const auto& a = sc.vhosts[0].addresses;
  ASSERT_EQ(a.size(), 5u);
  EXPECT_TRUE(a[0].any_address);
  EXPECT_EQ(a[0].port, 8080);
  EXPECT_EQ(a[0].text, "*:8080");
  EXPECT_FALSE(a[1].any_address);
  EXPECT_EQ(a[1].port, 80);
  EXPECT_EQ(a[2].addr.ss_family, AF_INET6);
  EXPECT_EQ(a[2].port, 8080);
  EXPECT_TRUE(a[3].any_address);
  EXPECT_EQ(a[3].port, 0);  // any port
  EXPECT_EQ(a[3].text, "_default_:*");
  EXPECT_EQ(a[4].port, 0);
  EXPECT_TRUE(sc.main_server.addresses.empty());
}

TEST(Loader, ServerAliasLowercasedWithWildcards) {
  LOAD_OK(sc,
          "Listen 8080\n"
          "<VirtualHost *:8080>\n"
          "  ServerName www.example.com\n"
          "  ServerAlias Example.COM *.Example.com\n"
          "  ServerAlias host-?.example.net\n"
          "</VirtualHost>\n");
  ASSERT_EQ(sc.vhosts.size(), 1u);
  const VirtualHost& vh = sc.vhosts[0];
  EXPECT_EQ(vh.aliases, (std::vector<std::string>{"example.com", "*.example.com", "host-?.example.net"}));
  EXPECT_TRUE(vh.matches_name("www.example.com"));
  EXPECT_TRUE(vh.matches_name("example.com"));
  EXPECT_TRUE(vh.matches_name("shop.example.com"));
  EXPECT_TRUE(vh.matches_name("a.b.example.com"));  // '*' spans dots in Apache (fnmatch)
  EXPECT_TRUE(vh.matches_name("host-1.example.net"));
  EXPECT_FALSE(vh.matches_name("host-12.example.net"));
  EXPECT_FALSE(vh.matches_name("example.org"));
  EXPECT_FALSE(vh.matches_name("notexample.com"));
  EXPECT_FALSE(vh.matches_name("www.example.com.evil.org"));
  EXPECT_FALSE(vh.matches_name(""));
}

TEST(Loader, MatchesNameWithoutServerName) {
  VirtualHost vh;
  EXPECT_FALSE(vh.matches_name(""));
  EXPECT_FALSE(vh.matches_name("x"));
  vh.aliases = {"*"};
  EXPECT_TRUE(vh.matches_name("anything.example"));
}

TEST(Loader, VirtualHostCustomLogReplacesInheritedLogs) {
  LOAD_OK(sc,
          "Listen 8080\n"
          "CustomLog logs/main.log common\n"
          "<VirtualHost *:8080>\n"
          "</VirtualHost>\n"
          "<VirtualHost *:8080>\n"
          "  CustomLog logs/b1.log combined\n"
          "  CustomLog stderr \"%h %>s\"\n"
          "  ErrorLog logs/b-error.log\n"
          "</VirtualHost>\n");
  ASSERT_EQ(sc.main_server.custom_logs.size(), 1u);
  EXPECT_EQ(sc.main_server.custom_logs[0].path, root() / "logs/main.log");
  ASSERT_EQ(sc.vhosts.size(), 2u);
  ASSERT_EQ(sc.vhosts[0].custom_logs.size(), 1u);
  EXPECT_EQ(sc.vhosts[0].custom_logs[0].path, root() / "logs/main.log");
  ASSERT_EQ(sc.vhosts[1].custom_logs.size(), 2u);
  EXPECT_EQ(sc.vhosts[1].custom_logs[0].path, root() / "logs/b1.log");
  EXPECT_EQ(sc.vhosts[1].custom_logs[0].format, sc.main_server.log_formats.at("combined"));
  EXPECT_EQ(sc.vhosts[1].custom_logs[1].path, "stderr");
  EXPECT_EQ(sc.vhosts[1].custom_logs[1].format, "%h %>s");
  EXPECT_EQ(sc.vhosts[1].error_log, root() / "logs/b-error.log");
  EXPECT_TRUE(sc.vhosts[0].error_log.empty());
}

// ---- LogFormat / CustomLog -------------------------------------------------------------------

TEST(Loader, LogFormatAfterCustomLogStillResolves) {
  LOAD_OK(sc,
          "Listen 8080\n"
          "CustomLog logs/access.log mine\n"
          "<VirtualHost *:8080>\n"
          "  CustomLog logs/v.log mine\n"
          "</VirtualHost>\n"
          "LogFormat \"%h %r %>s\" mine\n");
  ASSERT_EQ(sc.main_server.custom_logs.size(), 1u);
  EXPECT_EQ(sc.main_server.custom_logs[0].format, "%h %r %>s");
  EXPECT_EQ(sc.main_server.custom_logs[0].path, root() / "logs/access.log");
  ASSERT_EQ(sc.vhosts.size(), 1u);
  ASSERT_EQ(sc.vhosts[0].custom_logs.size(), 1u);
  EXPECT_EQ(sc.vhosts[0].custom_logs[0].format, "%h %r %>s");
}

TEST(Loader, LogFormatCanRedefineCommon) {
  LOAD_OK(sc, "Listen 8080\nCustomLog logs/a.log common\nLogFormat \"%h\" common\n");
  ASSERT_EQ(sc.main_server.custom_logs.size(), 1u);
  EXPECT_EQ(sc.main_server.custom_logs[0].format, "%h");
}

// Apache resolves CustomLog nicknames when it opens the logs, after the whole
// configuration is read, so a LogFormat later in the same <VirtualHost> works.
TEST(Loader, LogFormatAfterCustomLogInsideAVirtualHostAsApache) {
  LoadResult r = load(
      "Listen 8080\n"
      "<VirtualHost *:8080>\n"
      "  CustomLog logs/v.log vfmt\n"
      "  LogFormat \"%h %>s\" vfmt\n"
      "</VirtualHost>\n");
  ASSERT_TRUE(r.ok()) << dump(r);
  ASSERT_EQ(r.config->vhosts.size(), 1u);
  ASSERT_EQ(r.config->vhosts[0].custom_logs.size(), 1u);
  EXPECT_EQ(r.config->vhosts[0].custom_logs[0].format, "%h %>s");
}

TEST(Loader, LogFormatWithoutNicknameIsANotice) {
  LOAD_OK(sc, "Listen 8080\nLogFormat \"%h\"\n");
  EXPECT_TRUE(has_notice(sc, "t.conf:2: LogFormat without a nickname ignored"));
}

// ---- <IfModule>, <IfDefine>, LoadModule ---------------------------------------------------------

TEST(Loader, IfModule) {
  LOAD_OK(sc,
          "Listen 8080\n"
          "<IfModule status_module>\n"
          "  Timeout 11\n"
          "</IfModule>\n"
          "<IfModule mod_status.c>\n"
          "  KeepAliveTimeout 12\n"
          "</IfModule>\n"
          "<IfModule !mod_foo.c>\n"
          "  MaxKeepAliveRequests 13\n"
          "</IfModule>\n"
          "<IfModule mod_foo.c>\n"
          "  Frobnicate this is never looked at\n"
          "  Timeout 99\n"
          "</IfModule>\n"
          "<IfModule !status_module>\n"
          "  Timeout 98\n"
          "</IfModule>\n");
  EXPECT_EQ(sc.timeout, Millis(11000));
  EXPECT_EQ(sc.keep_alive_timeout, Millis(12000));
  EXPECT_EQ(sc.max_keep_alive_requests, 13u);
}

TEST(Loader, NestedIfModuleInsideAVirtualHost) {
  LOAD_OK(sc,
          "Listen 8080\n"
          "<VirtualHost *:8080>\n"
          "  <IfModule dir_module>\n"
          "    <IfModule !mod_php.c>\n"
          "      DirectoryIndex index.htm\n"
          "    </IfModule>\n"
          "  </IfModule>\n"
          "</VirtualHost>\n");
  ASSERT_EQ(sc.vhosts.size(), 1u);
  EXPECT_EQ(sc.vhosts[0].directory_index, std::vector<std::string>{"index.htm"});
}

TEST(Loader, IfDefine) {
  const char* text =
      "Listen 8080\n"
      "<IfDefine DEBUG>\n"
      "  LogLevel debug\n"
      "</IfDefine>\n"
      "<IfDefine !DEBUG>\n"
      "  LogLevel error\n"
      "</IfDefine>\n";
  LoadResult off = load(text);
  ASSERT_TRUE(off.ok()) << dump(off);
  EXPECT_EQ(off.config->log_level, LogLevel::Error);

  LoadOptions o;
  o.defines = {"OTHER", "DEBUG"};
  LoadResult on = load(text, o);
  ASSERT_TRUE(on.ok()) << dump(on);
  EXPECT_EQ(on.config->log_level, LogLevel::Debug);
}

TEST(Loader, LoadModuleOfAModulePillarHasIsSilent) {
  LOAD_OK(sc, "Listen 8080\n\nLoadModule status_module modules/mod_status.so\n");
  EXPECT_TRUE(sc.notices.empty()) << sc.notices[0];
}

TEST(Loader, LoadModuleOfAModulePillarLacksNamesWhatWillNotWork) {
  LOAD_OK(sc, "Listen 8080\n\nLoadModule include_module modules/mod_include.so\nLoadModule frob_module x.so\n");
  EXPECT_TRUE(has_notice(sc, "t.conf:3: LoadModule include_module: Pillar lacks this module: server-side includes"))
      << (sc.notices.empty() ? "" : sc.notices[0]);
  EXPECT_TRUE(has_notice(sc, "t.conf:4: LoadModule frob_module: Pillar does not know this module"));
}

// ---- Options -------------------------------------------------------------------------------

TEST(Loader, OptionsAbsoluteAndRelative) {
  LOAD_OK(sc,
          "Listen 8080\n"
          "Options Indexes\n"
          "<Directory /srv/rel>\n"
          "  Options +Indexes -FollowSymLinks\n"
          "</Directory>\n"
          "<Directory /srv/none>\n"
          "  Options None\n"
          "</Directory>\n"
          "<Directory /srv/acc>\n"
          "  Options +ExecCGI\n"
          "  Options -Indexes\n"
          "</Directory>\n"
          "<Directory /srv/abs-then-rel>\n"
          "  Options Indexes\n"
          "  Options +ExecCGI\n"
          "</Directory>\n"
          "<Directory /srv/all>\n"
          "  Options All\n"
          "</Directory>\n"
          "<Directory /srv/untouched>\n"
          "  Require all granted\n"
          "</Directory>\n");
  const VirtualHost& m = sc.main_server;
  EXPECT_TRUE(m.options.present);
  EXPECT_TRUE(m.options.replace);
  uint8_t server = m.options.apply(kDefaultOptions);
  EXPECT_EQ(server, Options::Indexes);

  const DirectorySection* rel = find_dir(m, "/srv/rel");
  ASSERT_NE(rel, nullptr);
  EXPECT_FALSE(rel->options.replace);
  EXPECT_EQ(rel->options.apply(kDefaultOptions), Options::Indexes);
  EXPECT_EQ(rel->options.apply(Options::ExecCGI | Options::FollowSymLinks), Options::ExecCGI | Options::Indexes);

  const DirectorySection* none = find_dir(m, "/srv/none");
  ASSERT_NE(none, nullptr);
  EXPECT_EQ(none->options.apply(0xff), 0);

  const DirectorySection* acc = find_dir(m, "/srv/acc");
  ASSERT_NE(acc, nullptr);
  EXPECT_EQ(acc->options.apply(Options::Indexes | Options::FollowSymLinks), Options::FollowSymLinks | Options::ExecCGI);

  const DirectorySection* ar = find_dir(m, "/srv/abs-then-rel");
  ASSERT_NE(ar, nullptr);
  EXPECT_EQ(ar->options.apply(Options::FollowSymLinks), Options::Indexes | Options::ExecCGI);

  const DirectorySection* all = find_dir(m, "/srv/all");
  ASSERT_NE(all, nullptr);
  uint8_t a = all->options.apply(0);
  EXPECT_TRUE(a & Options::Indexes);
  EXPECT_TRUE(a & Options::FollowSymLinks);
  EXPECT_TRUE(a & Options::ExecCGI);
  EXPECT_FALSE(a & Options::MultiViews);  // Apache: All is everything except MultiViews

  const DirectorySection* u = find_dir(m, "/srv/untouched");
  ASSERT_NE(u, nullptr);
  EXPECT_FALSE(u->options.present);
  EXPECT_EQ(u->options.apply(Options::Indexes), Options::Indexes);
}

TEST(Loader, OptionsApplyUnit) {
  Options o;
  EXPECT_EQ(o.apply(Options::Indexes), Options::Indexes);  // not present: inherit
  o.present = true;
  o.add = Options::Indexes;
  o.remove = Options::FollowSymLinks;
  EXPECT_EQ(o.apply(Options::FollowSymLinks | Options::ExecCGI), Options::Indexes | Options::ExecCGI);
  o.replace = true;
  EXPECT_EQ(o.apply(Options::FollowSymLinks | Options::ExecCGI), Options::Indexes);
}

// ---- <Directory> order, <Files>, <Location> -----------------------------------------------

TEST(Loader, DirectoriesSortedShortestFirstAndNormalised) {
  LOAD_OK(sc,
          "Listen 8080\n"
          "<Directory \"/srv/www/a/b/\">\n</Directory>\n"
          "<Directory />\n</Directory>\n"
          "<Directory //srv/./www>\n</Directory>\n"
          "<Directory /srv>\n</Directory>\n"
          "<Directory /srv/www/zz>\n</Directory>\n");
  const auto& d = sc.main_server.directories;
  ASSERT_EQ(d.size(), 5u);
  EXPECT_EQ(d[0].path, "/");
  EXPECT_EQ(d[1].path, "/srv");
  EXPECT_EQ(d[2].path, "/srv/www");
  EXPECT_EQ(d[3].path, "/srv/www/zz");
  EXPECT_EQ(d[4].path, "/srv/www/a/b");
  EXPECT_EQ(d[4].where.line, 2);
  EXPECT_EQ(d[4].where.file, kName);
  for (size_t i = 1; i < d.size(); ++i) EXPECT_LE(d[i - 1].path.size(), d[i].path.size());
}

TEST(Loader, VirtualHostDirectoriesAreSortedToo) {
  LOAD_OK(sc,
          "Listen 8080\n"
          "<Directory /srv>\n</Directory>\n"
          "<VirtualHost *:8080>\n"
          "  <Directory /srv/www/deep>\n  </Directory>\n"
          "  <Directory />\n  </Directory>\n"
          "</VirtualHost>\n");
  ASSERT_EQ(sc.vhosts.size(), 1u);
  const auto& d = sc.vhosts[0].directories;
  ASSERT_EQ(d.size(), 3u);  // inherited /srv plus its own two
  EXPECT_EQ(d[0].path, "/");
  EXPECT_EQ(d[1].path, "/srv");
  EXPECT_EQ(d[2].path, "/srv/www/deep");
  EXPECT_EQ(sc.main_server.directories.size(), 1u);
}

TEST(Loader, FilesSections) {
  LOAD_OK(sc,
          "Listen 8080\n"
          "<Files \".ht*\">\n  Require all denied\n</Files>\n"
          "<FilesMatch \"\\.php$\">\n  Require all denied\n</FilesMatch>\n"
          "<Directory /srv/www>\n"
          "  <Files ~ \"\\.(gif|jpe?g)$\">\n    Require ip 10.0.0.0/8\n  </Files>\n"
          "</Directory>\n");
  const auto& f = sc.main_server.files;
  ASSERT_EQ(f.size(), 2u);
  const FilesSection& ht = f[0];
  EXPECT_EQ(ht.pattern, ".ht*");
  EXPECT_FALSE(ht.regex);
  EXPECT_TRUE(ht.matches(".htaccess"));
  EXPECT_TRUE(ht.matches(".htpasswd"));
  EXPECT_TRUE(ht.matches(".ht"));
  EXPECT_FALSE(ht.matches("x.htaccess"));
  EXPECT_FALSE(ht.matches("htaccess"));
  EXPECT_FALSE(ht.access.empty());
  EXPECT_FALSE(ht.access.allows(v4("127.0.0.1")));

  const FilesSection& php = f[1];
  EXPECT_TRUE(php.regex);
  EXPECT_EQ(php.pattern, "\\.php$");
  EXPECT_TRUE(php.matches("index.php"));
  EXPECT_TRUE(php.matches(".php"));
  EXPECT_FALSE(php.matches("index.php.bak"));
  EXPECT_FALSE(php.matches("phpinfo"));
  EXPECT_FALSE(php.matches("indexXphp"));
  EXPECT_EQ(php.where.line, 5);

  const DirectorySection* d = find_dir(sc.main_server, "/srv/www");
  ASSERT_NE(d, nullptr);
  ASSERT_EQ(d->files.size(), 1u);
  EXPECT_TRUE(d->files[0].regex);
  EXPECT_TRUE(d->files[0].matches("a.jpeg"));
  EXPECT_TRUE(d->files[0].matches("a.gif"));
  EXPECT_FALSE(d->files[0].matches("a.png"));
  EXPECT_TRUE(d->files[0].access.allows(v4("10.2.3.4")));
  EXPECT_FALSE(d->files[0].access.allows(v4("11.2.3.4")));
}

TEST(Loader, LocationSections) {
  LOAD_OK(sc,
          "Listen 8080\n"
          "<Location /server-status>\n"
          "  SetHandler server-status\n"
          "  Require local\n"
          "</Location>\n"
          "<Location \"/metrics\">\n  SetHandler pillar-metrics\n</Location>\n"
          "<Location />\n  SetHandler pillar-welcome\n</Location>\n"
          "<Location /static/>\n  SetHandler None\n</Location>\n");
  const auto& l = sc.main_server.locations;
  ASSERT_EQ(l.size(), 4u);
  EXPECT_EQ(l[0].prefix, "/server-status");
  EXPECT_EQ(l[0].handler, HandlerKind::ServerStatus);
  EXPECT_EQ(l[0].where.line, 2);
  EXPECT_TRUE(l[0].access.allows(v4("127.0.0.1")));
  EXPECT_TRUE(l[0].access.allows(v6("::1")));
  EXPECT_TRUE(l[0].access.allows(v6("::ffff:127.0.0.1")));
  EXPECT_FALSE(l[0].access.allows(v4("10.0.0.1")));
  EXPECT_EQ(l[1].handler, HandlerKind::Metrics);
  EXPECT_EQ(l[2].handler, HandlerKind::Welcome);
  EXPECT_EQ(l[3].handler, HandlerKind::Default);

  EXPECT_TRUE(l[0].matches("/server-status"));
  EXPECT_TRUE(l[0].matches("/server-status/"));
  EXPECT_TRUE(l[0].matches("/server-status/auto"));
  EXPECT_FALSE(l[0].matches("/server-statusx"));
  EXPECT_FALSE(l[0].matches("/server-stat"));
  EXPECT_FALSE(l[0].matches("/"));
  EXPECT_FALSE(l[0].matches("/x/server-status"));
  EXPECT_TRUE(l[2].matches("/"));
  EXPECT_TRUE(l[2].matches("/anything/at/all"));
  EXPECT_TRUE(l[3].matches("/static/"));
  EXPECT_TRUE(l[3].matches("/static/app.js"));
  EXPECT_FALSE(l[3].matches("/static"));  // Apache: <Location "/private2/"> does not match /private2
  EXPECT_FALSE(l[3].matches("/staticx/a"));
}

TEST(Loader, LocationDoubleTrailingSlashCollapsed) {
  LOAD_OK(sc, "Listen 8080\n<Location /a//>\n</Location>\n");
  ASSERT_EQ(sc.main_server.locations.size(), 1u);
  EXPECT_EQ(sc.main_server.locations[0].prefix, "/a/");
}

// ---- access control --------------------------------------------------------------------------

TEST(Loader, RequireRulesParsedIntoAccessPolicy) {
  LOAD_OK(sc,
          "Listen 8080\n"
          "<Directory /srv/ip>\n"
          "  Require ip 10.0.0.0/8 192.168.1\n"
          "  Require ip 2001:db8::/32\n"
          "</Directory>\n"
          "<Directory /srv/granted>\n  Require all granted\n</Directory>\n"
          "<Directory /srv/denied>\n  Require all denied\n</Directory>\n");
  const DirectorySection* ip = find_dir(sc.main_server, "/srv/ip");
  ASSERT_NE(ip, nullptr);
  ASSERT_EQ(ip->access.require.size(), 2u);
  EXPECT_EQ(ip->access.require[0].kind, RequireRule::Kind::Ip);
  EXPECT_EQ(ip->access.require[0].networks.size(), 2u);
  EXPECT_FALSE(ip->access.legacy);
  EXPECT_TRUE(ip->access.allows(v4("10.20.30.40")));
  EXPECT_TRUE(ip->access.allows(v4("192.168.1.77")));
  EXPECT_FALSE(ip->access.allows(v4("192.168.2.77")));
  EXPECT_FALSE(ip->access.allows(v4("11.0.0.1")));
  EXPECT_TRUE(ip->access.allows(v6("2001:db8::5")));
  EXPECT_FALSE(ip->access.allows(v6("2001:db9::5")));
  // IPv4-mapped IPv6 clients (a dual-stack socket) match IPv4 networks.
  EXPECT_TRUE(ip->access.allows(v6("::ffff:10.1.1.1")));
  EXPECT_TRUE(ip->access.allows(v6("::ffff:192.168.1.1")));
  EXPECT_FALSE(ip->access.allows(v6("::ffff:11.1.1.1")));

  const DirectorySection* g = find_dir(sc.main_server, "/srv/granted");
  ASSERT_NE(g, nullptr);
  EXPECT_TRUE(g->access.allows(v4("1.2.3.4")));
  const DirectorySection* d = find_dir(sc.main_server, "/srv/denied");
  ASSERT_NE(d, nullptr);
  EXPECT_FALSE(d->access.allows(v4("127.0.0.1")));
  EXPECT_FALSE(d->access.allows(v6("::1")));
}

TEST(Loader, RequireNotIpVetoes) {
  LOAD_OK(sc,
          "Listen 8080\n"
          "<Directory /srv>\n"
          "  Require all granted\n"
          "  Require not ip 10.0.0.0/8\n"
          "</Directory>\n");
  const DirectorySection* d = find_dir(sc.main_server, "/srv");
  ASSERT_NE(d, nullptr);
  ASSERT_EQ(d->access.require.size(), 2u);
  EXPECT_EQ(d->access.require[1].kind, RequireRule::Kind::NotIp);
  EXPECT_FALSE(d->access.allows(v4("10.1.2.3")));
  EXPECT_FALSE(d->access.allows(v6("::ffff:10.1.2.3")));
  EXPECT_TRUE(d->access.allows(v4("11.1.2.3")));
}

TEST(Loader, RequireNotIpWithPositiveIpRule) {
  LOAD_OK(sc,
          "Listen 8080\n"
          "<Location />\n"
          "  Require ip 10.0.0.0/8\n"
          "  Require not ip 10.9.0.0/16\n"
          "</Location>\n");
  const AccessPolicy& p = sc.main_server.locations.at(0).access;
  EXPECT_TRUE(p.allows(v4("10.1.0.1")));
  EXPECT_FALSE(p.allows(v4("10.9.0.1")));  // vetoed
  EXPECT_FALSE(p.allows(v4("11.0.0.1")));  // not granted by anything
}

TEST(Loader, LegacyOrderDenyAllow) {
  // Apache: Deny evaluated first, Allow overrides; default allow.
  LOAD_OK(sc,
          "Listen 8080\n"
          "<Directory /srv/a>\n"
          "  Order Deny,Allow\n"
          "  Deny from all\n"
          "  Allow from 10.0.0.0/8\n"
          "</Directory>\n"
          "<Directory /srv/b>\n"
          "  Order deny,allow\n"
          "  Deny from 10.0.0.0/8\n"
          "  Allow from 10.1\n"
          "</Directory>\n"
          "<Directory /srv/c>\n"
          "  Order Deny,Allow\n"
          "</Directory>\n");
  const DirectorySection* a = find_dir(sc.main_server, "/srv/a");
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(a->access.legacy);
  EXPECT_EQ(a->access.order, AccessPolicy::Order::DenyAllow);
  EXPECT_TRUE(a->access.deny_all);
  EXPECT_TRUE(a->access.allows(v4("10.1.2.3")));
  EXPECT_FALSE(a->access.allows(v4("11.1.2.3")));

  const DirectorySection* b = find_dir(sc.main_server, "/srv/b");
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(b->access.allows(v4("10.1.2.3")));   // denied, then allowed
  EXPECT_FALSE(b->access.allows(v4("10.2.2.3")));  // denied only
  EXPECT_TRUE(b->access.allows(v4("11.2.2.3")));   // neither: default allow

  const DirectorySection* c = find_dir(sc.main_server, "/srv/c");
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->access.allows(v4("1.2.3.4")));
}

TEST(Loader, LegacyOrderAllowDeny) {
  // Apache: Allow evaluated first, Deny overrides; default deny.
  LOAD_OK(sc,
          "Listen 8080\n"
          "<Directory /srv/a>\n"
          "  Order Allow,Deny\n"
          "  Allow from all\n"
          "  Deny from 10.0.0.0/8\n"
          "</Directory>\n"
          "<Directory /srv/b>\n"
          "  Order Allow,Deny\n"
          "  Allow from 10.0.0.0/8\n"
          "  Deny from 10.1.0.0/16\n"
          "</Directory>\n"
          "<Directory /srv/c>\n"
          "  Order Allow,Deny\n"
          "</Directory>\n"
          "<Directory /srv/d>\n"
          "  Order Mutual-failure\n"
          "  Allow from 10.0.0.0/8\n"
          "  Deny from 10.1.0.0/16\n"
          "</Directory>\n");
  const DirectorySection* a = find_dir(sc.main_server, "/srv/a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->access.order, AccessPolicy::Order::AllowDeny);
  EXPECT_FALSE(a->access.allows(v4("10.1.2.3")));
  EXPECT_TRUE(a->access.allows(v4("11.1.2.3")));

  const DirectorySection* b = find_dir(sc.main_server, "/srv/b");
  ASSERT_NE(b, nullptr);
  EXPECT_FALSE(b->access.allows(v4("10.1.2.3")));  // both: deny wins
  EXPECT_TRUE(b->access.allows(v4("10.2.2.3")));   // allowed only
  EXPECT_FALSE(b->access.allows(v4("11.2.2.3")));  // neither: default deny

  const DirectorySection* c = find_dir(sc.main_server, "/srv/c");
  ASSERT_NE(c, nullptr);
  EXPECT_FALSE(c->access.allows(v4("1.2.3.4")));

  const DirectorySection* d = find_dir(sc.main_server, "/srv/d");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->access.order, AccessPolicy::Order::MutualFailure);
  EXPECT_FALSE(d->access.allows(v4("10.1.2.3")));
  EXPECT_TRUE(d->access.allows(v4("10.2.2.3")));
  EXPECT_FALSE(d->access.allows(v4("11.2.2.3")));
}

TEST(Loader, LegacyAllowMatchesIpv4MappedClients) {
  LOAD_OK(sc,
          "Listen 8080\n<Location />\n  Order Deny,Allow\n  Deny from all\n  Allow from 127.0.0.1 ::1\n</Location>\n");
  const AccessPolicy& p = sc.main_server.locations.at(0).access;
  EXPECT_TRUE(p.allows(v6("::ffff:127.0.0.1")));
  EXPECT_TRUE(p.allows(v6("::1")));
  EXPECT_TRUE(p.allows(v4("127.0.0.1")));
  EXPECT_FALSE(p.allows(v4("127.0.0.2")));
}

TEST(Loader, RequireAndLegacyMustBothGrant) {
  LOAD_OK(sc,
          "Listen 8080\n"
          "<Location />\n"
          "  Require ip 10.0.0.0/8\n"
          "  Order Allow,Deny\n"
          "  Allow from 10.1.0.0/16\n"
          "</Location>\n");
  const AccessPolicy& p = sc.main_server.locations.at(0).access;
  EXPECT_TRUE(p.allows(v4("10.1.0.1")));
  EXPECT_FALSE(p.allows(v4("10.2.0.1")));  // Require grants, legacy denies
  EXPECT_FALSE(p.allows(v4("11.1.0.1")));
}

TEST(Loader, EmptyPolicyAllows) {
  AccessPolicy p;
  EXPECT_TRUE(p.empty());
  EXPECT_TRUE(p.allows(v4("1.2.3.4")));
  EXPECT_TRUE(p.allows(v6("2001:db8::1")));
}

TEST(Loader, AccessPolicyAllowsUnit) {
  // Require local grants loopback only.
  AccessPolicy p;
  p.require.push_back({RequireRule::Kind::Local, {}});
  EXPECT_FALSE(p.empty());
  EXPECT_TRUE(p.allows(v4("127.9.9.9")));
  EXPECT_TRUE(p.allows(v6("::1")));
  EXPECT_FALSE(p.allows(v4("10.0.0.1")));
  // AllDenied next to AllGranted: any rule granting wins (implicit RequireAny).
  AccessPolicy q;
  q.require.push_back({RequireRule::Kind::AllDenied, {}});
  q.require.push_back({RequireRule::Kind::AllGranted, {}});
  EXPECT_TRUE(q.allows(v4("10.0.0.1")));
}

TEST(Loader, AccessDirectivesInAVirtualHostLocation) {
  LOAD_OK(sc,
          "Listen 8080\n"
          "<VirtualHost *:8080>\n"
          "  <Location /admin>\n"
          "    Require ip 192.168.0.0/255.255.0.0\n"
          "  </Location>\n"
          "</VirtualHost>\n");
  ASSERT_EQ(sc.vhosts.size(), 1u);
  ASSERT_EQ(sc.vhosts[0].locations.size(), 1u);
  const AccessPolicy& p = sc.vhosts[0].locations[0].access;
  EXPECT_TRUE(p.allows(v4("192.168.44.1")));
  EXPECT_FALSE(p.allows(v4("192.169.0.1")));
  EXPECT_TRUE(sc.main_server.locations.empty());
}

// ---- server-wide directives in a vhost, RequestReadTimeout -----------------------------------------

TEST(Loader, ServerWideDirectiveInVirtualHostIsANotice) {
  LOAD_OK(sc,
          "Listen 8080\n"
          "Timeout 30\n"
          "<VirtualHost *:8080>\n"
          "  Timeout 5\n"
          "  KeepAlive Off\n"
          "</VirtualHost>\n");
  EXPECT_EQ(sc.timeout, Millis(30000));  // not changed by the vhost
  EXPECT_TRUE(sc.keep_alive);
  EXPECT_TRUE(has_notice(sc, "t.conf:4: Timeout in <VirtualHost> ignored")) << (sc.notices.empty() ? "" : sc.notices[0]);
  EXPECT_TRUE(has_notice(sc, "t.conf:5: KeepAlive in <VirtualHost> ignored"));
  EXPECT_TRUE(has_notice(sc, "set it at the top level"));
}

TEST(Loader, RequestReadTimeout) {
  LOAD_OK(sc, "Listen 8080\nRequestReadTimeout header=10-30,MinRate=100 body=5\n");
  EXPECT_EQ(sc.header_timeout.initial, Millis(10000));
  EXPECT_EQ(sc.header_timeout.maximum, Millis(30000));
  EXPECT_EQ(sc.header_timeout.min_rate, 100u);
  EXPECT_EQ(sc.body_timeout.initial, Millis(5000));
  EXPECT_EQ(sc.body_timeout.maximum, Millis(0));
  EXPECT_EQ(sc.body_timeout.min_rate, 0u);
}

TEST(Loader, RequestReadTimeoutPartialKeepsOtherDefaults) {
  LOAD_OK(sc, "Listen 8080\nrequestreadtimeout Header=0 handshake=5\n");
  EXPECT_EQ(sc.header_timeout.initial, Millis(0));  // disabled
  EXPECT_EQ(sc.header_timeout.maximum, Millis(0));
  EXPECT_EQ(sc.body_timeout.initial, Millis(20000));  // default untouched
  EXPECT_EQ(sc.body_timeout.min_rate, 500u);
}

TEST(Loader, RequestReadTimeoutDefaults) {
  LOAD_OK(sc, "Listen 8080\n");
  EXPECT_EQ(sc.header_timeout.initial, Millis(20000));
  EXPECT_EQ(sc.header_timeout.maximum, Millis(40000));
  EXPECT_EQ(sc.header_timeout.min_rate, 500u);
  EXPECT_EQ(sc.body_timeout.initial, Millis(20000));
  EXPECT_EQ(sc.body_timeout.maximum, Millis(0));
  EXPECT_EQ(sc.body_timeout.min_rate, 500u);
}

// ---- files, Include, IncludeOptional, relative paths -----------------------------------------------

TEST(LoaderFiles, LoadConfigFileResolvesRelativePathsAgainstItsDirectory) {
  root().write("site.conf",
               "Listen 8080\n"
               "DocumentRoot htdocs\n"
               "ErrorLog logs/error.log\n"
               "CustomLog ./logs/access.log common\n");
  LoadResult r = load_config_file(root() / "site.conf");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.config->config_file, root() / "site.conf");
  EXPECT_EQ(r.config->server_root, root().str());
  EXPECT_EQ(r.config->main_server.document_root, root() / "htdocs");
  EXPECT_EQ(r.config->error_log, root() / "logs/error.log");
  ASSERT_EQ(r.config->main_server.custom_logs.size(), 1u);
  EXPECT_EQ(r.config->main_server.custom_logs[0].path, root() / "logs/access.log");
}

TEST(LoaderFiles, ServerRootOptionOverridesTheFileDirectory) {
  root().write("sub/other.conf", "Listen 8080\nDocumentRoot site2\n");
  LoadOptions o;
  o.server_root = root().str();
  LoadResult r = load_config_file(root() / "sub/other.conf", o);
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.config->main_server.document_root, root() / "site2");
}

TEST(LoaderFiles, ServerRootDirectiveChangesTheBaseForLaterPaths) {
  root().write("sub/www/.keep", "");
  LoadResult r = load("Listen 8080\nServerRoot " + root() / "sub" + "\nDocumentRoot www\n");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.config->server_root, root() / "sub");
  EXPECT_EQ(r.config->main_server.document_root, root() / "sub/www");
}

TEST(LoaderFiles, IncludeRelativeToServerRoot) {
  root().write("conf.d/inc1/vhosts.conf",
               "<VirtualHost *:8080>\n"
               "  ServerName inc.example.com\n"
               "  DocumentRoot site2\n"
               "</VirtualHost>\n");
  LOAD_OK(sc, "Listen 8080\nInclude conf.d/inc1/vhosts.conf\n");
  ASSERT_EQ(sc.vhosts.size(), 1u);
  EXPECT_EQ(sc.vhosts[0].server_name, "inc.example.com");
  EXPECT_EQ(sc.vhosts[0].document_root, root() / "site2");
  EXPECT_EQ(sc.vhosts[0].where.file, root() / "conf.d/inc1/vhosts.conf");
  EXPECT_EQ(sc.vhosts[0].where.line, 1);
}

TEST(LoaderFiles, IncludeAbsolutePath) {
  root().write("conf.d/abs/t.conf", "Timeout 3\n");
  LOAD_OK(sc, "Listen 8080\nInclude " + root() / "conf.d/abs/t.conf" + "\n");
  EXPECT_EQ(sc.timeout, Millis(3000));
}

TEST(LoaderFiles, IncludeGlobInSortedOrder) {
  root().write("conf.d/glob/20-b.conf", "Timeout 20\n");
  root().write("conf.d/glob/10-a.conf", "Timeout 10\nKeepAliveTimeout 10\n");
  root().write("conf.d/glob/README", "this is not a config file\n");
  LOAD_OK(sc, "Listen 8080\nInclude conf.d/glob/*.conf\n");
  EXPECT_EQ(sc.timeout, Millis(20000));  // 20-b.conf read after 10-a.conf
  EXPECT_EQ(sc.keep_alive_timeout, Millis(10000));
}

TEST(LoaderFiles, IncludeOptionalWithGlobs) {
  root().write("conf.d/opt/a.conf", "KeepAliveTimeout 9\n");
  LOAD_OK(sc,
          "Listen 8080\n"
          "IncludeOptional conf.d/opt/*.conf\n"
          "IncludeOptional conf.d/opt/*.missing\n"
          "IncludeOptional conf.d/no-such-dir/*.conf\n"
          "IncludeOptional conf.d/opt/none.conf\n"
          "IncludeOptional empty.d/*\n");
  EXPECT_EQ(sc.keep_alive_timeout, Millis(9000));
}

TEST(LoaderFiles, IncludeADirectoryReadsEveryFile) {
  root().write("conf.d/dir/a", "Timeout 41\n");
  root().write("conf.d/dir/b", "KeepAliveTimeout 42\n");
  fs::create_directories(root() / "conf.d/dir/subdir");
  LOAD_OK(sc, "Listen 8080\nInclude conf.d/dir\n");
  EXPECT_EQ(sc.timeout, Millis(41000));
  EXPECT_EQ(sc.keep_alive_timeout, Millis(42000));
}

TEST(LoaderFiles, IncludeInsideASection) {
  root().write("conf.d/insec/dir.conf", "Require ip 10.0.0.0/8\n");
  LOAD_OK(sc, "Listen 8080\n<Directory /srv>\n  Include conf.d/insec/dir.conf\n</Directory>\n");
  const DirectorySection* d = find_dir(sc.main_server, "/srv");
  ASSERT_NE(d, nullptr);
  EXPECT_TRUE(d->access.allows(v4("10.0.0.1")));
  EXPECT_FALSE(d->access.allows(v4("11.0.0.1")));
}

TEST(LoaderFiles, ListenInAnIncludedFile) {
  root().write("conf.d/ports/ports.conf", "Listen 9999\n");
  LOAD_OK(sc, "Include conf.d/ports/ports.conf\n");
  ASSERT_EQ(sc.listens.size(), 1u);
  EXPECT_EQ(sc.listens[0].port, 9999);
}

TEST(LoaderFiles, CrlfConfigFile) {
  root().write("crlf.conf", "# windows\r\nListen 8080\r\nDocumentRoot \"htdocs\"\r\n<Directory />\r\n  Require all denied\r\n</Directory>\r\n");
  LoadResult r = load_config_file(root() / "crlf.conf");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.config->main_server.document_root, root() / "htdocs");
  ASSERT_EQ(r.config->main_server.directories.size(), 1u);
}

TEST(LoaderFiles, RealisticHttpdConf) {
  root().write("httpd.conf",
               "# Pillar test configuration\n"
               "ServerRoot \"" + root().str() + "\"\n"
               "Listen 127.0.0.1:8080\n"
               "LoadModule mpm_event_module modules/mod_mpm_event.so\n"
               "LoadModule authz_core_module modules/mod_authz_core.so\n"
               "<IfModule unixd_module>\n"
               "</IfModule>\n"
               "ServerAdmin you@example.com\n"
               "ServerName localhost:8080\n"
               "<Directory />\n"
               "    AllowOverride None\n"
               "    Require all denied\n"
               "</Directory>\n"
               "DocumentRoot \"" + root() / "htdocs" + "\"\n"
               "<Directory \"" + root() / "htdocs" + "\">\n"
               "    Options Indexes FollowSymLinks\n"
               "    AllowOverride None\n"
               "    Require all granted\n"
               "</Directory>\n"
               "<IfModule dir_module>\n"
               "    DirectoryIndex index.html\n"
               "</IfModule>\n"
               "<Files \".ht*\">\n"
               "    Require all denied\n"
               "</Files>\n"
               "ErrorLog \"logs/error_log\"\n"
               "LogLevel warn\n"
               "<IfModule log_config_module>\n"
               "    LogFormat \"%h %l %u %t \\\"%r\\\" %>s %b \\\"%{Referer}i\\\" \\\"%{User-Agent}i\\\"\" combined\n"
               "    LogFormat \"%h %l %u %t \\\"%r\\\" %>s %b\" common\n"
               "    CustomLog \"logs/access_log\" common\n"
               "</IfModule>\n"
               "<IfModule mime_module>\n"
               "    AddType application/x-compress .Z\n"
               "    AddType application/x-gzip .gz .tgz\n"
               "</IfModule>\n"
               "IncludeOptional conf.d/none-here/*.conf\n");
  LoadResult r = load_config_file(root() / "httpd.conf");
  ASSERT_TRUE(r.ok()) << dump(r);
  const ServerConfig& sc = *r.config;
  EXPECT_EQ(sc.main_server.server_name, "localhost");
  EXPECT_EQ(sc.main_server.directories.size(), 2u);
  EXPECT_EQ(sc.main_server.directories[0].path, "/");
  EXPECT_EQ(sc.main_server.files.size(), 1u);
  EXPECT_EQ(sc.main_server.custom_logs.at(0).format, "%h %l %u %t \"%r\" %>s %b");
  EXPECT_EQ(sc.main_server.add_types.at(".tgz"), "application/x-gzip");
  EXPECT_EQ(sc.main_server.add_types.at(".z"), "application/x-compress");
  // Modules Pillar has are accepted silently.
  EXPECT_FALSE(has_notice(sc, "LoadModule mpm_event_module"));
  EXPECT_FALSE(has_notice(sc, "LoadModule authz_core_module"));
}

}  // namespace
