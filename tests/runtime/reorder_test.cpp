// tests/runtime/reorder_test.cpp
//
// The reorder stage on its own, and the property that matters for a stream:
// events shuffled within the allowed lateness, put through ReorderBuffer and
// the sequence operator, give exactly the alerts (same events, same keys,
// same order) as the batch run over the sorted input.
#include "runtime/reorder.hpp"

#include <cstdio>
#include <memory>
#include <random>

#include "gtest/gtest.h"
#include "runtime/sequence.hpp"

namespace eql::runtime {
namespace {

TEST(ReorderBuffer, ReleasesInOrderBehindTheWatermark) {
  ReorderBuffer<int> buf(ReorderOptions::Streaming(10));
  std::vector<int> out;
  auto rel = [&](const Ordinal&, int&& v, bool late) {
    EXPECT_FALSE(late);
    out.push_back(v);
  };
  buf.Push(100, KeyValue(), 1, rel);
  buf.Push(95, KeyValue(), 2, rel);   // 5 ms late: within the lateness
  buf.Push(105, KeyValue(), 3, rel);  // watermark 95: nothing is below it
  EXPECT_TRUE(out.empty());
  buf.Push(111, KeyValue(), 4, rel);  // watermark 101: releases 95, 100
  std::printf("released after ts=111: %zu (watermark %lld)\n", out.size(),
              (long long)buf.watermark());
  EXPECT_EQ(out, (std::vector<int>{2, 1}));
  buf.Flush(rel);
  EXPECT_EQ(out, (std::vector<int>{2, 1, 3, 4}));
  EXPECT_EQ(buf.counters().late, 0u);
}

TEST(ReorderBuffer, EqualTimestampsSortByTiebreakerThenArrival) {
  ReorderBuffer<std::string> buf(ReorderOptions::Streaming(0));
  std::vector<std::string> out;
  auto rel = [&](const Ordinal&, std::string&& v, bool) { out.push_back(v); };
  buf.Push(5, KeyValue(int64_t{3}), "c", rel);
  buf.Push(5, KeyValue(), "null-tb", rel);  // a null tiebreaker sorts last
  buf.Push(5, KeyValue(int64_t{1}), "a", rel);
  EXPECT_TRUE(out.empty()) << "lateness 0 must still hold the newest millisecond";
  buf.Push(6, KeyValue(int64_t{0}), "next", rel);
  std::printf("order at ts=5: %s %s %s\n", out[0].c_str(), out[1].c_str(), out[2].c_str());
  EXPECT_EQ(out, (std::vector<std::string>{"a", "c", "null-tb"}));
}

TEST(ReorderBuffer, LateEventsByPolicy) {
  for (LatePolicy policy : {LatePolicy::kDrop, LatePolicy::kProcess}) {
    ReorderBuffer<int> buf(ReorderOptions::Streaming(10, policy));
    std::vector<std::pair<int, bool>> out;
    auto rel = [&](const Ordinal&, int&& v, bool late) { out.emplace_back(v, late); };
    buf.Push(100, KeyValue(), 1, rel);
    buf.Push(200, KeyValue(), 2, rel);  // watermark 190: releases 1
    buf.Push(150, KeyValue(), 3, rel);  // below 190: late
    const auto& c = buf.counters();
    std::printf("policy=%s late=%llu dropped=%llu released_late=%llu\n",
                policy == LatePolicy::kDrop ? "drop" : "process", (unsigned long long)c.late,
                (unsigned long long)c.late_dropped, (unsigned long long)c.late_released);
    EXPECT_EQ(c.late, 1u);
    if (policy == LatePolicy::kDrop) {
      EXPECT_EQ(c.late_dropped, 1u);
      EXPECT_EQ(out, (std::vector<std::pair<int, bool>>{{1, false}}));
    } else {
      EXPECT_EQ(c.late_released, 1u);
      EXPECT_EQ(out, (std::vector<std::pair<int, bool>>{{1, false}, {3, true}}));
    }
  }
}

TEST(ReorderBuffer, BatchHoldsEverythingUntilFlushAndTakesMoveOnlyPayloads) {
  ReorderBuffer<std::unique_ptr<int>> buf(ReorderOptions::Batch());
  std::vector<int> out;
  auto rel = [&](const Ordinal&, std::unique_ptr<int>&& v, bool) { out.push_back(*v); };
  for (int ts : {50, 10, 40, 20, 30}) buf.Push(ts, KeyValue(), std::make_unique<int>(ts), rel);
  EXPECT_TRUE(out.empty());
  buf.Push(-1000, KeyValue(), std::make_unique<int>(-1000), rel);  // never late in batch
  buf.Flush(rel);
  std::printf("batch released %zu events\n", out.size());
  EXPECT_EQ(out, (std::vector<int>{-1000, 10, 20, 30, 40, 50}));
  EXPECT_EQ(buf.counters().late, 0u);
}

// A straggler beyond the allowed lateness: dropped and counted (kDrop), or
// given to the operator at once (kProcess), which still joins it to a partial
// that is strictly earlier and counts it as out of order.
TEST(ReorderBuffer, LateChildByPolicyThroughTheOperator) {
  for (LatePolicy policy : {LatePolicy::kDrop, LatePolicy::kProcess}) {
    SequenceSpec spec;
    spec.stages = {{}, {}};
    spec.maxspan_ms = 10'000;
    spec.key_count = 1;
    auto op = *SequenceOperator::Create(spec);
    CollectingSink sink;
    ReorderBuffer<const StageHit*> buf(ReorderOptions::Streaming(1'000, policy));
    auto release = [&](const Ordinal& o, const StageHit*&& hit, bool) {
      op->OnEvent(std::make_shared<const RetainedEvent>(RetainedEvent{o, {}}),
                  hit ? std::span<const StageHit>(hit, 1) : std::span<const StageHit>(), {}, sink);
    };
    StageHit parent{0, {JoinKey{KeyValue("p")}}}, child{1, {JoinKey{KeyValue("p")}}};
    buf.Push(1'000, KeyValue(), &parent, release);
    buf.Push(3'000, KeyValue(), nullptr, release);
    buf.Push(5'000, KeyValue(), nullptr, release);  // watermark 4,000: 1 s and 3 s out
    buf.Push(2'000, KeyValue(), &child, release);   // 2 s behind: late
    buf.Flush(release);
    op->Flush(sink);
    std::printf("policy=%s: late=%llu alerts=%zu out_of_order=%llu\n",
                policy == LatePolicy::kDrop ? "drop" : "process",
                (unsigned long long)buf.counters().late, sink.alerts.size(),
                (unsigned long long)op->counters().events_out_of_order);
    EXPECT_EQ(buf.counters().late, 1u);
    EXPECT_EQ(sink.alerts.size(), policy == LatePolicy::kDrop ? 0u : 1u);
    EXPECT_EQ(op->counters().events_out_of_order, policy == LatePolicy::kDrop ? 0u : 1u);
  }
}

// --- the stream property ----------------------------------------------------------

struct GenEvent {
  int64_t ts;
  int64_t id;  // unique tiebreaker: the order no longer depends on arrival
  std::vector<StageHit> hits;
  std::vector<JoinKey> until;
};

struct Shape {
  const char* name;
  SequenceSpec spec;
};

std::vector<Shape> Shapes() {
  std::vector<Shape> shapes;
  SequenceSpec npm;  // the seed rule: parent then child, by host and entity
  npm.stages = {{}, {}};
  npm.maxspan_ms = 10'000;
  npm.key_count = 2;
  shapes.push_back({"npm", npm});
  SequenceSpec until = npm;
  until.stages = {{}, {}, {}};
  until.has_until = true;
  shapes.push_back({"three-stages-until", until});
  SequenceSpec runs = npm;
  runs.stages = {{false, 2}, {}};
  shapes.push_back({"runs", runs});
  SequenceSpec inner = npm;
  inner.stages = {{}, {true}, {}};
  shapes.push_back({"inner-missing", inner});
  SequenceSpec trailing = npm;
  trailing.stages = {{}, {}, {true}};
  shapes.push_back({"trailing-missing", trailing});
  SequenceSpec both = npm;
  both.stages = {{true}, {}, {}, {true}};
  shapes.push_back({"leading-and-trailing-missing", both});
  SequenceSpec tail = npm;
  tail.pipes = {PipeSpec::Tail(7)};
  shapes.push_back({"tail", tail});
  SequenceSpec head = trailing;
  head.pipes = {PipeSpec::Head(5)};
  shapes.push_back({"head-trailing", head});
  return shapes;
}

std::vector<GenEvent> Generate(std::mt19937_64& rng, const SequenceSpec& spec, int n) {
  std::vector<GenEvent> events;
  int64_t ts = 1'000'000;
  std::uniform_int_distribution<int> gap(0, 900), host(0, 7), ent(0, 4), pct(0, 99);
  const uint32_t stages = static_cast<uint32_t>(spec.stages.size());
  for (int i = 0; i < n; ++i) {
    ts += gap(rng) < 300 ? 0 : gap(rng);  // many equal timestamps
    GenEvent e{ts, i, {}, {}};
    JoinKey key{KeyValue("h" + std::to_string(host(rng))), KeyValue(int64_t{ent(rng)})};
    const int p = pct(rng);
    if (spec.has_until && p < 8) {
      e.until.push_back(key);
    } else {
      // Mostly one stage, sometimes two (the same event matching several).
      const uint32_t s = static_cast<uint32_t>(pct(rng)) % stages;
      e.hits.push_back({s, {key}});
      if (p > 85) e.hits.push_back({(s + 1) % stages, {key}});
      if (p > 95) {  // and a second key (a multi-valued field)
        JoinKey other{KeyValue("h" + std::to_string(host(rng))), KeyValue(int64_t{ent(rng)})};
        if (!(other == key)) e.hits.back().keys.push_back(other);
      }
    }
    events.push_back(std::move(e));
  }
  return events;
}

struct Out {
  std::vector<std::string> alerts;  // "key:id,id,.."
  uint64_t before_flush = 0;
};

std::string Render(const JoinAlert& a) {
  std::string s = KeyToJson(a.key) + ":";
  for (const auto& e : a.events)
    s += (e ? std::to_string(e->ordinal.tiebreaker.as_int()) : "-") + ",";
  return s;
}

Out RunBatch(const SequenceSpec& spec, std::vector<GenEvent> events) {
  std::stable_sort(events.begin(), events.end(), [](const GenEvent& a, const GenEvent& b) {
    return a.ts != b.ts ? a.ts < b.ts : a.id < b.id;
  });
  Out out;
  auto op = *SequenceOperator::Create(spec);
  FunctionSink sink([&](JoinAlert&& a) { out.alerts.push_back(Render(a)); });
  uint64_t arrival = 0;
  for (const GenEvent& e : events) {
    op->OnEvent(MakeEvent(e.ts, KeyValue(e.id), arrival++), e.hits, e.until, sink);
  }
  out.before_flush = out.alerts.size();
  op->Flush(sink);
  return out;
}

Out RunStream(const SequenceSpec& spec, const std::vector<GenEvent>& events, int64_t lateness,
              std::mt19937_64& rng, ReorderCounters* rc) {
  // Arrival time = event time + a delay of up to the allowed lateness.
  std::uniform_int_distribution<int64_t> delay(0, lateness);
  std::vector<std::pair<int64_t, size_t>> arrivals;
  for (size_t i = 0; i < events.size(); ++i) arrivals.emplace_back(events[i].ts + delay(rng), i);
  std::stable_sort(arrivals.begin(), arrivals.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  Out out;
  auto op = *SequenceOperator::Create(spec);
  FunctionSink sink([&](JoinAlert&& a) { out.alerts.push_back(Render(a)); });
  ReorderBuffer<size_t> buf(ReorderOptions::Streaming(lateness));
  auto release = [&](const Ordinal& o, size_t&& i, bool) {
    auto ev = std::make_shared<const RetainedEvent>(RetainedEvent{o, {}});
    op->OnEvent(ev, events[i].hits, events[i].until, sink);
  };
  for (const auto& [at, i] : arrivals) {
    buf.Push(events[i].ts, KeyValue(events[i].id), size_t{i}, release);
    op->AdvanceWatermark(buf.watermark(), sink);
  }
  buf.Flush(release);
  out.before_flush = out.alerts.size();
  op->Flush(sink);
  *rc = buf.counters();
  return out;
}

TEST(StreamProperty, ShuffledWithinLatenessEqualsBatch) {
  std::mt19937_64 rng(20261124);
  for (const Shape& shape : Shapes()) {
    for (int round = 0; round < 12; ++round) {
      const int64_t lateness = std::array<int64_t, 4>{0, 500, 3'000, 20'000}[round % 4];
      auto events = Generate(rng, shape.spec, 3'000);
      Out batch = RunBatch(shape.spec, events);
      ReorderCounters rc;
      Out stream = RunStream(shape.spec, events, lateness, rng, &rc);
      if (round == 0 || ::testing::Test::HasFailure()) {
        std::printf(
            "%s round %d lateness=%lld: batch=%zu stream=%zu (%llu before flush) late=%llu\n",
            shape.name, round, (long long)lateness, batch.alerts.size(), stream.alerts.size(),
            (unsigned long long)stream.before_flush, (unsigned long long)rc.late);
      }
      ASSERT_EQ(rc.late, 0u) << shape.name;
      ASSERT_EQ(stream.alerts, batch.alerts) << shape.name << " round " << round;
      if (round == 0) EXPECT_FALSE(batch.alerts.empty()) << shape.name << ": a vacuous stream";
    }
  }
}

TEST(StreamProperty, ResultsComeOutBeforeFlushWhenDecidable) {
  // In a stream a result must not wait for the end: without trailing missing
  // stages it leaves as its last event is released; with them, once the
  // watermark passes maxspan.
  std::mt19937_64 rng(7);
  for (const Shape& shape : Shapes()) {
    if (!shape.spec.pipes.empty()) continue;
    auto events = Generate(rng, shape.spec, 3'000);
    ReorderCounters rc;
    Out stream = RunStream(shape.spec, events, 1'000, rng, &rc);
    std::printf("%s: %zu alerts, %llu before flush\n", shape.name, stream.alerts.size(),
                (unsigned long long)stream.before_flush);
    EXPECT_GE(stream.before_flush * 10, stream.alerts.size() * 9) << shape.name;
  }
}

TEST(StreamProperty, TrailingMissingWaitsForTheWatermark) {
  // [a] ![m] with maxspan 10 s: the candidate is decided only when the
  // watermark is past a + 10 s; a later `m` within 10 s discards it.
  SequenceSpec spec;
  spec.stages = {{}, {true}};
  spec.maxspan_ms = 10'000;
  spec.key_count = 1;
  auto op = *SequenceOperator::Create(spec);
  CollectingSink sink;
  JoinKey k{KeyValue("k")};
  StageHit a{0, {k}}, m{1, {k}};
  op->OnEvent(MakeEvent(1'000, KeyValue(), 1), {&a, 1}, {}, sink);
  op->AdvanceWatermark(11'000, sink);  // an m at 11'000 could still come
  EXPECT_TRUE(sink.alerts.empty());
  op->AdvanceWatermark(11'001, sink);
  std::printf("after watermark 11.001s: %zu alert(s)\n", sink.alerts.size());
  ASSERT_EQ(sink.alerts.size(), 1u);
  EXPECT_EQ(sink.alerts[0].events[1], nullptr);

  op->OnEvent(MakeEvent(20'000, KeyValue(), 2), {&a, 1}, {}, sink);
  op->OnEvent(MakeEvent(30'000, KeyValue(), 3), {&m, 1}, {}, sink);  // exactly maxspan later
  op->Flush(sink);
  std::printf("with a missing event 10.000s later: %zu alert(s) total\n", sink.alerts.size());
  EXPECT_EQ(sink.alerts.size(), 1u);
  EXPECT_EQ(op->counters().candidates_discarded, 1u);
}

}  // namespace
}  // namespace eql::runtime

namespace eql::runtime {
namespace {

TEST(StreamProperty, WatermarkJumpStillSeesTrailingMissingHit) {
  // [a] ![m] with maxspan 1 s: a at 1 ms, m at 3 ms, then the watermark jumps
  // far beyond maxspan (the next event of the stream is a day later). The
  // candidate must be decided with m still known, i.e. discarded; pruning old
  // missing hits before deciding lost m and emitted a false alert.
  SequenceSpec spec;
  spec.stages = {{}, {true}};
  spec.maxspan_ms = 1'000;
  spec.key_count = 0;
  for (bool via_event : {false, true}) {
    auto op = *SequenceOperator::Create(spec);
    CollectingSink sink;
    StageHit a{0, {JoinKey{}}}, m{1, {JoinKey{}}};
    op->OnEvent(MakeEvent(1, KeyValue(), 1), {&a, 1}, {}, sink);
    op->OnEvent(MakeEvent(3, KeyValue(), 2), {&m, 1}, {}, sink);
    if (via_event) {
      op->OnEvent(MakeEvent(86'400'000, KeyValue(), 3), {}, {}, sink);
    } else {
      op->AdvanceWatermark(86'400'000, sink);
    }
    op->Flush(sink);
    std::printf("watermark jump (%s): %zu alert(s)\n", via_event ? "event" : "AdvanceWatermark",
                sink.alerts.size());
    EXPECT_TRUE(sink.alerts.empty());
  }
}

}  // namespace
}  // namespace eql::runtime
