// tests/runtime/sequence_stream_test.cpp
//
// Stream behaviour of the sequence operator on the shape of the npm-install
// seed rule:
//   sequence by host.id with maxspan=10s
//     [process where <npm install>] by process.entity_id
//     [process where <child>]       by process.parent.entity_id
// maxspan edges, key isolation, order, memory bounds and counters.
#include <cstdio>
#include <random>

#include "gtest/gtest.h"
#include "runtime/sequence.hpp"

namespace eql::runtime {
namespace {

constexpr int64_t kMaxspan = 10'000;

struct Npm {
  std::unique_ptr<SequenceOperator> op;
  CollectingSink sink;
  uint64_t arrival = 0;

  explicit Npm(uint64_t cap = 1'000'000) {
    SequenceSpec spec;
    spec.stages = {{}, {}};
    spec.maxspan_ms = kMaxspan;
    spec.key_count = 2;
    spec.max_partials = cap;
    auto created = SequenceOperator::Create(spec);
    EXPECT_TRUE(created.ok()) << created.status();
    op = std::move(*created);
  }
  // The parent (`npm install`) on `host` with entity id `entity`.
  void Parent(int64_t ts, const std::string& host, const std::string& entity) {
    StageHit h{0, {JoinKey{KeyValue(host), KeyValue(entity)}}};
    op->OnEvent(MakeEvent(ts, KeyValue(), ++arrival), {&h, 1}, {}, sink);
  }
  // A child whose process.parent.entity_id is `parent`.
  void Child(int64_t ts, const std::string& host, const std::string& parent) {
    StageHit h{1, {JoinKey{KeyValue(host), KeyValue(parent)}}};
    op->OnEvent(MakeEvent(ts, KeyValue(), ++arrival), {&h, 1}, {}, sink);
  }
};

void ExpectConsistent(const SequenceCounters& c) {
  std::printf(
      "created=%llu live=%llu completed=%llu expired=%llu evicted=%llu until=%llu "
      "superseded=%llu dropped_at_done=%llu\n",
      (unsigned long long)c.partials_created, (unsigned long long)c.partials_live,
      (unsigned long long)c.partials_completed, (unsigned long long)c.partials_expired,
      (unsigned long long)c.partials_evicted, (unsigned long long)c.partials_until_killed,
      (unsigned long long)c.partials_superseded, (unsigned long long)c.dropped_at_done);
  EXPECT_EQ(c.partials_created, c.partials_live + c.partials_completed + c.partials_expired +
                                    c.partials_evicted + c.partials_until_killed +
                                    c.partials_superseded + c.dropped_at_done);
}

TEST(SequenceStream, FiresAtExactlyMaxspan) {
  Npm npm;
  npm.Parent(1'000, "h1", "p1");
  npm.Child(1'000 + kMaxspan, "h1", "p1");
  std::printf("child at +10.000s: %zu alert(s)\n", npm.sink.alerts.size());
  ASSERT_EQ(npm.sink.alerts.size(), 1u);
  EXPECT_EQ(npm.sink.alerts[0].events[0]->ordinal.timestamp_ms, 1'000);
  EXPECT_EQ(npm.sink.alerts[0].events[1]->ordinal.timestamp_ms, 11'000);
  EXPECT_EQ(KeyToJson(npm.sink.alerts[0].key), R"(["h1","p1"])");
  ExpectConsistent(npm.op->counters());
}

TEST(SequenceStream, DoesNotFireOneMillisecondLate) {
  Npm npm;
  npm.Parent(1'000, "h1", "p1");
  npm.Child(1'000 + kMaxspan + 1, "h1", "p1");
  std::printf("child at +10.001s: %zu alert(s), expired=%llu\n", npm.sink.alerts.size(),
              (unsigned long long)npm.op->counters().partials_expired);
  EXPECT_TRUE(npm.sink.alerts.empty());
  EXPECT_EQ(npm.op->counters().partials_expired, 1u);
  ExpectConsistent(npm.op->counters());
}

TEST(SequenceStream, OtherHostOrOtherParentDoesNotJoin) {
  Npm npm;
  npm.Parent(1'000, "h1", "p1");
  npm.Child(2'000, "h2", "p1");  // same entity id, other host
  npm.Child(3'000, "h1", "p2");  // same host, other parent
  std::printf("other host / other parent: %zu alert(s)\n", npm.sink.alerts.size());
  EXPECT_TRUE(npm.sink.alerts.empty());
  npm.Child(4'000, "h1", "p1");
  EXPECT_EQ(npm.sink.alerts.size(), 1u);
}

TEST(SequenceStream, ChildBeforeParentDoesNotFire) {
  Npm npm;
  npm.Child(1'000, "h1", "p1");
  npm.Parent(2'000, "h1", "p1");
  npm.op->Flush(npm.sink);
  std::printf("child before parent: %zu alert(s)\n", npm.sink.alerts.size());
  EXPECT_TRUE(npm.sink.alerts.empty());
}

TEST(SequenceStream, SameTimestampNeedsLaterOrdinal) {
  // Same millisecond: the arrival order decides; an event never fills two
  // stages of one sequence.
  Npm npm;
  SequenceSpec spec;
  spec.stages = {{}, {}};
  spec.key_count = 1;
  auto op = SequenceOperator::Create(spec);
  ASSERT_TRUE(op.ok());
  CollectingSink sink;
  StageHit both[] = {{0, {JoinKey{KeyValue("k")}}}, {1, {JoinKey{KeyValue("k")}}}};
  (*op)->OnEvent(MakeEvent(5, KeyValue(), 1), both, {}, sink);
  EXPECT_TRUE(sink.alerts.empty()) << "one event filled two stages";
  (*op)->OnEvent(MakeEvent(5, KeyValue(), 2), both, {}, sink);
  std::printf("two events at the same ms hitting both stages: %zu alert(s)\n", sink.alerts.size());
  ASSERT_EQ(sink.alerts.size(), 1u);
  EXPECT_EQ(sink.alerts[0].events[0]->ordinal.arrival, 1u);
  EXPECT_EQ(sink.alerts[0].events[1]->ordinal.arrival, 2u);
}

TEST(SequenceStream, FloodOfDistinctKeysStaysBounded) {
  // 1,000,000 parents with distinct entity ids, 10 per millisecond (100 s of
  // stream): by time alone 100,000 would be live; the cap holds it at 50,000.
  constexpr uint64_t kCap = 50'000;
  Npm npm(kCap);
  uint64_t max_live = 0;
  for (int i = 0; i < 1'000'000; ++i) {
    const int64_t ts = i / 10;
    npm.Parent(ts, "h" + std::to_string(i % 1000), "e" + std::to_string(i));
    if (i % 7 == 0)
      npm.Child(ts, "h" + std::to_string((i - 70) % 1000), "e" + std::to_string(i - 70));
    max_live = std::max(max_live, npm.op->counters().partials_live);
  }
  const auto& c = npm.op->counters();
  std::printf("flood: max_live=%llu cap=%llu alerts=%zu evicted=%llu expired=%llu\n",
              (unsigned long long)max_live, (unsigned long long)kCap, npm.sink.alerts.size(),
              (unsigned long long)c.partials_evicted, (unsigned long long)c.partials_expired);
  EXPECT_LE(max_live, kCap);
  EXPECT_GT(c.partials_evicted, 0u);
  EXPECT_GT(npm.sink.alerts.size(), 100'000u);
  ExpectConsistent(c);

  // Without the cap pressure, time expiry alone bounds it: 10 s * 10/ms.
  Npm timed(10'000'000);
  max_live = 0;
  for (int i = 0; i < 1'000'000; ++i) {
    timed.Parent(i / 10, "h", "e" + std::to_string(i));
    max_live = std::max(max_live, timed.op->counters().partials_live);
  }
  std::printf("time-bounded flood: max_live=%llu expired=%llu\n", (unsigned long long)max_live,
              (unsigned long long)timed.op->counters().partials_expired);
  EXPECT_LE(max_live, uint64_t{(kMaxspan + 1) * 10});
  EXPECT_EQ(timed.op->counters().partials_evicted, 0u);
  ExpectConsistent(timed.op->counters());
}

}  // namespace
}  // namespace eql::runtime
