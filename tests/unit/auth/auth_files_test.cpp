// The user and group file formats as Apache reads them, Basic credentials,
// and check_password over a real file: re-read when it changes (not
// before a second has passed), a missing file an error, and a verified
// pair remembered only until the file changes.
#include "auth/auth_files.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

#include "auth/basic_auth.h"
#include "auth/password_hash.h"
#include "core/base64.h"

namespace pillar::auth {
namespace {

TEST(AuthFiles, UserLines) {
  UserFile f = parse_user_file(
      "# comment\n\nalice:$apr1$TAYfSigc$tfn1/65hvdL46Rc9hQwKf1\r\n  bob:{SHA}x=:extra field\nalice:second\n"
      "carol:plain words\nbroken line\n:nouser\n");
  EXPECT_EQ(f.hashes.size(), 3u);
  EXPECT_EQ(f.hashes["alice"], "$apr1$TAYfSigc$tfn1/65hvdL46Rc9hQwKf1");  // the first line wins
  EXPECT_EQ(f.hashes["bob"], "{SHA}x=");                                  // up to the next ':'
  EXPECT_EQ(f.plain_users, std::vector<std::string>{"carol"});
}

TEST(AuthFiles, GroupLines) {
  GroupFile f = parse_group_file("admins: alice bob\n# x: eve\nstaff:\tcarol  alice \nadmins: dave\n");
  EXPECT_EQ(f.groups_of["alice"], (std::vector<std::string>{"admins", "staff"}));
  EXPECT_EQ(f.groups_of["dave"], std::vector<std::string>{"admins"});
  EXPECT_EQ(f.groups_of.count("eve"), 0u);
}

TEST(AuthFiles, BasicCredentials) {
  BasicCredentials c;
  ASSERT_TRUE(parse_basic("Basic " + core::base64_encode("alice:open sesame"), c));
  EXPECT_EQ(c.user, "alice");
  EXPECT_EQ(c.password, "open sesame");
  ASSERT_TRUE(parse_basic("basic   " + core::base64_encode("bob:a:b:c"), c));
  EXPECT_EQ(c.password, "a:b:c");  // the user ends at the first colon
  EXPECT_FALSE(parse_basic("Bearer abc", c));
  EXPECT_FALSE(parse_basic("Basic " + core::base64_encode("nocolon"), c));
  EXPECT_FALSE(parse_basic("Basic !!!!", c));
  EXPECT_FALSE(parse_basic("Basicx", c));
}

TEST(AuthFiles, Base64) {
  EXPECT_EQ(core::base64_encode(""), "");
  EXPECT_EQ(core::base64_encode("f"), "Zg==");
  EXPECT_EQ(core::base64_encode("fo"), "Zm8=");
  EXPECT_EQ(core::base64_encode("foo"), "Zm9v");
  EXPECT_EQ(core::base64_decode("Zm9vYg==").value_or("?"), "foob");
  EXPECT_FALSE(core::base64_decode("Zm9vYg="));   // bad length
  EXPECT_FALSE(core::base64_decode("Zm9vYh=="));  // non-zero padding bits
  EXPECT_FALSE(core::base64_decode("Zm9v*g=="));
}

struct TempFile {
  std::string path;
  TempFile() {
    char t[] = "/tmp/auth_files_test_XXXXXX";
    int fd = ::mkstemp(t);
    ::close(fd);
    path = t;
  }
  ~TempFile() { ::unlink(path.c_str()); }
  void write(const std::string& s) const { std::ofstream(path, std::ios::trunc) << s; }
};

TEST(AuthFiles, CheckPasswordRereadsTheFileWhenItChanges) {
  TempFile f;
  f.write("alice:$apr1$TAYfSigc$tfn1/65hvdL46Rc9hQwKf1\n");  // "open sesame"
  std::string error;
  uint64_t t = 1000000;
  EXPECT_EQ(check_password(f.path, {"alice", "open sesame"}, t, error), Authn::Granted) << error;
  EXPECT_EQ(check_password(f.path, {"alice", "wrong"}, t, error), Authn::Mismatch);
  EXPECT_EQ(check_password(f.path, {"eve", "open sesame"}, t, error), Authn::UnknownUser);
  // The password changes (SHA-1 of "new one"): within the second the old
  // reading stands; after it the file is read again.
  f.write("alice:{SHA}RbhaWFYDrPxjfBmuw4is6rZbNgM=\n");
  EXPECT_EQ(check_password(f.path, {"alice", "open sesame"}, t + 500, error), Authn::Granted);
  EXPECT_EQ(check_password(f.path, {"alice", "open sesame"}, t + 1500, error), Authn::Mismatch);
  EXPECT_EQ(check_password(f.path, {"alice", "new one"}, t + 1500, error), Authn::Granted) << error;
  ::unlink(f.path.c_str());
  EXPECT_EQ(check_password(f.path, {"alice", "new one"}, t + 3000, error), Authn::FileError);
  EXPECT_NE(error.find(f.path), std::string::npos) << error;
}

// The two steps the access phase uses for a slow hash: lookup says Verify
// with the user's hash until the pair is remembered, then Granted; a new
// reading of the file forgets it.
TEST(AuthFiles, LookupThenRememberMakesTheNextLookupGranted) {
  TempFile f;
  f.write("alice:$apr1$TAYfSigc$tfn1/65hvdL46Rc9hQwKf1\n");  // "open sesame"
  std::string error;
  const uint64_t t = 2000000;
  PasswordLookup l;
  ASSERT_EQ(lookup_password(f.path, {"alice", "open sesame"}, t, error, l), Authn::Verify) << error;
  EXPECT_EQ(l.hash, "$apr1$TAYfSigc$tfn1/65hvdL46Rc9hQwKf1");
  ASSERT_TRUE(verify_password("open sesame", l.hash));
  remember_password(f.path, {"alice", "open sesame"}, l.generation);
  PasswordLookup again;
  EXPECT_EQ(lookup_password(f.path, {"alice", "open sesame"}, t, error, again), Authn::Granted);
  EXPECT_EQ(lookup_password(f.path, {"alice", "other"}, t, error, again), Authn::Verify) << "only that password";
  f.write("alice:{SHA}RbhaWFYDrPxjfBmuw4is6rZbNgM=\n");
  EXPECT_EQ(lookup_password(f.path, {"alice", "open sesame"}, t + 1500, error, again), Authn::Verify)
      << "a new reading of the file forgets what was verified against the old one";
}

TEST(AuthFiles, SlowHashesAreBcryptAndShaCrypt) {
  EXPECT_TRUE(slow_hash("$2y$05$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234"));
  EXPECT_TRUE(slow_hash("$6$salt$hash"));
  EXPECT_TRUE(slow_hash("$5$salt$hash"));
  EXPECT_FALSE(slow_hash("$apr1$TAYfSigc$tfn1/65hvdL46Rc9hQwKf1"));
  EXPECT_FALSE(slow_hash("{SHA}RbhaWFYDrPxjfBmuw4is6rZbNgM="));
  EXPECT_FALSE(slow_hash("abQ9KY.KfrYrc"));  // DES crypt: microseconds
}

}  // namespace
}  // namespace pillar::auth
