// AllowOverride and AllowOverrideList (Apache core): which directives an
// .htaccess file may hold. A directive is allowed when its override class
// (DirectiveSpec::overrides, as the Apache manual's "Override:" line gives
// it) is among the classes AllowOverride names, or when AllowOverrideList
// names it; Options=... further limits which options `Options` may set.
// The checks are made while an .htaccess file is read (loader.cpp,
// apply_htaccess); a directive not allowed is an error ("X not allowed
// here", a 500 for the request) unless Nonfatal=Override says to ignore it.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "config/directives.h"

namespace pillar::config {

// "AllowOverride All|None|CLASS[=...]..." into `out`; "" or the message.
std::string parse_allow_override(const std::vector<std::string>& args, AllowOverride& out);
// "AllowOverrideList None|DIRECTIVE..." into `out` (None: empty); "" or the message.
std::string parse_allow_override_list(const std::vector<std::string>& args, std::vector<std::string>& out);

// Does `p` let `d` into the .htaccess file?
bool htaccess_allows(const DirectiveSpec& d, const HtaccessPermissions& p);
// "FileInfo", "AuthConfig, Limit", "All": the classes in `bits`, for messages.
std::string override_names(uint8_t bits);
// An Options word's bits (Indexes, All, None...); false when unknown.
bool option_bits(std::string_view word, uint8_t& bits);

}  // namespace pillar::config
