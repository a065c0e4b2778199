// Unit tests for directives/deflate.cpp: mod_deflate's settings, the
// directives that name its DEFLATE filter (AddOutputFilterByType in the
// form Debian's deflate.conf writes, SetOutputFilter, AddOutputFilter,
// RemoveOutputFilter) in the contexts Apache allows, and errors with the
// line and the fix.
#include <gtest/gtest.h>

#include <string>

#include "config/loader.h"
#include "config_text.h"

using namespace pillar::config;

namespace {

using config_text::errors;
using config_text::load;

TEST(DeflateDirectives, DebiansDeflateConf) {
  auto r = load("LoadModule deflate_module /usr/lib/apache2/modules/mod_deflate.so\n"
                "<IfModule mod_deflate.c>\n<IfModule mod_filter.c>\n"
                "AddOutputFilterByType DEFLATE text/html text/plain text/xml text/css text/javascript\n"
                "AddOutputFilterByType DEFLATE application/x-javascript application/javascript application/ecmascript\n"
                "AddOutputFilterByType DEFLATE application/rss+xml\nAddOutputFilterByType DEFLATE Application/XML\n"
                "AddOutputFilterByType DEFLATE text/html\n"
                "</IfModule>\n</IfModule>\n");
  ASSERT_TRUE(r.ok()) << errors(r);
  EXPECT_TRUE(r.config->notices.empty()) << r.config->notices[0];  // present: no LoadModule notice
  const auto& f = r.config->main_server.output_filters;
  EXPECT_EQ(f.deflate.types,
            (std::vector<std::string>{"text/html", "text/plain", "text/xml", "text/css", "text/javascript",
                                      "application/x-javascript", "application/javascript", "application/ecmascript",
                                      "application/rss+xml", "application/xml"}));
  EXPECT_TRUE(r.config->main_server.output_filters_anywhere);
}

TEST(DeflateDirectives, SectionsAndVhostsKeepTheirOwn) {
  auto r = load("DeflateCompressionLevel 9\nDeflateMemLevel 8\nDeflateWindowSize 12\nDeflateBufferSize 16K\n"
                "DeflateAlterETag Remove\n"
                "<Directory /srv/www>\n  SetOutputFilter DEFLATE\n  <Files \"*.log\">\n    AddOutputFilter DEFLATE log .TXT\n"
                "  </Files>\n</Directory>\n"
                "<Location /api>\n  AddOutputFilterByType DEFLATE;DEFLATE application/json\n  RemoveOutputFilter .txt\n"
                "</Location>\n"
                "<VirtualHost *:80>\n  ServerName v\n  DeflateCompressionLevel 1\n  DeflateAlterETag NoChange\n"
                "</VirtualHost>\n");
  ASSERT_TRUE(r.ok()) << errors(r);
  const auto& m = r.config->main_server;
  EXPECT_EQ(m.deflate.level, 9);
  EXPECT_EQ(m.deflate.mem_level, 8);
  EXPECT_EQ(m.deflate.window_bits, 12);
  EXPECT_EQ(m.deflate.buffer_size, 16u * 1024);
  EXPECT_EQ(m.deflate.alter_etag, DeflateSettings::AlterETag::Remove);
  EXPECT_TRUE(m.output_filters_anywhere);
  ASSERT_EQ(m.directories.size(), 1u);
  EXPECT_EQ(m.directories[0].output_filters.deflate.set, true);
  const auto& files = m.directories[0].files.at(0).output_filters;
  EXPECT_EQ(files.deflate.extensions,
            (std::vector<std::pair<std::string, bool>>{{".log", true}, {".txt", true}}));
  const auto& loc = m.locations.at(0).output_filters;
  EXPECT_EQ(loc.deflate.types, std::vector<std::string>{"application/json"});
  EXPECT_EQ(loc.deflate.extensions, (std::vector<std::pair<std::string, bool>>{{".txt", false}}));
  const auto& v = r.config->vhosts.at(0);
  EXPECT_EQ(v.deflate.level, 1);         // its own
  EXPECT_EQ(v.deflate.mem_level, 8);     // inherited
  EXPECT_EQ(v.deflate.alter_etag, DeflateSettings::AlterETag::NoChange);
  EXPECT_TRUE(v.output_filters_anywhere);  // the main server's sections are its defaults too
}

// mod_brotli's recipe from its manual: Brotli for clients that take it,
// gzip for the others, on the same types.
TEST(DeflateDirectives, BrotliBesideDeflate) {
  auto r = load("LoadModule brotli_module modules/mod_brotli.so\n"
                "<IfModule mod_brotli.c>\n  AddOutputFilterByType BROTLI_COMPRESS;DEFLATE text/html text/plain\n"
                "</IfModule>\nBrotliCompressionQuality 7\nBrotliCompressionWindow 20\nBrotliCompressionMaxInputBlock 18\n"
                "BrotliAlterETag NoChange\n<Location /br>\n  SetOutputFilter BROTLI_COMPRESS\n</Location>\n");
  ASSERT_TRUE(r.ok()) << errors(r);
  EXPECT_TRUE(r.config->notices.empty()) << r.config->notices[0];
  const auto& m = r.config->main_server;
  EXPECT_EQ(m.output_filters.brotli.types, (std::vector<std::string>{"text/html", "text/plain"}));
  EXPECT_EQ(m.output_filters.deflate.types, (std::vector<std::string>{"text/html", "text/plain"}));
  EXPECT_EQ(m.brotli.quality, 7);
  EXPECT_EQ(m.brotli.window, 20);
  EXPECT_EQ(m.brotli.max_input_block, 18);
  EXPECT_EQ(m.brotli.alter_etag, DeflateSettings::AlterETag::NoChange);
  const auto& loc = m.locations.at(0).output_filters;
  EXPECT_EQ(loc.brotli.set, true);
  EXPECT_EQ(loc.deflate.set, false) << "SetOutputFilter names the whole list";
  for (const char* bad : {"BrotliCompressionQuality 12\n", "BrotliCompressionWindow 9\n", "BrotliAlterETag Maybe\n"}) {
    auto e = load(bad);
    EXPECT_FALSE(e.ok()) << bad;
    EXPECT_NE(errors(e).find("t.conf:2: Brotli"), std::string::npos) << errors(e);
  }
}

TEST(DeflateDirectives, WithoutAnyFilterNoVhostLooks) {
  auto r = load("DeflateCompressionLevel 3\n<VirtualHost *:80>\nServerName v\n</VirtualHost>\n");
  ASSERT_TRUE(r.ok()) << errors(r);
  EXPECT_FALSE(r.config->main_server.output_filters_anywhere);
  EXPECT_FALSE(r.config->vhosts.at(0).output_filters_anywhere);
}

TEST(DeflateDirectives, ErrorsNameTheLineAndTheFix) {
  struct Bad {
    const char* text;
    const char* message;
  };
  const Bad cases[] = {
      {"AddOutputFilterByType INCLUDES text/html\n",
       "t.conf:2: AddOutputFilterByType: the output filter 'INCLUDES' is not available in Pillar, which has DEFLATE (mod_deflate), BROTLI_COMPRESS (mod_brotli) and RATE_LIMIT (mod_ratelimit) only"},
      {"SetOutputFilter DEFLATE;SUBSTITUTE\n", "t.conf:2: SetOutputFilter: the output filter 'SUBSTITUTE'"},
      {"AddOutputFilterByType DEFLATE html\n", "t.conf:2: AddOutputFilterByType 'html': expected a media type"},
      {"AddOutputFilterByType DEFLATE\n", "t.conf:2: AddOutputFilterByType takes at least 2 argument(s)"},
      {"DeflateCompressionLevel 10\n", "t.conf:2: DeflateCompressionLevel must be between 1 and 9"},
      {"DeflateMemLevel 0\n", "t.conf:2: DeflateMemLevel must be between 1 and 9"},
      {"DeflateWindowSize 16\n", "t.conf:2: DeflateWindowSize must be between 1 and 15"},
      {"DeflateBufferSize 0\n", "t.conf:2: DeflateBufferSize should be positive"},
      {"DeflateAlterETag Sometimes\n", "t.conf:2: DeflateAlterETag accepts only 'NoChange', 'AddSuffix', and 'Remove'"},
      {"<Location />\nDeflateCompressionLevel 5\n</Location>\n",
       "t.conf:3: DeflateCompressionLevel is not allowed in <Location>"},
      {"AddOutputFilter DEFLATE a/b\n", "t.conf:2: AddOutputFilter 'a/b': expected a file extension"},
  };
  for (const auto& b : cases) {
    auto r = load(b.text);
    ASSERT_FALSE(r.ok()) << b.text;
    EXPECT_NE(errors(r).find(b.message), std::string::npos) << errors(r);
  }
}

}  // namespace
