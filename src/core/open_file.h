// An open regular file shared by the responses that send it (RAII fd).
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <ctime>

namespace pillar::core {

struct OpenFile {
  int fd = -1;
  uint64_t size = 0;
  struct timespec mtime {};
  ino_t ino = 0;
  dev_t dev = 0;

  OpenFile() = default;
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;
  ~OpenFile();
};

}  // namespace pillar::core
