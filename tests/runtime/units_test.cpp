// tests/runtime/units_test.cpp
//
// Small contracts of the runtime types and edge rules of the matcher that
// the Elasticsearch suites do not pin down.
#include <cstdio>

#include "absl/container/flat_hash_set.h"
#include "gtest/gtest.h"
#include "runtime/pipe.hpp"
#include "runtime/sequence.hpp"

namespace eql::runtime {
namespace {

TEST(KeyValue, EqualityIsExactAndTypeSensitive) {
  std::printf("int 1 vs double 1.0 vs \"1\" vs true; \"a\" vs \"A\"\n");
  EXPECT_NE(KeyValue(int64_t{1}), KeyValue(1.0));
  EXPECT_NE(KeyValue(int64_t{1}), KeyValue("1"));
  EXPECT_NE(KeyValue(int64_t{1}), KeyValue(true));
  EXPECT_NE(KeyValue("a"), KeyValue("A"));
  EXPECT_EQ(KeyValue(), KeyValue(nullptr));
  EXPECT_NE(KeyValue(0.0), KeyValue(-0.0));  // Double.equals
  EXPECT_EQ(KeyValue(std::nan("")), KeyValue(-std::nan("")));
  absl::flat_hash_set<JoinKey> set;
  set.insert(JoinKey{KeyValue(int64_t{1}), KeyValue("x")});
  set.insert(JoinKey{KeyValue(1.0), KeyValue("x")});
  set.insert(JoinKey{KeyValue(int64_t{1}), KeyValue("x")});
  EXPECT_EQ(set.size(), 2u);
}

TEST(KeyValue, OrderAndJson) {
  EXPECT_TRUE(Compare(KeyValue(), KeyValue(false)) < 0);  // null first
  EXPECT_TRUE(Compare(KeyValue(false), KeyValue(true)) < 0);
  EXPECT_TRUE(Compare(KeyValue(int64_t{2}), KeyValue(2.5)) < 0);
  EXPECT_TRUE(Compare(KeyValue("GTA"), KeyValue("doom")) < 0);  // bytewise
  EXPECT_EQ(KeyToJson(JoinKey{KeyValue("a\"b"), KeyValue(int64_t{-3}), KeyValue(), KeyValue(true)}),
            R"(["a\"b",-3,null,true])");
}

TEST(ExpandJoinKeys, CartesianProductOfDistinctNonNullValues) {
  std::vector<KeyValue> host{KeyValue("h")};
  std::vector<KeyValue> tags{KeyValue("t1"), KeyValue(), KeyValue("t2"), KeyValue("t1")};
  std::vector<KeyValue> none;
  std::vector<KeyValue> only_null{KeyValue()};
  auto keys = ExpandJoinKeys(std::vector<KeyFieldValues>{{host}, {tags}});
  ASSERT_TRUE(keys.ok());
  std::string text;
  for (const auto& k : *keys) text += KeyToJson(k);
  std::printf("host x tags(t1,null,t2,t1) = %s\n", text.c_str());
  EXPECT_EQ(text, R"(["h","t1"]["h","t2"])");
  // A missing or all-null non-optional field drops the event ...
  EXPECT_TRUE(ExpandJoinKeys(std::vector<KeyFieldValues>{{host}, {none}})->empty());
  EXPECT_TRUE(ExpandJoinKeys(std::vector<KeyFieldValues>{{host}, {only_null}})->empty());
  // ... an optional one is null.
  auto opt = ExpandJoinKeys(std::vector<KeyFieldValues>{{host}, {only_null, true}});
  ASSERT_EQ(opt->size(), 1u);
  EXPECT_EQ(KeyToJson((*opt)[0]), R"(["h",null])");
  // A product that blows up is an error, not an allocation spree.
  std::vector<KeyValue> many;
  for (int i = 0; i < 200; ++i) many.emplace_back(int64_t{i});
  auto big = ExpandJoinKeys(std::vector<KeyFieldValues>{{many}, {many}, {many}});
  std::printf("200^3 keys: %s\n", big.status().ToString().c_str());
  EXPECT_EQ(big.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(Ordinal, TimestampThenTiebreakerNullsLastThenArrival) {
  auto o = [](int64_t ts, KeyValue tb, uint64_t arr) { return Ordinal{ts, std::move(tb), arr}; };
  EXPECT_LT(o(1, KeyValue(int64_t{9}), 9), o(2, KeyValue(int64_t{0}), 0));
  EXPECT_LT(o(1, KeyValue(int64_t{1}), 9), o(1, KeyValue(int64_t{2}), 0));
  EXPECT_LT(o(1, KeyValue(int64_t{5}), 9), o(1, KeyValue(), 0));  // null tiebreaker last
  EXPECT_LT(o(1, KeyValue(), 1), o(1, KeyValue(), 2));
  EXPECT_LT(o(1, KeyValue(int64_t{5}), 1), o(1, KeyValue(int64_t{5}), 2));
}

TEST(Pipes, HeadTailChain) {
  std::vector<int> out;
  PipeChain<int> chain({PipeSpec::Head(4), PipeSpec::Tail(2)});
  for (int i = 1; i <= 10; ++i) chain.Offer(int{i}, [&](int&& v) { out.push_back(v); });
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(chain.done()) << "the head is full: no further input can matter";
  chain.Flush([&](int&& v) { out.push_back(v); });
  EXPECT_EQ(out, (std::vector<int>{3, 4}));
  PipeChain<int> head({PipeSpec::Head(2)});
  out.clear();
  for (int i = 1; i <= 5; ++i) head.Offer(int{i}, [&](int&& v) { out.push_back(v); });
  EXPECT_TRUE(head.done());
  EXPECT_EQ(out, (std::vector<int>{1, 2}));
}

TEST(SequenceSpec, RejectsBadShapes) {
  SequenceSpec s;
  s.stages = {{}, {true}};
  auto st = SequenceOperator::Create(s);
  std::printf("missing without maxspan: %s\n", st.status().ToString().c_str());
  EXPECT_FALSE(st.ok());
  s.maxspan_ms = 10;
  EXPECT_TRUE(SequenceOperator::Create(s).ok());
  s.stages = {{true}, {true}};
  EXPECT_FALSE(SequenceOperator::Create(s).ok()) << "no positive stage";
  s.stages = {{false, 101}, {}};
  EXPECT_FALSE(SequenceOperator::Create(s).ok()) << "runs > 100";
  s.stages = {{}, {}};
  s.maxspan_ms = 0;
  EXPECT_FALSE(SequenceOperator::Create(s).ok()) << "maxspan 0";
}

// An inner missing stage counts only events strictly between the two
// positives' timestamps, in milliseconds (tiebreakers ignored, SEMANTICS
// §2.6): a missing-stage event in the same millisecond as a positive does
// not discard the candidate.
TEST(SequenceMissing, InnerBoundsAreStrictMillis) {
  SequenceSpec spec;
  spec.stages = {{}, {true}, {}};
  spec.maxspan_ms = 1'000;
  spec.key_count = 1;
  JoinKey k{KeyValue("k")};
  StageHit a{0, {k}}, m{1, {k}}, b{2, {k}};
  for (int64_t m_ts : {10, 11, 15, 19, 20}) {
    auto op = *SequenceOperator::Create(spec);
    CollectingSink sink;
    uint64_t n = 0;
    std::vector<std::pair<int64_t, const StageHit*>> evs = {{10, &a}, {m_ts, &m}, {20, &b}};
    std::stable_sort(evs.begin(), evs.end(),
                     [](const auto& x, const auto& y) { return x.first < y.first; });
    for (auto& [ts, hit] : evs) op->OnEvent(MakeEvent(ts, KeyValue(), ++n), {hit, 1}, {}, sink);
    op->Flush(sink);
    const bool inside = m_ts > 10 && m_ts < 20;
    std::printf("a@10 m@%lld b@20: %zu alert(s)\n", (long long)m_ts, sink.alerts.size());
    EXPECT_EQ(sink.alerts.size(), inside ? 0u : 1u) << "m at " << m_ts;
  }
}

// Missing-stage hits are kept only for maxspan, and never more than the cap.
TEST(SequenceMissing, RetainedHitsAreBounded) {
  SequenceSpec spec;
  spec.stages = {{}, {true}};
  spec.maxspan_ms = 10'000;
  spec.key_count = 1;
  spec.max_partials = 100;
  auto op = *SequenceOperator::Create(spec);
  CollectingSink sink;
  uint64_t n = 0;
  for (int i = 0; i < 1000; ++i) {  // 1,000 missing-stage hits in one second
    StageHit m{1, {JoinKey{KeyValue(int64_t{i % 7})}}};
    op->OnEvent(MakeEvent(i, KeyValue(), ++n), {&m, 1}, {}, sink);
  }
  const auto& c = op->counters();
  std::printf("in one second: retained=%llu evicted=%llu\n",
              (unsigned long long)c.missing_hits_retained,
              (unsigned long long)c.missing_hits_evicted);
  EXPECT_EQ(c.missing_hits_retained, 100u);
  EXPECT_EQ(c.missing_hits_evicted, 900u);
  StageHit late{1, {JoinKey{KeyValue(int64_t{0})}}};
  op->OnEvent(MakeEvent(20'000, KeyValue(), ++n), {&late, 1}, {}, sink);
  std::printf("10 s later: retained=%llu\n", (unsigned long long)c.missing_hits_retained);
  EXPECT_EQ(c.missing_hits_retained, 1u) << "older than maxspan: forgotten";
}

// Per (stage, key) the most recent partial wins: a partial advancing into a
// stage replaces the older one waiting there (SEMANTICS §2.2).
TEST(SequenceOrder, NewerPartialReplacesOlderInTheSameStage) {
  SequenceSpec spec;
  spec.stages = {{}, {}, {}};
  spec.key_count = 1;
  auto op = *SequenceOperator::Create(spec);
  CollectingSink sink;
  JoinKey k{KeyValue("k")};
  StageHit a{0, {k}}, b{1, {k}}, c{2, {k}};
  const StageHit* order[] = {&a, &b, &a, &b, &c};  // A1 B2 A3 B4 C5
  uint64_t n = 0;
  for (const StageHit* h : order) {
    ++n;
    op->OnEvent(MakeEvent(static_cast<int64_t>(n), KeyValue(), n), {h, 1}, {}, sink);
  }
  ASSERT_EQ(sink.alerts.size(), 1u);
  std::string ids;
  for (const auto& e : sink.alerts[0].events) ids += std::to_string(e->ordinal.arrival) + " ";
  std::printf("A1 B2 A3 B4 C5 -> %s(superseded=%llu)\n", ids.c_str(),
              (unsigned long long)op->counters().partials_superseded);
  EXPECT_EQ(ids, "3 4 5 ");
  EXPECT_EQ(op->counters().partials_superseded, 1u);
}

// Several keys completing on one event leave in key order, whatever order
// the caller listed them in.
TEST(SequenceOrder, SameEventCompletionsSortedByKey) {
  SequenceSpec spec;
  spec.stages = {{}, {}};
  spec.key_count = 1;
  auto op = *SequenceOperator::Create(spec);
  CollectingSink sink;
  StageHit first{0, {JoinKey{KeyValue("c")}, JoinKey{KeyValue("a")}, JoinKey{KeyValue("b")}}};
  StageHit second{1, {JoinKey{KeyValue("b")}, JoinKey{KeyValue("c")}, JoinKey{KeyValue("a")}}};
  op->OnEvent(MakeEvent(1, KeyValue(), 1), {&first, 1}, {}, sink);
  op->OnEvent(MakeEvent(2, KeyValue(), 2), {&second, 1}, {}, sink);
  ASSERT_EQ(sink.alerts.size(), 3u);
  std::string keys;
  for (auto& al : sink.alerts) keys += KeyToJson(al.key);
  std::printf("order: %s\n", keys.c_str());
  EXPECT_EQ(keys, R"(["a"]["b"]["c"])");
}

// `head N` makes the operator quiet: state is freed, later events ignored.
TEST(SequenceOrder, HeadStopsTheOperator) {
  SequenceSpec spec;
  spec.stages = {{}, {}};
  spec.key_count = 1;
  spec.pipes = {PipeSpec::Head(1)};
  auto op = *SequenceOperator::Create(spec);
  CollectingSink sink;
  StageHit s0{0, {JoinKey{KeyValue("a")}, JoinKey{KeyValue("b")}}};
  StageHit s1{1, {JoinKey{KeyValue("a")}}};
  op->OnEvent(MakeEvent(1, KeyValue(), 1), {&s0, 1}, {}, sink);
  op->OnEvent(MakeEvent(2, KeyValue(), 2), {&s1, 1}, {}, sink);
  EXPECT_TRUE(op->done());
  op->OnEvent(MakeEvent(3, KeyValue(), 3), {&s0, 1}, {}, sink);
  op->Flush(sink);
  const auto& c = op->counters();
  std::printf("head 1: alerts=%zu live=%llu dropped_at_done=%llu events=%llu\n", sink.alerts.size(),
              (unsigned long long)c.partials_live, (unsigned long long)c.dropped_at_done,
              (unsigned long long)c.events);
  EXPECT_EQ(sink.alerts.size(), 1u);
  EXPECT_EQ(c.partials_live, 0u);
  EXPECT_EQ(c.dropped_at_done, 1u);  // the partial of key "b"
  EXPECT_EQ(c.events, 2u);
}

// An until event only stops partials whose last event is at or before it,
// for its own key; a completed sequence is never revoked.
TEST(SequenceUntil, StopsOnlyItsKeyAndOnlyInFlight) {
  SequenceSpec spec;
  spec.stages = {{}, {}};
  spec.key_count = 1;
  spec.has_until = true;
  auto op = *SequenceOperator::Create(spec);
  CollectingSink sink;
  JoinKey a{KeyValue("a")}, b{KeyValue("b")};
  StageHit s0{0, {a, b}}, s1{1, {a, b}};
  op->OnEvent(MakeEvent(1, KeyValue(), 1), {&s0, 1}, {}, sink);
  op->OnEvent(MakeEvent(2, KeyValue(), 2), {}, std::span<const JoinKey>(&a, 1), sink);
  op->OnEvent(MakeEvent(3, KeyValue(), 3), {&s1, 1}, {}, sink);
  ASSERT_EQ(sink.alerts.size(), 1u);
  EXPECT_EQ(KeyToJson(sink.alerts[0].key), R"(["b"])");
  EXPECT_EQ(op->counters().partials_until_killed, 1u);
  // An until for a key with nothing in flight is not even recorded.
  op->OnEvent(MakeEvent(4, KeyValue(), 4), {}, std::span<const JoinKey>(&b, 1), sink);
  std::printf("untils recorded=%llu killed=%llu\n",
              (unsigned long long)op->counters().untils_recorded,
              (unsigned long long)op->counters().partials_until_killed);
  EXPECT_EQ(op->counters().untils_recorded, 1u);
}

}  // namespace
}  // namespace eql::runtime
