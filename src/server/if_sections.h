// <If>, <ElseIf>, <Else> (Apache core) on the request path. Once a request
// is mapped (the rewrite phase knows its file, or that it is proxied), the
// <If> sections of every section that covers it are evaluated, in Apache's
// merge order: the vhost's, the <Directory> sections' (shortest path
// first, .htaccess files' among them), the <Files> sections', then the
// <Location> sections'. In each list an <ElseIf>/<Else> is tried only when
// the <If> and <ElseIf>s before it were false; a true section's nested
// <If>s are tried after it.
//
// The request is then served by a Site whose configuration is a copy of its
// own with each true section's body merged as a per-directory section
// covering the whole request ("/", DirectorySection::from_if), after every
// other <Directory>; the metadata sections and Require read such sections
// after the <Location> sections too, as Apache merges If sections last.
// Everything a per-directory section carries then applies as it does
// anywhere else (Header, SetEnv, Require, Redirect, ErrorDocument,
// Expires*, Options, DirectoryIndex, ForceType...).
//
// Cost: the conditions are compiled at load; a request with no true
// section keeps its Site. A Site is built once per set of true sections per
// thread (a bounded LRU, keyed as the .htaccess cache by the base Site),
// so the steady state is the evaluations and one lookup.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/expr.h"
#include "config/model.h"
#include "server/htaccess.h"

namespace pillar::server {

struct Site;
class Runtime;

// The true sections for a request mapped to `filename` (empty when
// proxied or not known), in merge order, appended to `out`.
void select_if_sections(const config::VirtualHost& vh, const config::ExprInput& in, std::string_view filename,
                        std::string_view path, std::vector<const config::IfSection*>& out);

struct IfOutcome {
  const Site* site = nullptr;        // the Site that serves the request (`base` when no section holds)
  std::shared_ptr<const Site> hold;  // keeps it alive for the request
  int status = 0;                    // non-zero: 500, a body that did not merge (logged with `error`)
  std::string error;
};

class IfSiteCache {
 public:
  static constexpr size_t kMaxSites = 256;
  explicit IfSiteCache(size_t max_sites = kMaxSites) : sites_(max_sites) {}

  // The Site for the request on `base` (the vhost's own Site, or the one its
  // .htaccess files made, kept alive by `base_hold`), given its true sections.
  IfOutcome resolve(const Runtime& rt, const Site& base, const std::shared_ptr<const Site>& base_hold,
                    const std::vector<const config::IfSection*>& chosen);
  uint64_t builds() const { return builds_; }

 private:
  struct Built {
    std::shared_ptr<const Site> site;
    std::shared_ptr<const Site> base_hold;  // the .htaccess Site it copies (its address is in the key)
    int status = 0;
    std::string error;
  };
  LruMap<Built> sites_;
  uint64_t builds_ = 0;
};

// The calling thread's cache.
IfSiteCache& thread_if_cache();

}  // namespace pillar::server
