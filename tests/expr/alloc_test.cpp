// Steady state allocates nothing: projecting an event into a reused Record
// and evaluating conditions and join keys over it makes no heap allocation
// once the buffers have grown (the global operator new is counted here, so
// this is its own test binary).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "analysis/compile.hpp"
#include "expr/eval.hpp"
#include "io/json_projector.hpp"
#include "mini_parser.hpp"

namespace {
std::atomic<uint64_t> g_allocations{0};
}

// Under AddressSanitizer the sanitizer owns operator new (shared libraries
// bind to its version), so the counting replacement is left out and the test
// skips.
#if defined(__SANITIZE_ADDRESS__)
#define EQL_COUNTING_NEW 0
#else
#define EQL_COUNTING_NEW 1
void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#endif

namespace eql {
namespace {

TEST(Allocation, ProjectAndMatchSteadyStateAllocatesNothing) {
  std::printf("checks: no heap allocation per event after warm-up (project + match + keys)\n");
  if (!EQL_COUNTING_NEW) GTEST_SKIP() << "allocation counting is off under AddressSanitizer";
  const char* query = R"(process where host.os.type == "windows" and event.type == "start" and
    (process.name : "node.exe" or ?process.pe.original_file_name == "node.exe") and
    ((process.executable : ("?:\\Users\\*\\AppData\\*\\node.exe") and process.args : "*.js") or
     (process.args : "-r" and process.parent.name : "powershell.exe") or
     process.command_line : ("*eval(*", "*atob(*", "*require*child_process*") or
     length(concat(process.name, "x")) > 100 or process.pid in (1, 2, 3) or
     startsWith~(process.parent.name, "EXPLORER") or process.name regex~ "NODE.*")
  )";
  testing::MiniParser parser(query);
  auto q = parser.ParseQuery();
  ASSERT_TRUE(q) << parser.error();
  io::FieldRegistry fields;
  auto c = analysis::CompileEventQuery(q->event, fields);
  ASSERT_TRUE(c.ok());
  testing::MiniParser key_parser("any where substring(host.id, 1)");
  auto kq = key_parser.ParseQuery();
  ASSERT_TRUE(kq);
  auto key = analysis::CompileKey(kq->event.condition.args.at(0), fields);
  ASSERT_TRUE(key.ok());
  io::JsonProjector projector(fields);
  io::Record record;
  std::vector<io::Scalar> keys;
  const std::vector<std::string> events = {
      R"j({"event":{"category":["process"],"type":["start"]},"host":{"id":"h1","os":{"type":"windows"}},"process":{"name":"node.exe","pid":7,"executable":"C:\\Users\\a\\AppData\\Roaming\\node.exe","args":["node.exe","x.js"],"command_line":"node x.js","parent":{"name":"explorer.exe"}}})j",
      R"j({"event":{"category":["process"],"type":["start"]},"host":{"id":"hostname-two","os":{"type":"windows"}},"process":{"name":"NODE.EXE","pid":2,"args":["-r","hook.js"],"command_line":"node -e eval(atob('eA=='))","parent":{"name":"powershell.exe"}}})j",
      R"j({"event":{"category":["process"],"type":["start"]},"host":{"id":"h3","os":{"type":"windows"}},"process":{"name":"svchost.exe","pid":99,"args":["-k","netsvcs"],"command_line":"svchost.exe -k netsvcs","parent":{"name":"services.exe"}}})j",
  };
  int hits = 0;
  auto run = [&] {
    for (const std::string& e : events) {
      ASSERT_TRUE(projector.Project(e, record).ok());
      hits += expr::Matches(c.value->condition, record);
      expr::KeyValues(*key.value, record, keys);
    }
  };
  for (int i = 0; i < 10; ++i) run();  // warm-up: buffers grow to size
  hits = 0;
  uint64_t before = g_allocations.load();
  for (int i = 0; i < 1000; ++i) run();
  uint64_t after = g_allocations.load();
  std::printf("  allocations in 3000 events: %llu, matches: %d\n",
              static_cast<unsigned long long>(after - before), hits);
  EXPECT_EQ(after - before, 0u);
  EXPECT_EQ(hits, 2000);
}

}  // namespace
}  // namespace eql
