// tests/runtime/es_endgame_test.cpp
//
// The sequence cases of Elasticsearch's test_queries.toml and
// additional_test_queries.toml on the endgame data (test_data.json;
// @timestamp = timestamp / 10000 - 11644473600000, tiebreaker
// serial_event_id): all 45 sequence cases.
#include "es_data.hpp"

namespace eql::runtime::testdata {
namespace {

class Endgame : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ds_ = Dataset::Load({"test_data.json"}, Format::kEndgame, "serial_event_id").release();
  }
  static void TearDownTestSuite() { delete ds_; }

  static void Check(const char* name, const TQuery& q, std::vector<int64_t> ids) {
    TResult got = testdata::Run(*ds_, q);
    std::printf("[%s] ids got=%s want=%s\n", name, Show(got.ids).c_str(), Show(ids).c_str());
    EXPECT_EQ(got.ids, ids) << name;
  }
  static Dataset* ds_;
};
Dataset* Endgame::ds_ = nullptr;

Where Proc(std::function<bool(const Ev&)> f = nullptr) {
  return [f](const Ev& e) { return Is(e, "process") && (!f || f(e)); };
}
Where File(std::function<bool(const Ev&)> f = nullptr) {
  return [f](const Ev& e) { return Is(e, "file") && (!f || f(e)); };
}
Where Any(std::function<bool(const Ev&)> f = nullptr) {
  return [f](const Ev& e) { return !f || f(e); };
}
std::function<bool(const Ev&)> Id(std::function<bool(int64_t)> f) {
  return [f](const Ev& e) { return f(Int(e, "serial_event_id").value_or(-1)); };
}
std::function<bool(const Ev&)> Op(int64_t n) {
  return [n](const Ev& e) { return EqInt(e, "opcode", n); };
}
TQuery Q(std::vector<TStage> stages, std::vector<KeyField> by = {}) {
  TQuery q;
  q.stages = std::move(stages);
  q.by = std::move(by);
  return q;
}

TEST_F(Endgame, LoadsAndOrders) {
  ASSERT_EQ(ds_->events.size(), 102u);
  // serial_event_id is the tiebreaker and grows with time in this data.
  std::printf("first=%lld last=%lld\n", (long long)ds_->events.front().id,
              (long long)ds_->events.back().id);
  EXPECT_EQ(ds_->events.front().id, 1);
}

TEST_F(Endgame, UnkeyedStages) {
  auto eq = [](int64_t n) { return Proc(Id([n](int64_t i) { return i == n; })); };
  auto le = [](int64_t n) { return Proc(Id([n](int64_t i) { return i <= n; })); };
  auto lt = [](int64_t n) { return Proc(Id([n](int64_t i) { return i < n; })); };
  auto all = Proc();
  Check("sequenceOneOneMatch", Q({S(eq(1)), S(eq(2))}), {1, 2});
  Check("twoSequencesAdditional1", Q({S(eq(1)), S(eq(2))}), {1, 2});
  Check("sequenceManyOneMatch", Q({S(lt(5)), S(eq(5))}), {4, 5});
  Check("sequenceOneOneOne", Q({S(eq(1)), S(eq(2)), S(eq(3))}), {1, 2, 3});
  Check("sequenceOneManyMany", Q({S(eq(1)), S(all), S(all)}), {1, 2, 3});
  Check("sequenceConditionManyMany", Q({S(le(3)), S(all), S(all)}), {1, 2, 3, 2, 3, 4, 3, 4, 5});
  Check("sequenceManyConditionMany", Q({S(all), S(le(3)), S(all)}), {1, 2, 3, 2, 3, 4});
  Check("sequenceManyManyCondition", Q({S(all), S(all), S(le(3))}), {1, 2, 3});
  Check("sequenceThreeManyCondition1", Q({S(le(4)), S(all), S(all), S(all)}),
        {1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6, 4, 5, 6, 7});
  Check("sequenceThreeManyCondition2", Q({S(all), S(le(4)), S(all), S(all)}),
        {1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6});
  Check("sequenceThreeManyCondition3", Q({S(all), S(all), S(le(4)), S(all)}),
        {1, 2, 3, 4, 2, 3, 4, 5});
  Check("sequenceThreeManyCondition4", Q({S(all), S(all), S(all), S(le(4))}), {1, 2, 3, 4});
  Check("doubleSameSequence", Q({S(lt(5)), S(lt(5))}), {1, 2, 2, 3, 3, 4});
  Check("twoSequencesAdditional4",
        Q({S(Proc([](const Ev&) { return false; }), {K("unique_pid")}),
           S(Proc(), {K("unique_ppid")})}),
        {});
}

TEST_F(Endgame, KeyedStages) {
  Check("twoSequencesWithKeys",
        Q({S(Proc(), {K("unique_pid")}), S(Proc(Op(1)), {K("unique_ppid")})}),
        {48, 53, 53, 54, 54, 56, 97, 98});
  Check("twoSequencesWithTwoKeys",
        Q({S(Proc(), {K("unique_pid"), K("process_path")}),
           S(Proc(Op(1)), {K("unique_ppid"), K("parent_process_path")})}),
        {48, 53, 53, 54, 54, 56, 97, 98});
  auto four = [](std::vector<KeyField> by) {
    return Q({S(Proc(Op(1)), by), S(File(Op(0)), by), S(File(Op(0)), by), S(File(Op(0)), by)});
  };
  Check("fourSequencesByPid", four({K("unique_pid")}), {54, 55, 61, 67});
  Check("fourSequencesByPidAndProcessPath1", four({K("unique_pid"), K("process_path")}),
        {54, 55, 61, 67});
  TQuery u = four({K("unique_pid")});
  u.until = S(File(Op(2)), {K("unique_pid")});
  Check("fourSequencesByPidWithUntil1", u, {});
  u.until = S(File(Op(200)), {K("unique_pid")});
  Check("fourSequencesByPidWithUntil2", u, {54, 55, 61, 67});
  TQuery u2 = four({K("unique_pid"), K("process_path")});
  u2.until = S(File(Op(200)), {K("unique_pid"), K("process_path")});
  Check("fourSequencesByPidAndProcessPathWithUntil", u2, {54, 55, 61, 67});

  auto id1 = Proc(Id([](int64_t i) { return i == 1; }));
  auto lt3 = Proc(Id([](int64_t i) { return i < 3; }));
  Check("sequenceOneManyWithJoin", Q({S(id1, {K("unique_pid")}), S(Proc(), {K("unique_ppid")})}),
        {1, 2});
  Check("sequenceManyManyWithJoin", Q({S(lt3, {K("unique_pid")}), S(Proc(), {K("unique_ppid")})}),
        {1, 2, 2, 3});
  Check("sequenceWithAnyFilter",
        Q({S(Any(Id([](int64_t i) { return i < 3; })), {K("unique_pid")}),
           S(Any(), {K("unique_ppid")})}),
        {1, 2, 2, 3});
  Check("sequenceWithMoreThan10Results",
        Q({S(Any()), S(Any()), S(Any(Id([](int64_t i) { return i < 72; })))}, {K("unique_pid")}),
        {54, 55, 59, 55, 59, 61, 59, 61, 65, 16, 60, 66, 61, 65, 67, 65, 67, 70, 60, 66, 71});
  Check("sequencesOnDifferentEventTypes1",
        Q({S(Proc([](const Ev& e) {
             return EqInt(e, "opcode", 1) && Like(e, "process_name", "MSBuild.exe");
           })),
           S([](const Ev& e) { return Is(e, "network"); })},
          {K("unique_pid")}),
        {75273, 75304});
  // additional_test_queries.toml repeats three of the above under new names.
  Check("twoSequencesAdditional2", Q({S(id1, {K("unique_pid")}), S(Proc(), {K("unique_ppid")})}),
        {1, 2});
  Check("twoSequencesAdditional3", Q({S(lt3, {K("unique_pid")}), S(Proc(), {K("unique_ppid")})}),
        {1, 2, 2, 3});
  Check("sequencesOnDifferentEventTypesWithBy",
        Q({S(File([](const Ev& e) {
               return EqInt(e, "opcode", 0) && Like(e, "file_name", "svchost.exe");
             }),
             {K("unique_pid")}),
           S(Proc(Op(1)), {K("unique_ppid")})}),
        {55, 56});
}

TEST_F(Endgame, MaxspanAndPipes) {
  auto q = [](std::optional<int64_t> maxspan) {
    TQuery r =
        Q({S(File([](const Ev& e) { return Like(e, "event_subtype_full", "file_create_event"); }),
             {K("file_path")}),
           S(Proc(Op(1)), {K("process_path")}), S(Proc(Op(2)), {K("process_path")}),
           S(File([](const Ev& e) { return Like(e, "event_subtype_full", "file_delete_event"); }),
             {K("file_path")})});
    r.maxspan_ms = maxspan;
    r.pipes = {PipeSpec::Head(4), PipeSpec::Tail(2)};
    return r;
  };
  const std::vector<int64_t> want = {67, 68, 69, 70, 72, 73, 74, 75};
  Check("sequencesOnDifferentEventTypes2", q(std::nullopt), want);
  Check("sequencesOnDifferentEventTypes3", q(86'400'000), want);
  Check("sequencesOnDifferentEventTypes4", q(3'600'000), want);
  Check("sequencesOnDifferentEventTypes5", q(60'000), want);
  Check("sequencesOnDifferentEventTypes6", q(10'000), want);
  Check("sequencesOnDifferentEventTypes7", q(500), {});

  auto exe =
      File([](const Ev& e) { return EqInt(e, "opcode", 0) && Like(e, "file_name", "*.exe"); });
  TQuery d = Q({S(File(Op(0)), {K("unique_pid")}), S(File(Op(0)), {K("unique_pid")})});
  d.pipes = {PipeSpec::Head(1)};
  Check("doubleSameSequenceWithBy", d, {55, 61});
  TQuery du = Q({S(exe, {K("unique_pid")}), S(exe, {K("unique_pid")})});
  du.pipes = {PipeSpec::Head(1)};
  du.until = S(Proc(Op(5000)), {K("unique_ppid")});
  Check("doubleSameSequenceWithByUntilAndHead1", du, {55, 61});
  du.until = S(Proc(Op(1)), {K("unique_ppid")});
  Check("doubleSameSequenceWithByUntilAndHead2", du, {});
}

TEST_F(Endgame, SequenceByAndUntil) {
  auto lsass = File([](const Ev& e) { return Like(e, "file_name", "lsass.exe"); });
  std::vector<KeyField> fk = {K("file_path"), K("process_path")};
  std::vector<KeyField> pk = {K("process_path"), K("parent_process_path")};
  Check("twoSequencesWithKeys2", Q({S(lsass, fk), S(Proc(), pk)}), {61, 62});
  Check("twoSequencesWithKeys3", Q({S(lsass, fk), S(Proc(), pk)}, {K("user_name")}), {61, 62});
  Check("twoSequencesWithKeys4", Q({S(lsass, fk), S(Proc(), pk)}, {K("pid")}), {});

  auto mixed = [](std::vector<KeyField> by) {
    TQuery r = Q({S(File(Op(0)), {K("file_path")}), S(Proc(Op(1)), {K("process_path")}),
                  S(Proc(Op(2)), {K("process_path")}), S(File(Op(2)), {K("file_path")})},
                 std::move(by));
    r.pipes = {PipeSpec::Tail(1)};
    return r;
  };
  Check("fourSequencesByMixedFields", mixed({K("user_name")}), {88, 89, 90, 91});
  Check("fourSequencesWithTail", mixed({K("pid")}), {});

  TQuery t =
      Q({S(File(Op(0)), {K("pid"), K("file_path")}), S(File(Op(2)), {K("pid"), K("file_path")})},
        {K("user_name")});
  t.until = S(Proc(Op(2)), {K("ppid"), K("process_path")});
  Check("twoSequencesWithTwoKeysAndUntil", t, {});
  t.until = S(Proc(Op(5)), {K("ppid"), K("process_path")});
  t.pipes = {PipeSpec::Head(2)};
  Check("twoSequencesWithUntil", t, {55, 59, 61, 65});
}

}  // namespace
}  // namespace eql::runtime::testdata
