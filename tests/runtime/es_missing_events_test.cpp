// tests/runtime/es_missing_events_test.cpp
//
// All 26 active cases of Elasticsearch's test_missing_events.toml, translated
// by hand: the stage conditions are lambdas, the data is missing-events.data
// (tiebreaker `sequence`), and each case checks the ids (-1 for a missing
// stage) and the join keys.
#include "es_data.hpp"

namespace eql::runtime::testdata {
namespace {

class MissingEvents : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ds_ = Dataset::Load({"missing-events.data"}, Format::kEs, "sequence").release();
  }
  static void TearDownTestSuite() { delete ds_; }

  static Where Tag(std::string cat, std::string tag) {
    return [=](const Ev& e) { return Is(e, cat) && Eq(e, "tag", tag); };
  }

  static void Check(const char* name, const TQuery& q, std::vector<int64_t> ids,
                    std::vector<std::string> keys = {}) {
    TResult got = testdata::Run(*ds_, q);
    std::printf("[%s] ids got=%s want=%s keys got=%s want=%s\n", name, Show(got.ids).c_str(),
                Show(ids).c_str(), Show(got.keys).c_str(), Show(keys).c_str());
    EXPECT_EQ(got.ids, ids) << name;
    EXPECT_EQ(got.keys, keys) << name;
  }

  static Dataset* ds_;
};
Dataset* MissingEvents::ds_ = nullptr;

constexpr int64_t kSecond = 1000, kMinute = 60 * kSecond;

TEST_F(MissingEvents, LoadsAllEvents) {
  std::printf("missing-events.data: %zu events\n", ds_->events.size());
  EXPECT_EQ(ds_->events.size(), 48u);
}

TEST_F(MissingEvents, InnerMissing) {
  auto base = [](std::string missing_tag) {
    TQuery q;
    q.maxspan_ms = kSecond;
    q.stages = {S(Tag("test1", "normal")), Miss(Tag("test1", missing_tag)),
                S(Tag("test1", "normal"))};
    return q;
  };
  Check("missingInBetween_noMatches", base("nonexisting"), {1, -1, 2, 2, -1, 4});
  TQuery head = base("nonexisting");
  head.pipes = {PipeSpec::Head(1)};
  Check("missingInBetween_noMatches_head", head, {1, -1, 2});
  TQuery tail = base("nonexisting");
  tail.pipes = {PipeSpec::Tail(1)};
  Check("missingInBetween_noMatches_tail", tail, {2, -1, 4});
  Check("missingInBetween_match", base("missing"), {1, -1, 2});
}

TEST_F(MissingEvents, TrailingAndSecondCandidate) {
  TQuery q;
  q.maxspan_ms = kSecond;
  q.stages = {S(Tag("test1", "normal")), Miss(Tag("test1", "missing"))};
  Check("positivePlusMissing", q, {4, -1});

  TQuery q2;
  q2.maxspan_ms = kSecond;
  q2.stages = {S(Tag("test2", "normal")), S(Tag("test2", "normal")), Miss(Tag("test2", "missing")),
               S(Tag("test2", "normal"))};
  Check("skipFirstMatchAndPickSecondCandidate", q2, {2, 4, -1, 5});
}

TEST_F(MissingEvents, LeadingAndTrailing) {
  TQuery q;
  q.maxspan_ms = 3 * kMinute;
  q.stages = {Miss(Tag("test3", "missing")), S(Tag("test3", "normal"))};
  Check("leadingSimple", q, {-1, 2, -1, 5, -1, 6});

  TQuery both;
  both.stages = {Miss(Tag("test3", "missing")), S(Tag("test3", "normal")),
                 Miss(Tag("test3", "missing"))};
  both.maxspan_ms = 19 * kMinute;
  Check("leadingAndTrailingExcluded1", both, {-1, 2, -1, -1, 4, -1, -1, 5, -1, -1, 6, -1});
  both.maxspan_ms = 21 * kMinute;
  Check("leadingAndTrailingExcluded2", both, {-1, 4, -1, -1, 5, -1, -1, 6, -1});
}

TEST_F(MissingEvents, MultipleMissing) {
  auto t4 = [](std::string tag) { return Tag("test4", tag); };
  auto q = [&](std::vector<TStage> stages) {
    TQuery r;
    r.maxspan_ms = kSecond;
    r.stages = std::move(stages);
    return r;
  };
  Check("multipleMissing1",
        q({S(t4("A")), S(t4("B")), Miss(t4("M1")), S(t4("C")), Miss(t4("M2")), S(t4("D"))}),
        {13, 14, -1, 16, -1, 17});
  Check("multipleMissing2", q({S(t4("A")), S(t4("B")), Miss(t4("M1")), S(t4("C")), S(t4("D"))}),
        {13, 14, -1, 16, 17});
  Check("multipleMissing3", q({S(t4("A")), S(t4("B")), S(t4("C")), Miss(t4("M2")), S(t4("D"))}),
        {13, 14, 16, -1, 17});
  Check("multipleMissing4",
        q({S(t4("A")), S(t4("B")), Miss(t4("M1")), S(t4("C")), Miss(t4("M2")), S(t4("D")),
           Miss(t4("M4"))}),
        {});
  Check("multipleMissing5",
        q({S(t4("A")), S(t4("B")), Miss(t4("none")), S(t4("C")), Miss(t4("none")), S(t4("D"))}),
        {1, 2, -1, 5, -1, 7, 13, 14, -1, 16, -1, 17});
  Check("multipleMissing6",
        q({S(t4("A")), S(t4("B")), S(t4("C")), Miss(t4("M2")), S(t4("D")), Miss(t4("none"))}),
        {13, 14, 16, -1, 17, -1});
  Check("multipleMissing7",
        q({Miss(t4("none")), S(t4("A")), S(t4("B")), S(t4("C")), Miss(t4("M2")), S(t4("D"))}),
        {-1, 13, 14, 16, -1, 17});
}

TEST_F(MissingEvents, WithByKeys) {
  auto n = Tag("test5", "normal");
  auto m = Tag("test5", "missing");
  auto m10 = [](const Ev& e) {
    return Is(e, "test5") && Eq(e, "tag", "missing") && Int(e, "sequence").value_or(0) > 10;
  };
  {
    TQuery q;
    q.by = {K("k1")};
    q.maxspan_ms = kSecond;
    q.stages = {S(n), S(n), Miss(m), S(n)};
    Check("withByKey1", q, {2, 4, -1, 5, 4, 5, -1, 6}, {"foo", "foo"});
  }
  {
    TQuery q;
    q.maxspan_ms = kSecond;
    q.stages = {S(n, {K("k1")}), S(n, {K("k1")}), Miss(m, {K("k1")}), S(n, {K("k1")})};
    Check("withByKey2", q, {2, 4, -1, 5, 4, 5, -1, 6}, {"foo", "foo"});
  }
  {
    TQuery q;
    q.maxspan_ms = kSecond;
    q.stages = {S(n, {K("k1")}), S(n, {K("k1")}), Miss(m, {K("k2")}), S(n, {K("k1")})};
    Check("withByKey3", q, {2, 4, -1, 5, 4, 5, -1, 6, 5, 6, -1, 8, 9, 10, -1, 12},
          {"foo", "foo", "foo", "baz"});
  }
  {
    TQuery q;
    q.by = {K("k2")};
    q.maxspan_ms = kSecond;
    q.stages = {S(n), S(n), Miss(m), S(n)};
    Check("withByKey4", q, {2, 4, -1, 5, 4, 5, -1, 6, 5, 6, -1, 8, 9, 10, -1, 12},
          {"foo", "foo", "foo", "baz"});
  }
  const std::vector<std::string> keys8 = {"foo", "foo", "foo", "foo", "foo", "foo", "baz", "baz"};
  {
    TQuery q;
    q.by = {K("k1")};
    q.maxspan_ms = kSecond;
    q.stages = {S(n, {K("k2")}), S(n, {K("k2")}), Miss(m, {K("k2")}), S(n, {K("k2")})};
    Check("withByKey5", q, {2, 4, -1, 5, 4, 5, -1, 6, 5, 6, -1, 8, 9, 10, -1, 12}, keys8);
    q.pipes = {PipeSpec::Head(2)};
    Check("withByKey_head", q, {2, 4, -1, 5, 4, 5, -1, 6}, {"foo", "foo", "foo", "foo"});
  }
  {
    TQuery q;
    q.by = {K("k1")};
    q.maxspan_ms = kSecond;
    q.stages = {S(n, {K("k2")}), S(n, {K("k2")}), Miss(m10, {K("k2")}), S(n, {K("k2")})};
    Check("withByKey6", q, {1, 2, -1, 4, 2, 4, -1, 5, 4, 5, -1, 6, 5, 6, -1, 8, 9, 10, -1, 12},
          {"foo", "foo", "foo", "foo", "foo", "foo", "foo", "foo", "baz", "baz"});
    q.pipes = {PipeSpec::Tail(2)};
    Check("withByKey_tail", q, {5, 6, -1, 8, 9, 10, -1, 12}, {"foo", "foo", "baz", "baz"});
  }
  {
    TQuery q;
    q.by = {K("k1")};
    q.maxspan_ms = kSecond;
    q.stages = {S(n, {K("k2")}, 2), Miss(m, {K("k2")}), S(n, {K("k2")})};
    Check("withByKey_runs", q, {2, 4, -1, 5, 4, 5, -1, 6, 5, 6, -1, 8, 9, 10, -1, 12}, keys8);
    q.stages = {S(n, {K("k2")}, 2), Miss(m, {K("k2")}, 2), S(n, {K("k2")})};
    Check("withByKey_runsOnMissing", q,
          {2, 4, -1, -1, 5, 4, 5, -1, -1, 6, 5, 6, -1, -1, 8, 9, 10, -1, -1, 12}, keys8);
  }
}

}  // namespace
}  // namespace eql::runtime::testdata
