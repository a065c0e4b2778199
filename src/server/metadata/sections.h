// Which configuration sections' Metadata (config/metadata.h) apply to a
// request, in the order Apache merges per-directory configuration: the
// vhost's (server and directory defaults), the <Directory> sections around
// the file (shortest path first), the <Files> sections matching its name
// (the vhost's, then those inside the matched directories), then every
// <Location> matching the URL-path, in configuration order, then the
// bodies of the request's true <If> sections (DirectorySection::from_if,
// server/if_sections.h), proxied or not. A proxied
// request has no file: only the vhost and <Location>. Entries with nothing
// set are left out, except the vhost's, which is always first.
#pragma once
#include <span>

#include "server/request/request.h"

namespace pillar::server::metadata {

// Fills req.meta.sections for the request as mapped now (route, filename).
void collect_sections(Request& req);

// req.meta.sections, collected first if nothing did yet (an answer given
// before the request was mapped: the vhost's alone, or none without a vhost).
std::span<const config::Metadata* const> sections(Request& req);

}  // namespace pillar::server::metadata
