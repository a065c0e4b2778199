// mod_userdir's translation, run by the URL-mapping phase after mod_alias
// (request/rewrite_phase.cpp): "/~USER[/rest]" names a file under the
// user's directory: UserDir public_html -> ~USER/public_html/rest (the home
// from the password database), /home/*/www -> /home/USER/www/rest,
// /srv/users -> /srv/users/USER/rest. Each UserDir directory is tried in
// order and the first that exists is taken (the last one otherwise, whose
// file is then missing: 404), as Apache does. A user that UserDir disabled
// names, or that does not exist for the relative form, is not mapped (the
// path stays DocumentRoot's). The user is kept for suexec, which runs the
// user's scripts as them (docs/cgi.md).
#pragma once
#include <string_view>

#include "config/cgi_model.h"
#include "server/request/rewrite_state.h"

namespace pillar::server {

// `path`: decoded and normalised. True when it was mapped: st.filename,
// st.userdir_user and st.userdir_base are set.
bool map_userdir(const config::UserDirConfig& u, std::string_view path, RewriteState& st);

}  // namespace pillar::server
