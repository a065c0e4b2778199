#include "core/shm/shared_memory.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

namespace pillar::core::shm {

SharedMemory::~SharedMemory() {
  if (base_) ::munmap(base_, size_);
}

bool SharedMemory::create(size_t bytes, std::string& error) {
  bytes = (bytes + 4095) & ~size_t{4095};
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    error = std::string("mmap shared memory: ") + strerror(errno);
    return false;
  }
  base_ = p;
  size_ = bytes;
  used_ = 0;
  return true;
}

void* SharedMemory::allocate(size_t bytes) {
  size_t at = (used_ + 63) & ~size_t{63};
  if (!base_ || at + bytes > size_) return nullptr;
  used_ = at + bytes;
  return static_cast<char*>(base_) + at;  // zero-filled by the kernel
}

}  // namespace pillar::core::shm
