// Unit tests for src/config/lexer.cpp: physical lines -> logical lines ->
// words, as Apache's ap_cfg_getline + ap_getword_conf do.
#include "config/lexer.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

using pillar::config::ConfigError;
using pillar::config::ConfigLine;
using pillar::config::lex_config;
using Kind = pillar::config::ConfigLine::Kind;
using Words = std::vector<std::string>;

namespace {

struct Lexed {
  std::vector<ConfigLine> lines;
  std::vector<ConfigError> errors;
};

Lexed lex(std::string_view text, const std::string& file = "httpd.conf") {
  Lexed r;
  lex_config(text, file, r.lines, r.errors);
  return r;
}

std::string dump_errors(const std::vector<ConfigError>& errors) {
  std::string s;
  for (const auto& e : errors) s += e.to_string() + "\n";
  return s;
}

TEST(Lexer, EmptyInput) {
  auto r = lex("");
  EXPECT_TRUE(r.lines.empty());
  EXPECT_TRUE(r.errors.empty());
  r = lex("\n\n   \n\t\n");
  EXPECT_TRUE(r.lines.empty());
  EXPECT_TRUE(r.errors.empty());
}

TEST(Lexer, SimpleDirectiveSplitsOnWhitespace) {
  auto r = lex("DirectoryIndex  index.html\tindex.htm   default.htm\n");
  ASSERT_TRUE(r.errors.empty()) << dump_errors(r.errors);
  ASSERT_EQ(r.lines.size(), 1u);
  EXPECT_EQ(r.lines[0].kind, Kind::Directive);
  EXPECT_EQ(r.lines[0].name, "DirectoryIndex");
  EXPECT_EQ(r.lines[0].args, (Words{"index.html", "index.htm", "default.htm"}));
  EXPECT_EQ(r.lines[0].line, 1);
}

TEST(Lexer, LastLineWithoutNewline) {
  auto r = lex("Listen 80\nTimeout 30");
  ASSERT_TRUE(r.errors.empty()) << dump_errors(r.errors);
  ASSERT_EQ(r.lines.size(), 2u);
  EXPECT_EQ(r.lines[1].name, "Timeout");
  EXPECT_EQ(r.lines[1].args, (Words{"30"}));
  EXPECT_EQ(r.lines[1].line, 2);
}

TEST(Lexer, CommentsAndBlankLinesAreSkippedButCounted) {
  auto r = lex("# a comment\n"
               "\n"
               "   # an indented comment\n"
               "\t#tab-indented\n"
               "Listen 80\n"
               "#Listen 81\n"
               "Timeout 30\n");
  ASSERT_TRUE(r.errors.empty()) << dump_errors(r.errors);
  ASSERT_EQ(r.lines.size(), 2u);
  EXPECT_EQ(r.lines[0].name, "Listen");
  EXPECT_EQ(r.lines[0].line, 5);
  EXPECT_EQ(r.lines[1].name, "Timeout");
  EXPECT_EQ(r.lines[1].line, 7);
}

// Apache: "#" starts a comment only at the beginning of a line; a '#' after a
// directive is an argument (which the directive then usually refuses).
TEST(Lexer, HashAfterADirectiveIsNotAComment) {
  auto r = lex("Listen 80 # the web port\n");
  ASSERT_TRUE(r.errors.empty()) << dump_errors(r.errors);
  ASSERT_EQ(r.lines.size(), 1u);
  EXPECT_EQ(r.lines[0].args, (Words{"80", "#", "the", "web", "port"}));
}

TEST(Lexer, LeadingIndentationIsIgnored) {
  auto r = lex("    Options Indexes\n\t\tRequire all granted   \n");
  ASSERT_TRUE(r.errors.empty()) << dump_errors(r.errors);
  ASSERT_EQ(r.lines.size(), 2u);
  EXPECT_EQ(r.lines[0].name, "Options");
  EXPECT_EQ(r.lines[1].name, "Require");
  EXPECT_EQ(r.lines[1].args, (Words{"all", "granted"}));
}

TEST(Lexer, DoubleQuotedArgumentKeepsSpaces) {
  auto r = lex("DocumentRoot \"/srv/my site/htdocs\"\n");
  ASSERT_TRUE(r.errors.empty()) << dump_errors(r.errors);
  ASSERT_EQ(r.lines.size(), 1u);
  EXPECT_EQ(r.lines[0].args, (Words{"/srv/my site/htdocs"}));
}

TEST(Lexer, EscapedQuotesInsideDoubleQuotes) {
  auto r = lex(R"(LogFormat "%h %l %u %t \"%r\" %>s %b" common)"
               "\n");
  ASSERT_TRUE(r.errors.empty()) << dump_errors(r.errors);
  ASSERT_EQ(r.lines.size(), 1u);
  EXPECT_EQ(r.lines[0].name, "LogFormat");
  EXPECT_EQ(r.lines[0].args, (Words{R"(%h %l %u %t "%r" %>s %b)", "common"}));
}

TEST(Lexer, EscapedBackslashInsideQuotes) {
  auto r = lex(R"(ErrorDocument 500 "a\\b \q")"
               "\n");
  ASSERT_TRUE(r.errors.empty()) << dump_errors(r.errors);
  ASSERT_EQ(r.lines.size(), 1u);
  // "\\" -> "\", other escapes are kept as written (as ap_getword_conf).
  EXPECT_EQ(r.lines[0].args, (Words{"500", R"(a\b \q)"}));
}

TEST(Lexer, SingleQuotes) {
  auto r = lex("ErrorDocument 404 'Not \"found\" here'\n"
               "ErrorDocument 403 'it\\'s forbidden'\n");
  ASSERT_TRUE(r.errors.empty()) << dump_errors(r.errors);
  ASSERT_EQ(r.lines.size(), 2u);
  EXPECT_EQ(r.lines[0].args, (Words{"404", "Not \"found\" here"}));
  EXPECT_EQ(r.lines[1].args, (Words{"403", "it's forbidden"}));
}

TEST(Lexer, EmptyQuotedArgument) {
  auto r = lex("ServerName \"\"\n");
  ASSERT_TRUE(r.errors.empty()) << dump_errors(r.errors);
  ASSERT_EQ(r.lines.size(), 1u);
  EXPECT_EQ(r.lines[0].args, (Words{""}));
}

TEST(Lexer, UnterminatedDoubleQuoteIsAnErrorOnItsLine) {
  auto r = lex("Listen 80\n\nDocumentRoot \"/srv/www\nTimeout 30\n", "site.conf");
  ASSERT_EQ(r.errors.size(), 1u) << dump_errors(r.errors);
  EXPECT_EQ(r.errors[0].file, "site.conf");
  EXPECT_EQ(r.errors[0].line, 3);
  EXPECT_NE(r.errors[0].message.find("unterminated double quote"), std::string::npos) << r.errors[0].message;
  EXPECT_NE(r.errors[0].message.find("close the argument with \""), std::string::npos) << r.errors[0].message;
  // The lines around it still lex.
  ASSERT_EQ(r.lines.size(), 2u);
  EXPECT_EQ(r.lines[0].name, "Listen");
  EXPECT_EQ(r.lines[1].name, "Timeout");
  EXPECT_EQ(r.lines[1].line, 4);
}

TEST(Lexer, UnterminatedSingleQuote) {
  auto r = lex("ErrorDocument 404 'oops\n");
  ASSERT_EQ(r.errors.size(), 1u) << dump_errors(r.errors);
  EXPECT_EQ(r.errors[0].line, 1);
  EXPECT_NE(r.errors[0].message.find("unterminated single quote"), std::string::npos) << r.errors[0].message;
}

TEST(Lexer, QuoteEndingInEscapedQuoteIsUnterminated) {
  auto r = lex("ErrorDocument 404 \"oops\\\"\n");
  ASSERT_EQ(r.errors.size(), 1u) << dump_errors(r.errors);
  EXPECT_NE(r.errors[0].message.find("unterminated"), std::string::npos);
}

TEST(Lexer, BackslashContinuationJoinsLinesAndKeepsTheFirstLineNumber) {
  auto r = lex("# header\n"
               "DirectoryIndex index.html \\\n"
               "               index.htm \\\n"
               "               default.htm\n"
               "Timeout 30\n");
  ASSERT_TRUE(r.errors.empty()) << dump_errors(r.errors);
  ASSERT_EQ(r.lines.size(), 2u);
  EXPECT_EQ(r.lines[0].name, "DirectoryIndex");
  EXPECT_EQ(r.lines[0].args, (Words{"index.html", "index.htm", "default.htm"}));
  EXPECT_EQ(r.lines[0].line, 2);
  EXPECT_EQ(r.lines[1].name, "Timeout");
  EXPECT_EQ(r.lines[1].line, 5);
}

TEST(Lexer, ContinuationInsideQuotes) {
  auto r = lex("LogFormat \"%h %l \\\n   %u\" mine\n");
  ASSERT_TRUE(r.errors.empty()) << dump_errors(r.errors);
  ASSERT_EQ(r.lines.size(), 1u);
  ASSERT_EQ(r.lines[0].args.size(), 2u);
  EXPECT_EQ(r.lines[0].args[1], "mine");
  EXPECT_EQ(r.lines[0].args[0].rfind("%h %l", 0), 0u);
  EXPECT_NE(r.lines[0].args[0].find("%u"), std::string::npos);
}

TEST(Lexer, ContinuationOnTheLastLine) {
  auto r = lex("Listen 80 \\");
  ASSERT_TRUE(r.errors.empty()) << dump_errors(r.errors);
  ASSERT_EQ(r.lines.size(), 1u);
  EXPECT_EQ(r.lines[0].args, (Words{"80"}));
  EXPECT_EQ(r.lines[0].line, 1);
}

TEST(Lexer, ContinuationOfAnErrorLineReportsTheFirstLine) {
  auto r = lex("Listen 80\nDocumentRoot \\\n  \"/srv/www\n");
  ASSERT_EQ(r.errors.size(), 1u) << dump_errors(r.errors);
  EXPECT_EQ(r.errors[0].line, 2);
}

// Apache (ap_cfg_getline) removes the backslash and the newline and nothing
// else: the next physical line is appended as is, with no space inserted.
TEST(Lexer, ContinuationJoinsWithoutInsertingASpaceAsApache) {
  auto r = lex("DirectoryIndex index.\\\nhtml\n");
  ASSERT_TRUE(r.errors.empty()) << dump_errors(r.errors);
  ASSERT_EQ(r.lines.size(), 1u);
  EXPECT_EQ(r.lines[0].args, (Words{"index.html"}));
}

// Apache manual (configuring.html): "There must be no other characters or
// white space between the backslash and the end of the line." A backslash
// followed by blanks is not a continuation.
TEST(Lexer, BackslashFollowedByBlanksIsNotAContinuationAsApache) {
  auto r = lex("ServerAdmin a\\ \nTimeout 30\n");
  ASSERT_TRUE(r.errors.empty()) << dump_errors(r.errors);
  ASSERT_EQ(r.lines.size(), 2u);
  EXPECT_EQ(r.lines[0].name, "ServerAdmin");
  EXPECT_EQ(r.lines[1].name, "Timeout");
  EXPECT_EQ(r.lines[1].line, 2);
}

TEST(Lexer, SectionOpenAndClose) {
  auto r = lex("<Directory \"/srv/www\">\n"
               "  Require all granted\n"
               "</Directory>\n");
  ASSERT_TRUE(r.errors.empty()) << dump_errors(r.errors);
  ASSERT_EQ(r.lines.size(), 3u);
  EXPECT_EQ(r.lines[0].kind, Kind::SectionOpen);
  EXPECT_EQ(r.lines[0].name, "Directory");
  EXPECT_EQ(r.lines[0].args, (Words{"/srv/www"}));
  EXPECT_EQ(r.lines[0].line, 1);
  EXPECT_EQ(r.lines[1].kind, Kind::Directive);
  EXPECT_EQ(r.lines[1].line, 2);
  EXPECT_EQ(r.lines[2].kind, Kind::SectionClose);
  EXPECT_EQ(r.lines[2].name, "Directory");
  EXPECT_TRUE(r.lines[2].args.empty());
  EXPECT_EQ(r.lines[2].line, 3);
}

TEST(Lexer, SectionWithSeveralArgumentsAndQuotedGreaterThan) {
  auto r = lex("<VirtualHost *:80 [::1]:8080>\n"
               "<IfModule !mod_foo.c>\n"
               "<Files \"a b>c\">\n"
               "</Files >\n"
               "</IfModule>\n"
               "</VirtualHost>\n");
  ASSERT_TRUE(r.errors.empty()) << dump_errors(r.errors);
  ASSERT_EQ(r.lines.size(), 6u);
  EXPECT_EQ(r.lines[0].name, "VirtualHost");
  EXPECT_EQ(r.lines[0].args, (Words{"*:80", "[::1]:8080"}));
  EXPECT_EQ(r.lines[1].name, "IfModule");
  EXPECT_EQ(r.lines[1].args, (Words{"!mod_foo.c"}));
  EXPECT_EQ(r.lines[2].args, (Words{"a b>c"}));
  EXPECT_EQ(r.lines[3].kind, Kind::SectionClose);
  EXPECT_EQ(r.lines[3].name, "Files");
  EXPECT_EQ(r.lines[5].kind, Kind::SectionClose);
  EXPECT_EQ(r.lines[5].name, "VirtualHost");
}

TEST(Lexer, SectionOpenWithoutArguments) {
  auto r = lex("<RequireAll>\n</RequireAll>\n");
  ASSERT_TRUE(r.errors.empty()) << dump_errors(r.errors);
  ASSERT_EQ(r.lines.size(), 2u);
  EXPECT_EQ(r.lines[0].kind, Kind::SectionOpen);
  EXPECT_EQ(r.lines[0].name, "RequireAll");
  EXPECT_TRUE(r.lines[0].args.empty());
}

TEST(Lexer, SectionLineMissingClosingBracket) {
  auto r = lex("Listen 80\n<Directory /srv/www\n");
  ASSERT_EQ(r.errors.size(), 1u) << dump_errors(r.errors);
  EXPECT_EQ(r.errors[0].line, 2);
  EXPECT_NE(r.errors[0].message.find("must end with '>'"), std::string::npos) << r.errors[0].message;
  EXPECT_NE(r.errors[0].message.find("<Directory \"/srv/www\">"), std::string::npos) << "shows an example";
}

TEST(Lexer, EmptySectionTags) {
  for (std::string_view t : {"<>\n", "</>\n", "<  >\n"}) {
    auto r = lex(t);
    ASSERT_EQ(r.errors.size(), 1u) << t << dump_errors(r.errors);
    EXPECT_EQ(r.errors[0].line, 1);
    EXPECT_NE(r.errors[0].message.find("empty section tag"), std::string::npos) << r.errors[0].message;
    EXPECT_TRUE(r.lines.empty());
  }
}

TEST(Lexer, CrlfFiles) {
  auto r = lex("# comment\r\n"
               "Listen 80\r\n"
               "\r\n"
               "<Directory \"/srv/www\">\r\n"
               "  Options Indexes \\\r\n"
               "     FollowSymLinks\r\n"
               "</Directory>\r\n");
  ASSERT_TRUE(r.errors.empty()) << dump_errors(r.errors);
  ASSERT_EQ(r.lines.size(), 4u);
  EXPECT_EQ(r.lines[0].name, "Listen");
  EXPECT_EQ(r.lines[0].args, (Words{"80"}));
  EXPECT_EQ(r.lines[0].line, 2);
  EXPECT_EQ(r.lines[1].kind, Kind::SectionOpen);
  EXPECT_EQ(r.lines[1].args, (Words{"/srv/www"}));
  EXPECT_EQ(r.lines[1].line, 4);
  EXPECT_EQ(r.lines[2].name, "Options");
  EXPECT_EQ(r.lines[2].args, (Words{"Indexes", "FollowSymLinks"}));
  EXPECT_EQ(r.lines[2].line, 5);
  EXPECT_EQ(r.lines[3].kind, Kind::SectionClose);
  EXPECT_EQ(r.lines[3].name, "Directory");
  EXPECT_EQ(r.lines[3].line, 7);
  for (const auto& l : r.lines) {
    EXPECT_EQ(l.name.find('\r'), std::string::npos);
    for (const auto& a : l.args) EXPECT_EQ(a.find('\r'), std::string::npos) << a;
  }
}

TEST(Lexer, NulByteIsAnError) {
  std::string text = "Listen 80\nTime";
  text.push_back('\0');
  text += "out 30\nKeepAlive On\n";
  auto r = lex(text);
  ASSERT_EQ(r.errors.size(), 1u) << dump_errors(r.errors);
  EXPECT_EQ(r.errors[0].line, 2);
  EXPECT_NE(r.errors[0].message.find("NUL"), std::string::npos);
  ASSERT_EQ(r.lines.size(), 2u);
  EXPECT_EQ(r.lines[1].name, "KeepAlive");
  EXPECT_EQ(r.lines[1].line, 3);
}

TEST(Lexer, ErrorsCarryTheFileName) {
  auto r = lex("<>\n", "/etc/pillar/conf.d/x.conf");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].file, "/etc/pillar/conf.d/x.conf");
  EXPECT_EQ(r.errors[0].to_string().rfind("/etc/pillar/conf.d/x.conf:1: ", 0), 0u) << r.errors[0].to_string();
}

TEST(Lexer, AppendsToExistingOutput) {
  std::vector<ConfigLine> out;
  std::vector<ConfigError> errors;
  lex_config("Listen 80\n", "a.conf", out, errors);
  lex_config("Listen 81\n", "b.conf", out, errors);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].args, (Words{"80"}));
  EXPECT_EQ(out[1].args, (Words{"81"}));
  EXPECT_EQ(out[1].line, 1);
}

}  // namespace
