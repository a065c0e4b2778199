#include "server/http1/output.h"

#include "core/assert.h"

#include <unistd.h>

#include <algorithm>

namespace pillar::server::http1 {

namespace {

constexpr size_t kCopyChunk = 64 * 1024;
constexpr uint64_t kSendfileChunk = 1 << 20;  // one call's share: other connections get their turn
constexpr size_t kMaxIov = 130;

}  // namespace

bool Output::add_file(std::shared_ptr<const core::OpenFile> f, uint64_t offset, uint64_t length) {
  if (length == 0) return true;
  if (length <= kInlineFileMax) {
    size_t at = mem_.size();
    mem_.resize(at + length);
    ssize_t n = ::pread(f->fd, mem_.data() + at, length, static_cast<off_t>(offset));
    if (n != static_cast<ssize_t>(length)) {
      mem_.resize(at);
      return false;
    }
    return true;
  }
  files_.push_back(FilePart{mem_.size(), std::move(f), offset, length});
  return true;
}

uint64_t Output::pending() const {
  uint64_t n = mem_.size() - mem_pos_;
  for (size_t i = file_idx_; i < files_.size(); ++i) n += files_[i].length;
  return n;
}

void Output::clear() {
  mem_.clear();
  mem_pos_ = 0;
  files_.clear();
  file_idx_ = 0;
  copy_len_ = copy_pos_ = 0;
}

void Output::reset_if_done() {
  if (mem_pos_ == mem_.size() && file_idx_ == files_.size()) clear();
}

Output::Result Output::note(const core::Io& r) {
  switch (r.status) {
    case core::Io::Status::Ok:
      written_ += r.n;
      return Result::Done;
    case core::Io::Status::Again:
      writable_ = false;
      return Result::Again;
    case core::Io::Status::Eof:
    case core::Io::Status::Error:
      break;
  }
  return Result::Error;
}

Output::Result Output::send_file(FilePart& p) {
  if (sendfile_) {
    uint64_t before = p.offset;
    core::Io r = t_.sendfile(p.file->fd, p.offset, static_cast<size_t>(std::min(p.length, kSendfileChunk)));
    if (r.status == core::Io::Status::Eof) return Result::Error;  // the file shrank: the promised length cannot be sent
    if (Result res = note(r); res != Result::Done) return res;
    PILLAR_ASSERT(p.offset - before == r.n);
    p.length -= r.n;
    sendfile_bytes_ += r.n;
    return Result::Done;
  }
  if (copy_pos_ == copy_len_) {
    if (!copy_buf_) copy_buf_ = std::make_unique<char[]>(kCopyChunk);
    ssize_t n = ::pread(p.file->fd, copy_buf_.get(), static_cast<size_t>(std::min<uint64_t>(p.length, kCopyChunk)),
                        static_cast<off_t>(p.offset));
    if (n <= 0) return Result::Error;
    copy_len_ = static_cast<size_t>(n);
    copy_pos_ = 0;
  }
  core::Io r = t_.write(copy_buf_.get() + copy_pos_, copy_len_ - copy_pos_);
  if (Result res = note(r); res != Result::Done) return res;
  copy_pos_ += r.n;
  p.offset += r.n;
  p.length -= r.n;
  return Result::Done;
}

Output::Result Output::flush() {
  while (writable_) {
    size_t mem_end = file_idx_ < files_.size() ? files_[file_idx_].mem_end : mem_.size();
    if (mem_pos_ < mem_end) {
      core::Io r = t_.write(mem_.data() + mem_pos_, mem_end - mem_pos_);
      if (Result res = note(r); res != Result::Done) return res;
      mem_pos_ += r.n;
      continue;
    }
    if (file_idx_ == files_.size()) break;
    FilePart& p = files_[file_idx_];
    if (p.length == 0) {
      p.file.reset();  // an idle connection must not hold the last file it sent open
      ++file_idx_;
      continue;
    }
    if (Result res = send_file(p); res != Result::Done) return res;
  }
  if (mem_pos_ < mem_.size() || file_idx_ < files_.size()) return Result::Again;
  clear();
  return Result::Done;
}

Output::Result Output::write_through(std::span<const iovec> data, size_t& taken) {
  PILLAR_ASSERT(file_idx_ == files_.size());  // memory only, so the order holds
  taken = 0;
  if (!writable_) return Result::Again;
  iovec iov[kMaxIov];
  size_t k = 0, queued = mem_.size() - mem_pos_;
  if (queued > 0) iov[k++] = {mem_.data() + mem_pos_, queued};
  for (size_t i = 0; i < data.size() && k < kMaxIov; ++i) iov[k++] = data[i];
  if (k == 0) return Result::Done;
  core::Io r = t_.writev(iov, static_cast<int>(k));
  if (Result res = note(r); res != Result::Done) return res;
  size_t from_queue = std::min(r.n, queued);
  mem_pos_ += from_queue;
  taken = r.n - from_queue;
  reset_if_done();
  return mem_pos_ == mem_.size() ? Result::Done : Result::Again;
}

Output::Result Output::splice_from_pipe(int pipe_fd, size_t len, size_t& moved) {
  PILLAR_ASSERT(empty());
  moved = 0;
  if (!writable_) return Result::Again;
  core::Io r = t_.splice_from_pipe(pipe_fd, len);
  if (Result res = note(r); res != Result::Done) return res;
  moved = r.n;
  return Result::Done;
}

}  // namespace pillar::server::http1
