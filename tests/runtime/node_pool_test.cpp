// tests/runtime/node_pool_test.cpp
//
// runtime::NodePool: distinct, aligned blocks; freed blocks come back; the
// memory taken from the system follows what is used (an idle operator's
// pool holds a kilobyte, not a 64 KiB chunk cut up and written whole).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <iostream>
#include <set>
#include <vector>

#include "runtime/node_pool.hpp"

namespace eql::runtime {
namespace {

TEST(NodePool, BlocksAreDistinctAlignedAndReused) {
  std::cout << "  checks: 20,000 blocks of two sizes are distinct, aligned and writable;\n"
               "  freed blocks are handed out again before new memory is taken\n";
  NodePool pool;
  std::vector<void*> small, large;
  std::set<uintptr_t> seen;
  for (int i = 0; i < 10000; ++i) {
    small.push_back(pool.Allocate(24));
    large.push_back(pool.Allocate(200));
    std::memset(small.back(), 0x5a, 24);
    std::memset(large.back(), 0xa5, 200);
  }
  for (void* p : small) {
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % alignof(std::max_align_t), 0u);
    EXPECT_TRUE(seen.insert(reinterpret_cast<uintptr_t>(p)).second);
  }
  for (void* p : large) {
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % alignof(std::max_align_t), 0u);
    EXPECT_TRUE(seen.insert(reinterpret_cast<uintptr_t>(p)).second);
  }
  // Blocks do not overlap: every small block still holds its bytes.
  for (void* p : small) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (int k = 0; k < 24; ++k) ASSERT_EQ(b[k], 0x5a);
  }
  const size_t reserved = pool.reserved_bytes();
  EXPECT_GE(reserved, 10000u * (32 + 208));
  EXPECT_LE(reserved, 2 * 10000u * (32 + 208) + 2 * 64 * 1024);
  for (void* p : large) pool.Deallocate(p, 200);
  std::set<void*> freed(large.begin(), large.end());
  for (int i = 0; i < 10000; ++i) EXPECT_TRUE(freed.count(pool.Allocate(200)) == 1);
  EXPECT_EQ(pool.reserved_bytes(), reserved) << "freed blocks were reused";
  std::cout << "  " << pool.reserved_bytes() << " bytes reserved for "
            << 10000 * (32 + 208) << " bytes of blocks\n";
}

TEST(NodePool, AnIdlePoolHoldsLittle) {
  std::cout << "  checks: a pool with one block holds at most a kilobyte or so\n";
  NodePool pool;
  EXPECT_EQ(pool.reserved_bytes(), 0u);
  (void)pool.Allocate(48);
  EXPECT_LE(pool.reserved_bytes(), 1024u);
  (void)pool.Allocate(2000);  // a block larger than the next chunk
  EXPECT_GE(pool.reserved_bytes(), 1024u + 2000u);
}

}  // namespace
}  // namespace eql::runtime
