#include "handlers/static_file_handler.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <memory>

#include "core/fd_reserve.h"
#include "core/log.h"
#include "core/text.h"
#include "handlers/conditional.h"
#include "handlers/directory_listing.h"
#include "handlers/range.h"
#include "http/accept_encoding.h"
#include "http/http_date.h"
#include "http/uri.h"

namespace pillar::handlers {
namespace {

constexpr std::string_view kAllow = "GET, HEAD, OPTIONS";

// Is `path` equal to or below directory `dir`?
bool under(std::string_view path, std::string_view dir) {
  if (dir == "/") return true;
  return path.substr(0, dir.size()) == dir && (path.size() == dir.size() || path[dir.size()] == '/');
}

// .htaccess, .htpasswd and the vhost's AccessFileName files are never served.
bool is_ht_file(std::string_view name, const config::VirtualHost& vh) {
  if (core::istarts_with(name, ".ht")) return true;
  for (const auto& f : vh.access_file_names) {
    if (core::iequals(name, f)) return true;
  }
  return false;
}

// As Apache: missing -> 404, not permitted -> 403; out of descriptors ->
// 503 with Retry-After (the server is busy, not broken; logged once);
// anything else (EIO, ...) is the server's fault -> 500, and logged.
// What the handler keeps of a file's stat.
void describe(core::OpenFile& f, const struct stat& st) {
  f.size = static_cast<uint64_t>(st.st_size);
  f.mtime = st.st_mtim;
  f.ino = st.st_ino;
  f.dev = st.st_dev;
}

// A regular file opened for serving; null with `err` (0: not a regular file).
// O_NONBLOCK so a FIFO in the tree cannot block the loop.
std::shared_ptr<core::OpenFile> open_regular(const std::string& path, int& err) {
  err = 0;
  auto file = std::make_shared<core::OpenFile>();
  file->fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (file->fd < 0) {
    err = errno;
    return nullptr;
  }
  struct stat st {};
  if (fstat(file->fd, &st) != 0 || !S_ISREG(st.st_mode)) return nullptr;
  describe(*file, st);
  return file;
}

bool newer_or_same(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec >= b.tv_nsec);
}

// FILE.br or FILE.gz for the first of `codings` the client takes (q > 0),
// when it is a regular file no older than FILE (a stale copy is never
// served); `encoding` is set to its coding. Null: serve FILE itself.
std::shared_ptr<core::OpenFile> precompressed_copy(const http::RequestHead& head, const std::string& fs_path,
                                                   const core::OpenFile& original,
                                                   const std::vector<std::string>& codings, std::string& encoding) {
  if (!head.has("Accept-Encoding")) return nullptr;
  for (const auto& c : codings) {
    if (!http::accepts_coding(head, c)) continue;
    int err = 0;
    auto copy = open_regular(fs_path + (c == "br" ? ".br" : ".gz"), err);
    if (!copy || !newer_or_same(copy->mtime, original.mtime)) continue;
    encoding = c;
    return copy;
  }
  return nullptr;
}

void open_failed(int e, http::Response& resp) {
  if (e == ENOENT || e == ENOTDIR || e == ENAMETOOLONG) return resp.error(404);
  if (e == EACCES || e == EPERM || e == ELOOP) return resp.error(403);
  if (e == EMFILE || e == ENFILE) {
    core::report_fd_shortage("a file could not be opened, answered 503", core::fd_limit());
    resp.error(503);
    resp.add_header("Retry-After", "1");
    return;
  }
  core::log(core::LogLevel::Error, "core", "cannot open a file under the DocumentRoot: {}", strerror(e));
  resp.error(500);
}

// The multipart/byteranges boundary: fixed per response but unguessable
// enough that file content cannot collide with it by accident.
std::string make_boundary(const core::OpenFile& f) {
  char b[64];
  std::snprintf(b, sizeof b, "PILLAR%016" PRIx64 "%08lx", static_cast<uint64_t>(f.ino) ^ f.size,
                static_cast<unsigned long>(f.mtime.tv_nsec));
  return b;
}

}  // namespace

StaticFileHandler::StaticFileHandler(const config::VirtualHost& vh, const MimeTypes& mime)
    : vh_(vh), mime_(mime) {}

StaticFileHandler::Effective StaticFileHandler::effective(std::string_view dir, std::string_view name) const {
  Effective e;
  e.options = vh_.options.apply(config::kDefaultOptions);
  e.precompressed = &vh_.precompressed;
  e.header_name = &vh_.index_header_name;
  e.readme_name = &vh_.index_readme_name;
  auto apply_files = [&](const std::vector<config::FilesSection>& files) {
    for (const auto& f : files) {
      if (!f.access.empty() && f.matches(name)) e.access = &f.access;
    }
  };
  for (const auto& d : vh_.directories) {  // shortest path first
    if (!under(dir, d.path)) continue;
    e.options = d.options.apply(e.options);
    if (!d.access.empty()) e.access = &d.access;
    if (d.force_type_set) e.force_type = &d.force_type;
    if (d.precompressed) e.precompressed = &*d.precompressed;
    if (d.index_header_name) e.header_name = &*d.index_header_name;
    if (d.index_readme_name) e.readme_name = &*d.index_readme_name;
  }
  if (!name.empty()) {
    apply_files(vh_.files);
    for (const auto& d : vh_.directories) {
      if (under(dir, d.path)) apply_files(d.files);
    }
  }
  // A true <If> section's Require (the request's copy of the vhost:
  // server/if_sections.h) is merged after <Files> too, as Apache merges If last.
  for (const auto& d : vh_.directories) {
    if (d.from_if && !d.access.empty()) e.access = &d.access;
  }
  return e;
}

bool StaticFileHandler::symlinks_allowed(const std::string& fs_path, uint8_t options, http::Response& resp) const {
  using config::Options;
  if (options & Options::FollowSymLinks) return true;
  bool owner_match = options & Options::SymLinksIfOwnerMatch;
  // Check every component below the DocumentRoot (the root itself is the admin's choice).
  size_t pos = vh_.document_root == "/" ? 0 : vh_.document_root.size();
  if (fs_path.compare(0, vh_.document_root.size(), vh_.document_root) != 0) pos = 0;  // an aliased file: every component
  while (pos < fs_path.size()) {
    size_t next = fs_path.find('/', pos + 1);
    std::string prefix = fs_path.substr(0, next);
    struct stat st {};
    if (lstat(prefix.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      struct stat target {};
      if (!owner_match || stat(prefix.c_str(), &target) != 0 || target.st_uid != st.st_uid) {
        resp.error(403);
        return false;
      }
    }
    if (next == std::string::npos) break;
    pos = next;
  }
  return true;
}

void StaticFileHandler::handle(const http::RequestContext& ctx, http::Response& resp) {
  std::string fs_path;
  if (!ctx.filename.empty()) {
    fs_path = ctx.filename;  // Alias, mod_rewrite: a file maybe outside the DocumentRoot
  } else {
    if (vh_.document_root.empty()) return resp.error(404);
    fs_path.reserve(vh_.document_root.size() + ctx.path.size());  // one allocation, not one per append
    if (vh_.document_root != "/") fs_path.append(vh_.document_root);
    fs_path.append(ctx.path);
  }
  bool trailing_slash = fs_path.size() > 1 && fs_path.back() == '/';
  if (trailing_slash) fs_path.pop_back();

  size_t slash = fs_path.rfind('/');
  std::string_view dir = slash == 0 ? std::string_view("/") : std::string_view(fs_path).substr(0, slash);
  std::string_view name = std::string_view(fs_path).substr(slash + 1);

  // open() then fstat() instead of stat() then open(): one syscall fewer on
  // the hot path, and the file checked is the file served. O_NONBLOCK so a
  // FIFO in the tree cannot block the loop.
  auto file = std::make_shared<core::OpenFile>();
  file->fd = ::open(fs_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (file->fd < 0) return open_failed(errno, resp);
  struct stat st {};
  if (fstat(file->fd, &st) != 0) return resp.error(403);
  bool is_dir = S_ISDIR(st.st_mode);
  Effective eff = is_dir ? effective(fs_path, {}) : effective(dir, name);
  if (!is_dir && is_ht_file(name, vh_)) return resp.error(403);  // .htaccess/.htpasswd are never served
  const config::AccessSubject who{ctx.client, ctx.user, ctx.groups};  // Require with the user Basic authentication found
  if (eff.access && !eff.access->allows(who)) return resp.error(403);
  if (!symlinks_allowed(fs_path, eff.options, resp)) return;

  if (ctx.head.method == http::Method::Options) {
    resp.add_header("Allow", kAllow);
    return;
  }
  if (ctx.head.method != http::Method::Get && ctx.head.method != http::Method::Head) {
    resp.error(405);
    resp.add_header("Allow", kAllow);
    return;
  }
  if (is_dir) {
    file.reset();
    if (!trailing_slash && ctx.path != "/") {
      // Absolute, from the name the client used (mod_dir's DirectorySlash
      // with UseCanonicalName Off).
      std::string loc = std::string(ctx.self_url) + http::url_escape_path(ctx.path);
      loc.push_back('/');
      if (!ctx.head.query.empty()) {
        loc.push_back('?');
        loc.append(ctx.head.query);
      }
      resp.error(301);
      resp.add_header("Location", loc);
      return;
    }
    return serve_directory(ctx, fs_path, eff, resp);
  }
  if (trailing_slash) return resp.error(404);  // "/file.txt/" names no directory
  if (!S_ISREG(st.st_mode)) return resp.error(403);
  describe(*file, st);
  serve_open_file(ctx, std::move(file), fs_path, name, eff, resp);
}

void StaticFileHandler::serve_file(const http::RequestContext& ctx, const std::string& fs_path,
                                   std::string_view name, const Effective& eff, http::Response& resp) const {
  int e = 0;
  auto file = open_regular(fs_path, e);
  if (!file) return e ? open_failed(e, resp) : resp.error(403);
  serve_open_file(ctx, std::move(file), fs_path, name, eff, resp);
}

void StaticFileHandler::serve_directory(const http::RequestContext& ctx, const std::string& fs_path,
                                        const Effective& eff, http::Response& resp) const {
  std::string base = fs_path == "/" ? std::string() : fs_path;
  for (const auto& index : vh_.directory_index) {
    std::string candidate = base + "/" + index;
    struct stat st {};
    if (stat(candidate.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    Effective fe = effective(fs_path, index);
    const config::AccessSubject who{ctx.client, ctx.user, ctx.groups};
    if (is_ht_file(index, vh_) || (fe.access && !fe.access->allows(who))) return resp.error(403);
    if (!symlinks_allowed(candidate, fe.options, resp)) return;
    return serve_file(ctx, candidate, index, fe, resp);
  }
  if (!(eff.options & config::Options::Indexes)) return resp.error(403);
  std::string html;
  std::string header = listing_file(ctx, fs_path, *eff.header_name);
  std::string readme = listing_file(ctx, fs_path, *eff.readme_name);
  if (!render_directory_listing(fs_path, ctx.head.path, html, vh_.index_ignore, ctx.signature, header, readme))
    return resp.error(403);
  resp.add_header("Content-Type", "text/html; charset=utf-8");
  resp.add_header("Cache-Control", "no-cache");
  resp.add_text(html);
}

std::string StaticFileHandler::listing_file(const http::RequestContext& ctx, const std::string& fs_dir,
                                           const std::string& name) const {
  if (name.empty()) return {};
  // A URL path relative to the listed directory, or with a leading '/' to
  // the DocumentRoot (mod_autoindex looks it up as a subrequest; Pillar
  // does not run Alias or rewrite rules for it).
  std::string path = name[0] == '/' ? vh_.document_root + name : fs_dir + "/" + name;
  size_t slash = path.rfind('/');
  std::string dir = slash == 0 ? "/" : path.substr(0, slash), file = path.substr(slash + 1);
  Effective fe = effective(dir, file);
  const config::AccessSubject who{ctx.client, ctx.user, ctx.groups};
  if (file.empty() || is_ht_file(file, vh_) || (fe.access && !fe.access->allows(who))) return {};
  int e = 0;
  auto f = open_regular(path, e);
  constexpr uint64_t kMaxInsert = 1 << 20;
  if (!f || f->size > kMaxInsert) return {};
  std::string content(static_cast<size_t>(f->size), '\0');
  if (::pread(f->fd, content.data(), content.size(), 0) != static_cast<ssize_t>(content.size())) return {};
  ContentMeta meta = content_meta(file, vh_, mime_, fe.force_type);
  if (!meta.encoding.empty()) return {};
  return listing_insert(content, meta.type).value_or(std::string());
}

void StaticFileHandler::serve_open_file(const http::RequestContext& ctx, std::shared_ptr<core::OpenFile> file,
                                        const std::string& fs_path, std::string_view name, const Effective& eff,
                                        http::Response& resp) const {
  const std::string* force_type = eff.force_type;
  const std::string rewrite_type(ctx.forced_type);  // RewriteRule [T=] wins over ForceType
  ContentMeta meta = content_meta(name, vh_, mime_, rewrite_type.empty() ? force_type : &rewrite_type);
  // A precompressed copy beside the file (PillarPrecompressed): its bytes,
  // validators and length are the response's, its coding says so; the
  // response varies on Accept-Encoding whichever is sent.
  bool varies = false;
  if (eff.precompressed && !eff.precompressed->empty() && meta.encoding.empty()) {
    varies = true;
    if (auto sidecar = precompressed_copy(ctx.head, fs_path, *file, *eff.precompressed, meta.encoding)) file = std::move(sidecar);
  }
  const struct timespec& mtime = file->mtime;
  // ETag from size and mtime only (Apache's FileETag MTime Size), so every
  // node of a cluster serving the same deployed tree gives the same tag.
  char etag[64];
  uint64_t mtime_us = static_cast<uint64_t>(mtime.tv_sec) * 1000000u + static_cast<uint64_t>(mtime.tv_nsec) / 1000u;
  {  // "SIZE-MTIME" in hex (to_chars: printf's machinery is most of the cost of a small answer)
    char* p = etag;
    *p++ = '"';
    p = std::to_chars(p, etag + sizeof etag, file->size, 16).ptr;
    *p++ = '-';
    p = std::to_chars(p, etag + sizeof etag, mtime_us, 16).ptr;
    *p++ = '"';
    *p = '\0';
  }
  char date[30];
  size_t date_len = http::format_http_date(mtime.tv_sec, date);
  Validators v{etag, mtime.tv_sec};

  auto validators = [&] {
    resp.add_header("Last-Modified", std::string_view(date, date_len));
    resp.add_header("ETag", etag);
    if (varies) resp.add_header("Vary", "Accept-Encoding");
  };
  std::string_view type = meta.type;
  int pre = evaluate_preconditions(ctx.head, v, time(nullptr));
  if (pre == 304) {
    resp.status = 304;
    resp.media_type.assign(type);  // not sent; ExpiresByType reads it
    validators();
    return;
  }
  if (pre) return resp.error(pre);

  std::string_view range_header = ctx.head.find("Range");
  RangeRequest rr;
  if (!range_header.empty() && ctx.head.method == http::Method::Get && if_range_allows(ctx.head, v))
    rr = parse_range(range_header, file->size);

  if (rr.kind == RangeRequest::Kind::Unsatisfiable) {
    resp.error(416);
    resp.add_header("Content-Range", "bytes */" + std::to_string(file->size));
    return;
  }
  validators();
  resp.add_header("Accept-Ranges", "bytes");
  if (!meta.encoding.empty()) resp.add_header("Content-Encoding", meta.encoding);
  if (!meta.language.empty()) resp.add_header("Content-Language", meta.language);
  if (rr.kind == RangeRequest::Kind::None) {
    if (!type.empty()) resp.add_header("Content-Type", type);
    uint64_t size = file->size;
    resp.add_file(std::move(file), 0, size);
    return;
  }
  resp.status = 206;
  if (rr.ranges.size() == 1) {
    const ByteRange& r = rr.ranges[0];
    if (!type.empty()) resp.add_header("Content-Type", type);
    resp.add_header("Content-Range", "bytes " + std::to_string(r.first) + "-" + std::to_string(r.last) + "/" +
                                         std::to_string(file->size));
    resp.add_file(std::move(file), r.first, r.length());
    return;
  }
  std::string boundary = make_boundary(*file);
  resp.add_header("Content-Type", "multipart/byteranges; boundary=" + boundary);
  for (const auto& r : rr.ranges) {
    std::string part = "\r\n--" + boundary + "\r\n";
    if (!type.empty()) part += "Content-Type: " + std::string(type) + "\r\n";
    part += "Content-Range: bytes " + std::to_string(r.first) + "-" + std::to_string(r.last) + "/" +
            std::to_string(file->size) + "\r\n\r\n";
    resp.add_text(part);
    resp.add_file(file, r.first, r.length());
  }
  resp.add_text("\r\n--" + boundary + "--\r\n");
}

}  // namespace pillar::handlers
