// AllowOverride's arguments, as Apache's set_override reads them: the
// classes accumulate left to right, None clears, All sets every class,
// Options=Opt,Opt limits the options, Nonfatal=Override|Unknown|All relaxes
// the errors. Anything else is refused ("Illegal override option").
#include "config/overrides.h"

#include "core/text.h"
#include "http/request.h"

namespace pillar::config {
namespace {

constexpr std::pair<std::string_view, uint8_t> kClasses[] = {
    {"AuthConfig", kOrAuthConfig}, {"FileInfo", kOrFileInfo}, {"Indexes", kOrIndexes},
    {"Limit", kOrLimit},           {"Options", kOrOptions},
};

}  // namespace

bool option_bits(std::string_view w, uint8_t& bits) {
  if (http::iequals(w, "None")) bits = 0;
  else if (http::iequals(w, "All"))
    bits = Options::Indexes | Options::FollowSymLinks | Options::ExecCGI | Options::Includes | Options::SymLinksIfOwnerMatch;
  else if (http::iequals(w, "Indexes")) bits = Options::Indexes;
  else if (http::iequals(w, "FollowSymLinks")) bits = Options::FollowSymLinks;
  else if (http::iequals(w, "SymLinksIfOwnerMatch")) bits = Options::SymLinksIfOwnerMatch;
  else if (http::iequals(w, "ExecCGI")) bits = Options::ExecCGI;
  else if (http::iequals(w, "Includes") || http::iequals(w, "IncludesNOEXEC")) bits = Options::Includes;
  else if (http::iequals(w, "MultiViews")) bits = Options::MultiViews;
  else return false;
  return true;
}

std::string parse_allow_override(const std::vector<std::string>& args, AllowOverride& out) {
  AllowOverride r;
  r.where = out.where;
  for (const auto& a : args) {
    std::string_view w = a;
    size_t eq = w.find('=');
    std::string_view key = w.substr(0, eq);
    std::string_view val = eq == std::string_view::npos ? std::string_view() : w.substr(eq + 1);
    if (http::iequals(key, "None") && eq == std::string_view::npos) {
      r.categories = 0;
      continue;
    }
    if (http::iequals(key, "All") && eq == std::string_view::npos) {
      r.categories = kOrAll;
      continue;
    }
    if (http::iequals(key, "Nonfatal")) {
      if (http::iequals(val, "Override")) r.nonfatal_override = true;
      else if (http::iequals(val, "Unknown")) r.nonfatal_unknown = true;
      else if (http::iequals(val, "All")) r.nonfatal_override = r.nonfatal_unknown = true;
      else return "AllowOverride " + a + ": write Nonfatal=Override, Nonfatal=Unknown or Nonfatal=All";
      continue;
    }
    bool known = false;
    for (const auto& [name, bit] : kClasses) {
      if (!http::iequals(key, name)) continue;
      known = true;
      r.categories |= bit;
      if (eq != std::string_view::npos && bit != kOrOptions)
        return "AllowOverride " + a + ": only Options takes a list (Options=Indexes,FollowSymLinks)";
      if (bit == kOrOptions && eq != std::string_view::npos) {
        // Options=Opt,Opt: the options .htaccess may set.
        uint8_t allowed = 0;
        for (size_t p = 0; p <= val.size();) {
          size_t comma = val.find(',', p);
          if (comma == std::string_view::npos) comma = val.size();
          std::string_view o = val.substr(p, comma - p);
          uint8_t bits = 0;
          if (o.empty() || !option_bits(o, bits))
            return "AllowOverride " + a + ": '" + std::string(o) +
                   "' is not an option; list them as Options=Indexes,FollowSymLinks (no spaces)";
          allowed |= bits;
          p = comma + 1;
        }
        r.options = allowed;
      } else if (bit == kOrOptions) {
        r.options = 0xff;
      }
    }
    if (!known)
      return "AllowOverride: illegal override option " + a +
             "; use All, None, AuthConfig, FileInfo, Indexes, Limit, Options[=Option,...] or Nonfatal=Override|Unknown|All";
  }
  out = r;
  return {};
}

std::string parse_allow_override_list(const std::vector<std::string>& args, std::vector<std::string>& out) {
  out.clear();
  if (args.size() == 1 && http::iequals(args[0], "None")) return {};
  for (const auto& a : args) {
    if (http::iequals(a, "None")) return "AllowOverrideList: None stands alone; list directive names or write None";
    const DirectiveSpec* d = find_directive(a);
    if (!d) return "AllowOverrideList " + a + ": no such directive; list directive names such as Redirect RedirectMatch";
    if (d->overrides == kOrNone)
      return "AllowOverrideList " + a + ": " + std::string(d->name) + " cannot be used in .htaccess files";
    out.emplace_back(d->name);
  }
  return {};
}

bool htaccess_allows(const DirectiveSpec& d, const HtaccessPermissions& p) {
  if (d.overrides == kOrNone) return false;
  if (d.overrides & p.allow.categories) return true;
  for (const auto& n : p.list) {
    if (http::iequals(n, d.name)) return true;
  }
  return false;
}

std::string override_names(uint8_t bits) {
  if (bits == kOrAll) return "All";
  std::string out;
  for (const auto& [name, bit] : kClasses) {
    if (!(bits & bit)) continue;
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out.empty() ? "None" : out;
}

}  // namespace pillar::config
