// bench/sequence/sequence_bench.cpp
//
// Throughput and memory of SequenceOperator on the npm-install rule shape
//   sequence by host.id with maxspan=10s
//     [process where ...] by process.entity_id
//     [process where ...] by process.parent.entity_id
// over a generated stream: 5,000 hosts, 20 events per millisecond, half of
// 65% parents (stage 0), 15% children (stage 1) of a recent parent, 20%
// children of a parent never seen. With maxspan 10 s that holds about
// 100,000 live partials in steady state.
//
// Run: build-runtime/bin/sequence_bench --benchmark_counters_tabular=true
// Counters: events/s (items_per_second), live partials at the end, bytes per
// live partial (heap growth while the operator filled up, from mallinfo2,
// with the events themselves allocated beforehand), alerts.
#include <malloc.h>

#include <cstdio>
#include <random>

#include "benchmark/benchmark.h"
#include "fmt/format.h"
#include "runtime/sequence.hpp"

namespace eql::runtime {
namespace {

struct Prepared {
  EventHandle event;
  StageHit hit;
};

std::vector<Prepared> Generate(size_t n, bool long_ids) {
  std::mt19937_64 rng(42);
  constexpr int kHosts = 5'000;
  constexpr int kPerMs = 20;
  std::vector<Prepared> out;
  out.reserve(n);
  std::vector<JoinKey> recent;  // ring of recent parents' keys
  recent.reserve(4096);
  size_t ring = 0;
  auto entity = [&](uint64_t i) {
    return long_ids ? fmt::format("{:016x}{:016x}", i * 0x9e3779b97f4a7c15ULL, i)
                    : fmt::format("e{}", i);
  };
  for (size_t i = 0; i < n; ++i) {
    const int64_t ts = 1'700'000'000'000 + static_cast<int64_t>(i / kPerMs);
    Prepared p;
    p.event = MakeEvent(ts, KeyValue(), i);
    const uint64_t r = rng();
    if (r % 20 < 13 || recent.empty()) {  // 65%: a parent
      JoinKey key{KeyValue(fmt::format("host-{}", r % kHosts)), KeyValue(entity(i))};
      if (recent.size() < 4096) {
        recent.push_back(key);
      } else {
        recent[ring++ % 4096] = key;
      }
      p.hit = StageHit{0, {std::move(key)}};
    } else if (r % 20 < 17) {  // 20%: a child of an unknown parent
      p.hit = StageHit{
          1, {JoinKey{KeyValue(fmt::format("host-{}", r % kHosts)), KeyValue(entity(i + n))}}};
    } else {
      p.hit = StageHit{1, {recent[(r >> 8) % recent.size()]}};  // 15%: of a recent one
    }
    out.push_back(std::move(p));
  }
  return out;
}

class CountingSink final : public AlertSink {
 public:
  void OnAlert(JoinAlert&& a) override {
    ++alerts;
    benchmark::DoNotOptimize(a.events.data());
  }
  uint64_t alerts = 0;
};

SequenceSpec NpmSpec() {
  SequenceSpec spec;
  spec.stages = {{}, {}};
  spec.maxspan_ms = 10'000;
  spec.key_count = 2;
  return spec;
}

void RunNpm(benchmark::State& state, bool long_ids) {
  const size_t n = static_cast<size_t>(state.range(0));
  const auto events = Generate(n, long_ids);
  uint64_t live = 0, alerts = 0;
  double bytes_per_partial = 0;
  for (auto _ : state) {
    state.PauseTiming();
    malloc_trim(0);
    const size_t before = mallinfo2().uordblks;
    auto op = *SequenceOperator::Create(NpmSpec());
    CountingSink sink;
    state.ResumeTiming();
    for (const Prepared& p : events) {
      op->OnEvent(p.event, {&p.hit, 1}, {}, sink);
    }
    state.PauseTiming();
    live = op->counters().partials_live;
    alerts = sink.alerts;
    const size_t after = mallinfo2().uordblks;
    bytes_per_partial = live ? static_cast<double>(after - before) / live : 0;
    op.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
  state.counters["live_partials"] = static_cast<double>(live);
  state.counters["bytes_per_partial"] = bytes_per_partial;
  state.counters["alerts"] = static_cast<double>(alerts);
}

void BM_NpmRule_LongEntityIds(benchmark::State& state) { RunNpm(state, true); }
void BM_NpmRule_ShortEntityIds(benchmark::State& state) { RunNpm(state, false); }

BENCHMARK(BM_NpmRule_LongEntityIds)->Arg(4'000'000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_NpmRule_ShortEntityIds)->Arg(4'000'000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace eql::runtime

BENCHMARK_MAIN();
