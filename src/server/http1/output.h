// The one writer to a client. Whoever answers (the static path, the proxy,
// the cache) queues response bytes here in order: memory (heads, small
// bodies, relayed chunks) and file ranges (sendfile, or a copy through a
// buffer when the transport or EnableSendfile forbids it). Bytes held
// elsewhere go out without a copy (write_through: the cache store's
// blocks, the member's read buffer; splice_from_pipe: the member's socket
// through a pipe). It alone handles EAGAIN: a write that would block leaves
// the rest queued and writable() false until the socket's next EPOLLOUT.
#pragma once
#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/open_file.h"
#include "core/transport.h"

namespace pillar::server::http1 {

class Output {
 public:
  enum class Result : uint8_t {
    Done,   // nothing is queued any more
    Again,  // the socket is full: wait for writable
    Error,  // the client is gone; the rest is dropped
  };
  // Smaller file ranges are read into memory and go out with the head.
  static constexpr uint64_t kInlineFileMax = 16 * 1024;

  explicit Output(core::Transport& t) : t_(t) {}
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;

  void set_sendfile(bool on) { sendfile_ = on && t_.can_zero_copy(); }
  bool zero_copy() const { return t_.can_zero_copy(); }

  // Memory bytes: whatever is appended goes out after everything queued so far.
  std::string& text() { return mem_; }
  void append(std::string_view s) { mem_.append(s); }
  // A range of an open file, after everything queued so far. False when a
  // small range could not be read whole (the file changed under us).
  bool add_file(std::shared_ptr<const core::OpenFile> f, uint64_t offset, uint64_t length);

  // Writes what is queued.
  Result flush();
  // Writes the queued bytes and then, in the same writev, `data` (which
  // stays the caller's). `taken` is how many bytes of `data` went out; the
  // caller keeps or queues the rest. Nothing but memory may be queued.
  Result write_through(std::span<const iovec> data, size_t& taken);
  // Up to `len` bytes from a pipe to the socket, with nothing queued.
  Result splice_from_pipe(int pipe_fd, size_t len, size_t& moved);

  bool writable() const { return writable_; }
  void on_writable() { writable_ = true; }
  bool empty() const { return pending() == 0; }
  bool memory_only() const { return file_idx_ == files_.size(); }  // no file range queued
  uint64_t pending() const;  // queued bytes not yet written
  // Drops what is queued (a response cut off; its client is gone).
  void clear();

  // Bytes written to the socket since the connection began; of them, file
  // bytes sent with sendfile.
  uint64_t written() const { return written_; }
  uint64_t sendfile_bytes() const { return sendfile_bytes_; }

 private:
  struct FilePart {
    size_t mem_end = 0;  // the memory bytes before this range end here
    std::shared_ptr<const core::OpenFile> file;
    uint64_t offset = 0;
    uint64_t length = 0;
  };
  Result note(const core::Io& r);  // Again/Error bookkeeping; Done for Ok
  Result send_file(FilePart& p);
  void reset_if_done();

  core::Transport& t_;
  bool sendfile_ = true;
  bool writable_ = true;
  std::string mem_;
  size_t mem_pos_ = 0;  // mem_[0, mem_pos_) has been written
  std::vector<FilePart> files_;
  size_t file_idx_ = 0;
  std::unique_ptr<char[]> copy_buf_;  // file bytes pass through here without sendfile
  size_t copy_len_ = 0, copy_pos_ = 0;
  uint64_t written_ = 0;
  uint64_t sendfile_bytes_ = 0;
};

}  // namespace pillar::server::http1
