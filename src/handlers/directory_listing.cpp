#include "handlers/directory_listing.h"

#include <dirent.h>
#include <fnmatch.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <vector>

#include "http/uri.h"

namespace pillar::handlers {

namespace {

bool ignored(const std::vector<std::string>& ignore, const std::string& dir, const std::string& name) {
  for (const auto& p : ignore) {
    const std::string& subject = p.find('/') == std::string::npos ? name : dir + "/" + name;
    if (fnmatch(p.c_str(), subject.c_str(), 0) == 0) return true;
  }
  return false;
}

}  // namespace

std::optional<std::string> listing_insert(std::string_view content, std::string_view media_type) {
  std::string type(media_type.substr(0, media_type.find(';')));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  for (auto& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (type == "text/html") return std::string(content);  // as it is, as mod_autoindex (without SuppressHTMLPreamble)
  if (type.rfind("text/", 0) == 0) return "<pre>\n" + http::html_escape(content) + "</pre>\n";
  return std::nullopt;
}

bool render_directory_listing(const std::string& fs_dir, std::string_view url_path, std::string& html,
                              const std::vector<std::string>& ignore, std::string_view signature,
                              std::string_view header, std::string_view readme) {
  DIR* d = opendir(fs_dir.c_str());
  if (!d) return false;
  struct Entry {
    std::string name;
    bool dir;
    off_t size;
    time_t mtime;
  };
  std::vector<Entry> entries;
  while (struct dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || name.rfind(".ht", 0) == 0 || ignored(ignore, fs_dir, name)) continue;
    struct stat st;
    if (fstatat(dirfd(d), e->d_name, &st, 0) != 0) continue;
    entries.push_back({name, S_ISDIR(st.st_mode), st.st_size, st.st_mtime});
  }
  closedir(d);
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });

  std::string title = http::html_escape(url_path);
  html = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of " + title +
         "</title></head>\n<body>\n";
  if (header.empty()) html += "<h1>Index of " + title + "</h1>\n";
  else html += header;
  html += "<table>\n<tr><th>Name</th><th>Last modified</th><th>Size</th></tr>\n";
  if (url_path != "/") html += "<tr><td><a href=\"../\">Parent Directory</a></td><td></td><td>-</td></tr>\n";
  for (const auto& e : entries) {
    char when[32];
    struct tm tm;
    gmtime_r(&e.mtime, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
    std::string shown = http::html_escape(e.name) + (e.dir ? "/" : "");
    std::string href = http::html_escape(http::url_escape_path(e.name)) + (e.dir ? "/" : "");
    html += "<tr><td><a href=\"" + href + "\">" + shown + "</a></td><td>" + when + "</td><td>" +
            (e.dir ? std::string("-") : std::to_string(e.size)) + "</td></tr>\n";
  }
  html += "</table>\n";
  html += readme;
  html += signature;
  html += "</body></html>\n";
  return true;
}

}  // namespace pillar::handlers
