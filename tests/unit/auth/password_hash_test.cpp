// Each htpasswd format checked against hashes htpasswd (apache2-utils)
// made: apr1-MD5 (-m), bcrypt (-B), SHA-1 (-s), crypt (-d), SHA-256/512
// crypt (-2/-5), and plain text (-p), which Apache refuses on Unix. The
// fixed vectors were printed by `htpasswd -nb`; the runtime ones are made
// by htpasswd now, when it is installed, with fresh salts.
#include "auth/password_hash.h"

#include <cstdio>
#include <string>

#include <gtest/gtest.h>

#include "auth/apr1_md5.h"

namespace pillar::auth {
namespace {

struct Vector {
  HashFormat format;
  const char* password;
  const char* hash;
};

// htpasswd -nb alice 'open sesame' with -m, -B, -s, -d, -p; -5 and -2 for carol/secret;
// -B -C 4 for a password with colons.
const Vector kVectors[] = {
    {HashFormat::Apr1, "open sesame", "$apr1$TAYfSigc$tfn1/65hvdL46Rc9hQwKf1"},
    {HashFormat::Bcrypt, "open sesame", "$2y$05$a6U/W2Pe/2xWIfoWE06GtOPFkHT6.KWQfIGDBWaaXxZcPSlwUA3ty"},
    {HashFormat::Sha1, "open sesame", "{SHA}W8r/fyL/UzygmbNAjq2HbA67qac="},
    {HashFormat::Crypt, "open ses", "Efcf7iUxFpG9I"},  // DES crypt takes 8 characters
    {HashFormat::Crypt, "secret",
     "$6$I8nz6GDTpXY4zlLb$Oy5UeTPJ0P4kloCxZtw9/2EgU/W.x.HOXk6H8nNxtH90x0OUcEgA0Os3lXfB1erDxu.elBhhg6Mu66Cv62nun/"},
    {HashFormat::Crypt, "secret", "$5$pqlK3zXBWzlnuBel$VFnEDomDdbZp87fiaxhoWyQMybDYa3zzhARBGaRXWDD"},
    {HashFormat::Bcrypt, "pw:with:colons", "$2y$04$C8Ln9KsQq/Mlw7EjpMG9PuGFRd4XA48iBunLFsP/67QqD2T37E0Ye"},
};

TEST(PasswordHash, HtpasswdVectorsMatchTheirPasswordOnly) {
  for (const auto& v : kVectors) {
    EXPECT_EQ(hash_format(v.hash), v.format) << v.hash;
    EXPECT_TRUE(verify_password(v.password, v.hash)) << v.hash;
    std::string other = v.password;
    other[other.size() - 1] ^= 1;  // the last character (DES crypt reads only 8)
    EXPECT_FALSE(verify_password(other, v.hash)) << v.hash;
    EXPECT_FALSE(verify_password("", v.hash)) << v.hash;
    EXPECT_FALSE(verify_password("Open sesame", v.hash)) << v.hash;
  }
}

TEST(PasswordHash, Apr1IsApachesMd5Crypt) {
  // openssl passwd -apr1 -salt abcdefgh 'open sesame'
  EXPECT_EQ(apr1_md5("open sesame", "abcdefgh"), "$apr1$abcdefgh$T64oOxnD8c28.dQa.2Lty1");
  EXPECT_EQ(apr1_md5("open sesame", "abcdefgh$rest"), "$apr1$abcdefgh$T64oOxnD8c28.dQa.2Lty1");
  EXPECT_EQ(apr1_md5("open sesame", "abcdefghij"), "$apr1$abcdefgh$T64oOxnD8c28.dQa.2Lty1");  // 8 salt characters
  EXPECT_EQ(apr1_md5("open sesame", "TAYfSigc"), "$apr1$TAYfSigc$tfn1/65hvdL46Rc9hQwKf1");
}

TEST(PasswordHash, PlainTextIsRefusedAsOnApachesUnix) {
  EXPECT_EQ(hash_format("open sesame"), HashFormat::Plain);  // htpasswd -p
  EXPECT_FALSE(verify_password("open sesame", "open sesame"));
  EXPECT_EQ(hash_format("$apr1"), HashFormat::Plain);
  EXPECT_FALSE(verify_password("x", "$2y$05$short"));  // a broken bcrypt hash never matches
}

// Runs htpasswd -nb FLAG USER PASSWORD; its "user:hash" line, or "" when not installed.
std::string htpasswd(const std::string& flag, const std::string& password) {
  std::string cmd = "htpasswd -nb " + flag + " u '" + password + "' 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {};
  char buf[512] = {};
  size_t n = fread(buf, 1, sizeof buf - 1, p);
  pclose(p);
  std::string line(buf, n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return line.rfind("u:", 0) == 0 ? line.substr(2) : std::string();
}

TEST(PasswordHash, FreshHtpasswdHashesInEveryFormat) {
  if (htpasswd("-m", "x").empty()) GTEST_SKIP() << "htpasswd is not installed (apache2-utils: scripts/install-deps)";
  const std::pair<const char*, HashFormat> formats[] = {
      {"-m", HashFormat::Apr1}, {"-B -C 4", HashFormat::Bcrypt}, {"-s", HashFormat::Sha1},
      {"-d", HashFormat::Crypt}, {"-5", HashFormat::Crypt},      {"-2", HashFormat::Crypt},
  };
  for (const auto& [flag, format] : formats) {
    std::string pw = std::string("pw") + flag[1];
    std::string h = htpasswd(flag, pw);
    ASSERT_FALSE(h.empty()) << flag;
    EXPECT_EQ(hash_format(h), format) << flag << " " << h;
    EXPECT_TRUE(verify_password(pw, h)) << flag << " " << h;
    EXPECT_FALSE(verify_password(pw + "!", h)) << flag << " " << h;
  }
}

}  // namespace
}  // namespace pillar::auth
