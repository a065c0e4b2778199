// An anonymous shared mapping created by the master before it forks, so
// every worker of every generation sees the same bytes at the same address.
// Node-wide tables are carved from it with a bump allocator at start (they
// are sized from ServerLimit/ThreadLimit and never resized until a full
// restart); the tables themselves are plain structs with no pointers.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace pillar::core::shm {

class SharedMemory {
 public:
  SharedMemory() = default;
  ~SharedMemory();
  SharedMemory(const SharedMemory&) = delete;
  SharedMemory& operator=(const SharedMemory&) = delete;

  bool create(size_t bytes, std::string& error);
  // Bump-allocates `bytes` aligned to 64 (a cache line); null when full.
  void* allocate(size_t bytes);
  template <typename T>
  T* allocate_array(size_t n) {
    return static_cast<T*>(allocate(sizeof(T) * n));
  }
  size_t size() const { return size_; }
  size_t used() const { return used_; }

 private:
  void* base_ = nullptr;
  size_t size_ = 0;
  size_t used_ = 0;
};

}  // namespace pillar::core::shm
