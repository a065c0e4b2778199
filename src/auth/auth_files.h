// The files of mod_authn_file and mod_authz_groupfile: AuthUserFile (an
// htpasswd file: "user:hash" lines) and AuthGroupFile ("group: user user"
// lines). Each is read the first time a request needs it and again when
// it changes (its mtime, size or inode, looked at at most once a second),
// never per request. The copies are per thread (each event loop its own),
// so no lock is taken on the request path.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pillar::auth {

struct UserFile {
  std::unordered_map<std::string, std::string> hashes;  // user -> the hash (the first line for a user wins)
  uint64_t generation = 0;                               // a new number each time the file is read
  std::vector<std::string> plain_users;                  // users whose password is not a hash Apache takes here
};

struct GroupFile {
  std::unordered_map<std::string, std::vector<std::string>> groups_of;  // user -> the groups naming them
  uint64_t generation = 0;
};

// The file's contents as of now, or null with `error` when it cannot be
// read. `now_ms`: a monotonic clock (the loop's), for the once-a-second look.
const UserFile* user_file(const std::string& path, uint64_t now_ms, std::string& error);
const GroupFile* group_file(const std::string& path, uint64_t now_ms, std::string& error);

// Parsers, for the loader above and tests.
UserFile parse_user_file(std::string_view text);
GroupFile parse_group_file(std::string_view text);

}  // namespace pillar::auth
