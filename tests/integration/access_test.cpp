// Access control (Require, Order/Allow/Deny) and ErrorDocument.
#include "test_common.h"

namespace itest {
namespace {

class Access : public ::testing::Test {
 protected:
  TempTree tree;
  std::string docroot = tree.mkdir("www");

  void SetUp() override {
    tree.write("www/open.txt", "open\n");
    tree.write("www/private/secret.txt", "secret\n");
    tree.write("www/errors/404.html", "<h1>custom 404 page</h1>\n");
    tree.write("www/errors/403.html", "<h1>custom 403 page</h1>\n");
  }
  std::string dir(const std::string& body) const {
    return "<Directory \"" + docroot + "/private\">\n" + body + "</Directory>\n";
  }
  int status(const ServerProcess& srv, const std::string& path) { return curl_get(srv.base_url() + path).status; }
};

TEST_F(Access, RequireIpLoopbackGranted) {
  START_SERVER(srv, basic_config(docroot, dir("  Require ip 127.0.0.1\n")));
  EXPECT_EQ(status(srv, "/private/secret.txt"), 200);
}

TEST_F(Access, RequireIpCidrGranted) {
  START_SERVER(srv, basic_config(docroot, dir("  Require ip 127.0.0.0/8\n")));
  EXPECT_EQ(status(srv, "/private/secret.txt"), 200);
}

TEST_F(Access, RequireIpOtherNetworkDenied) {
  START_SERVER(srv, basic_config(docroot, dir("  Require ip 10.0.0.0/8\n")));
  CurlResult r = curl_get(srv.base_url() + "/private/secret.txt");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body.find("secret\n"), std::string::npos);
  EXPECT_EQ(status(srv, "/open.txt"), 200);
}

TEST_F(Access, RequireLocal) {
  START_SERVER(srv, basic_config(docroot, dir("  Require local\n")));
  EXPECT_EQ(status(srv, "/private/secret.txt"), 200);
}

TEST_F(Access, RequireAllDeniedInLocation) {
  START_SERVER(srv, basic_config(docroot, "<Location /private>\n  Require all denied\n</Location>\n"));
  EXPECT_EQ(status(srv, "/private/secret.txt"), 403);
  EXPECT_EQ(status(srv, "/open.txt"), 200);
}

TEST_F(Access, RequireAllDeniedInDirectoryCoversSubdirectories) {
  tree.write("www/private/sub/deeper.txt", "deep");
  START_SERVER(srv, basic_config(docroot, dir("  Require all denied\n")));
  EXPECT_EQ(status(srv, "/private/secret.txt"), 403);
  EXPECT_EQ(status(srv, "/private/sub/deeper.txt"), 403);
  // Not reachable through encoded or dot-segment paths either.
  EXPECT_EQ(raw_get(srv.port(), "/%70rivate/secret.txt").first().status, 403);
  EXPECT_EQ(raw_get(srv.port(), "/open/../private/secret.txt").first().status, 403);
  EXPECT_EQ(raw_get(srv.port(), "//private//secret.txt").first().status, 403);
}

TEST_F(Access, OrderDenyAllowDenyFromAll) {
  START_SERVER(srv, basic_config(docroot, dir("  Order Deny,Allow\n  Deny from all\n")));
  EXPECT_EQ(status(srv, "/private/secret.txt"), 403);
  EXPECT_EQ(status(srv, "/open.txt"), 200);
}

TEST_F(Access, OrderDenyAllowAllowOverridesDeny) {
  START_SERVER(srv, basic_config(docroot, dir("  Order Deny,Allow\n  Deny from all\n  Allow from 127.0.0.1\n")));
  EXPECT_EQ(status(srv, "/private/secret.txt"), 200);
}

TEST_F(Access, OrderAllowDenyDefaultsToDeny) {
  START_SERVER(srv, basic_config(docroot, dir("  Order Allow,Deny\n  Allow from 10.0.0.0/8\n")));
  EXPECT_EQ(status(srv, "/private/secret.txt"), 403);
}

TEST_F(Access, OrderAllowDenyDenyWins) {
  START_SERVER(srv, basic_config(docroot, dir("  Order Allow,Deny\n  Allow from all\n  Deny from 127.0.0.1\n")));
  EXPECT_EQ(status(srv, "/private/secret.txt"), 403);
}

TEST_F(Access, ErrorDocumentText) {
  START_SERVER(srv, basic_config(docroot, "ErrorDocument 404 \"Nothing to see here\"\n"));
  CurlResult r = curl_get(srv.base_url() + "/missing.txt");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("Nothing to see here"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find('"'), std::string::npos) << "the quotes are not part of the message: " << r.body;
}

TEST_F(Access, ErrorDocumentLocalPath) {
  START_SERVER(srv, basic_config(docroot, "ErrorDocument 404 /errors/404.html\n"));
  CurlResult r = curl_get(srv.base_url() + "/missing.txt");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "<h1>custom 404 page</h1>\n");
  EXPECT_TRUE(r.header("Content-Type").rfind("text/html", 0) == 0) << r.header("Content-Type");
  // HEAD gets the status but no body.
  CurlResult h = curl_head(srv.base_url() + "/missing.txt");
  EXPECT_EQ(h.status, 404);
  EXPECT_EQ(h.body, "");
}

TEST_F(Access, ErrorDocumentForForbidden) {
  START_SERVER(srv, basic_config(docroot, dir("  Require all denied\n") + "ErrorDocument 403 /errors/403.html\n"));
  CurlResult r = curl_get(srv.base_url() + "/private/secret.txt");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body, "<h1>custom 403 page</h1>\n");
}

TEST_F(Access, ErrorDocumentMissingLocalPathFallsBack) {
  START_SERVER(srv, basic_config(docroot, "ErrorDocument 404 /errors/none.html\n"));
  CurlResult r = curl_get(srv.base_url() + "/missing.txt");
  EXPECT_EQ(r.status, 404);
  EXPECT_FALSE(r.body.empty());
}

TEST_F(Access, ErrorDocumentRemoteUrlRedirects) {
  START_SERVER(srv, basic_config(docroot, "ErrorDocument 404 http://errors.example/notfound\n"));
  CurlResult r = curl_get(srv.base_url() + "/missing.txt");
  EXPECT_EQ(r.status, 302);
  EXPECT_EQ(r.header("Location"), "http://errors.example/notfound");
}

}  // namespace
}  // namespace itest
