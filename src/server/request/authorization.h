// The access step of the phase table: mod_authz_core's Require with
// mod_auth_basic's authentication when a rule needs a user
// (Require valid-user|user|group), as Apache 2.4 runs them: the rules are
// evaluated without a user first; only when that leaves the answer to a
// user (DeniedNoUser) are the client's Basic credentials checked against
// the AuthUserFile, the user's groups read from the AuthGroupFile, and the
// rules evaluated again. A missing or wrong password, and an authenticated
// user the rules refuse, get 401 with `WWW-Authenticate: Basic
// realm="AuthName"` (and the ErrorDocument); a configuration that cannot
// authenticate (no AuthType, AuthName or AuthUserFile, a file that cannot
// be read) gets 500 and an error-log line that says what is missing. A
// refusal no user could change stays the content phase's 403.
#pragma once

#include "server/request/phases.h"

namespace pillar::config {
struct AccessSubject;
}

namespace pillar::server {

PhaseStep authorize_request(RequestCarrier& c);

// Who the request is for the Require rules (its client, the user and groups
// authorize_request found); valid while the request is.
config::AccessSubject access_subject(const Request& req);

}  // namespace pillar::server
