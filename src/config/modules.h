// The Apache modules Pillar knows, by Apache's names (x_module and mod_x.c):
// those whose features Pillar has built in and those it lacks. LoadModule,
// <IfModule> and `pillar -M` answer from this one table.
#pragma once
#include <span>
#include <string_view>

namespace pillar::config {

struct ApacheModule {
  std::string_view id;       // "mime_module", as LoadModule names it
  std::string_view source;   // "mod_mime.c", as <IfModule> may name it
  bool present;              // Pillar has its features (LoadModule is silent, <IfModule> is true)
  std::string_view missing;  // !present: what will not work, for the LoadModule notice
  // <IfModule> is true only after its LoadModule, as in Apache: a stock tree
  // guards what changes the server's shape with it (Debian's ports.conf
  // listens on 443 inside <IfModule ssl_module>, enabled by a2enmod ssl).
  bool needs_load = false;
};

std::span<const ApacheModule> apache_modules();
// The module named by its id or source file (case-insensitive), or nullptr.
const ApacheModule* find_module(std::string_view name);
// <IfModule name>: true for a module Pillar has (and, for a needs_load
// one, that a LoadModule line named: `loaded` says whether one did).
bool module_present(std::string_view name, bool (*loaded)(const ApacheModule&, const void*) = nullptr,
                    const void* ctx = nullptr);

}  // namespace pillar::config
