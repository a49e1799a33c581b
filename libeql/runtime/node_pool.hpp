// libeql/runtime/node_pool.hpp
//
// A free-list allocator for the nodes of the operators' containers. Partial
// sequences are created and expired at the event rate, all of one size; a
// free list recycles their nodes without going through malloc (whose small
// bins coalesce and split blocks of this size) and without its per-block
// header. Memory is held until the pool (the operator) is destroyed, so the
// pool's size follows the peak of live partials, which the cap bounds.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace eql::runtime {

// NodePool
//
// Fixed-size blocks carved from chunks of 1 KiB, doubling up to 64 KiB; one
// free list per block size (a container allocates very few distinct
// sizes), refilled a block at a time from the chunk, so that only the
// memory used is touched: a pack of 200 sequences, most of them idle, held
// 14 MB of written chunks per engine when every chunk was cut up at once.
// Not thread-safe.
class NodePool {
 public:
  NodePool() = default;
  NodePool(const NodePool&) = delete;
  NodePool& operator=(const NodePool&) = delete;

  void* Allocate(size_t bytes) {
    Class& c = ClassFor(bytes);
    if (c.free != nullptr) {
      Free* f = c.free;
      c.free = f->next;
      return f;
    }
    if (c.end - c.next < static_cast<std::ptrdiff_t>(c.size)) Refill(c);
    void* p = c.next;
    c.next += c.size;
    return p;
  }
  void Deallocate(void* p, size_t bytes) {
    Class& c = ClassFor(bytes);
    Free* f = static_cast<Free*>(p);
    f->next = c.free;
    c.free = f;
  }

  //! Bytes obtained from the system.
  size_t reserved_bytes() const { return reserved_; }

 private:
  struct Free {
    Free* next;
  };
  struct Class {
    size_t size;
    Free* free = nullptr;
    char* next = nullptr;  // the rest of its chunk, not yet handed out
    char* end = nullptr;
  };
  static constexpr size_t kFirstChunk = 1024;
  static constexpr size_t kMaxChunk = 64 * 1024;

  static size_t Round(size_t bytes) {
    const size_t a = alignof(std::max_align_t);
    return (std::max(bytes, sizeof(Free)) + a - 1) / a * a;
  }
  Class& ClassFor(size_t bytes) {
    const size_t size = Round(bytes);
    for (Class& c : classes_) {
      if (c.size == size) return c;
    }
    classes_.push_back(Class{size});
    return classes_.back();
  }
  void Refill(Class& c) {
    // (The rest of the old chunk, smaller than a block, is left unused.)
    const size_t bytes = std::max(next_chunk_, c.size);
    next_chunk_ = std::min(next_chunk_ * 2, kMaxChunk);
    chunks_.emplace_back(
        new std::max_align_t[(bytes + sizeof(std::max_align_t) - 1) / sizeof(std::max_align_t)]);
    reserved_ += bytes;
    c.next = reinterpret_cast<char*>(chunks_.back().get());
    c.end = c.next + bytes;
  }

  size_t next_chunk_ = kFirstChunk;
  size_t reserved_ = 0;
  std::vector<Class> classes_;
  std::vector<std::unique_ptr<std::max_align_t[]>> chunks_;
};

// PoolAllocator<T>
//
// A standard allocator over a shared NodePool: single objects (container
// nodes) come from the pool, arrays (bucket arrays) from operator new.
template <typename T>
class PoolAllocator {
 public:
  using value_type = T;

  explicit PoolAllocator(std::shared_ptr<NodePool> pool) : pool_(std::move(pool)) {}
  template <typename U>
  PoolAllocator(const PoolAllocator<U>& other) : pool_(other.pool()) {}

  T* allocate(size_t n) {
    static_assert(alignof(T) <= alignof(std::max_align_t));
    if (n == 1) return static_cast<T*>(pool_->Allocate(sizeof(T)));
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, size_t n) {
    if (n == 1) {
      pool_->Deallocate(p, sizeof(T));
    } else {
      std::allocator<T>().deallocate(p, n);
    }
  }

  const std::shared_ptr<NodePool>& pool() const { return pool_; }

  template <typename U>
  bool operator==(const PoolAllocator<U>& o) const {
    return pool_ == o.pool();
  }
  template <typename U>
  bool operator!=(const PoolAllocator<U>& o) const {
    return pool_ != o.pool();
  }

 private:
  std::shared_ptr<NodePool> pool_;
};

}  // namespace eql::runtime
