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
// Fixed-size blocks carved from 64 KiB chunks; one free list per block size
// (a container allocates very few distinct sizes). Not thread-safe.
class NodePool {
 public:
  NodePool() = default;
  NodePool(const NodePool&) = delete;
  NodePool& operator=(const NodePool&) = delete;

  void* Allocate(size_t bytes) {
    Class& c = ClassFor(bytes);
    if (c.free == nullptr) Refill(c);
    Free* f = c.free;
    c.free = f->next;
    return f;
  }
  void Deallocate(void* p, size_t bytes) {
    Class& c = ClassFor(bytes);
    Free* f = static_cast<Free*>(p);
    f->next = c.free;
    c.free = f;
  }

  //! Bytes obtained from the system.
  size_t reserved_bytes() const { return chunks_.size() * kChunk; }

 private:
  struct Free {
    Free* next;
  };
  struct Class {
    size_t size;
    Free* free = nullptr;
  };
  static constexpr size_t kChunk = 64 * 1024;

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
    chunks_.emplace_back(new std::max_align_t[kChunk / sizeof(std::max_align_t)]);
    char* base = reinterpret_cast<char*>(chunks_.back().get());
    for (size_t off = 0; off + c.size <= kChunk; off += c.size) {
      Free* f = reinterpret_cast<Free*>(base + off);
      f->next = c.free;
      c.free = f;
    }
  }

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
