// tests/runtime/es_sample_test.cpp
//
// All 25 cases of Elasticsearch's test_sample.toml over sample1/2/3.data
// (loaded in that order, ids from `id`), conditions as lambdas. Dates used as
// keys are turned into epoch millis as the mappings say (sample1
// @timestamp_pretty dd-MM-yyyy, sample2 yyyy-MM-dd, sample3 `date` epoch).
#include "es_data.hpp"
#include "runtime/sample.hpp"

namespace eql::runtime::testdata {
namespace {

std::vector<KeyValue> SampleValues(const Ev& ev, std::string_view field) {
  std::vector<KeyValue> v = Values(ev, field);
  if (field != "@timestamp_pretty" && field != "date") return v;
  for (KeyValue& x : v) {
    if (x.type() != KeyValue::Type::kString) continue;
    const std::string& s = x.as_string();
    int a = 0, b = 0, c = 0;
    if (std::sscanf(s.c_str(), "%d-%d-%d", &a, &b, &c) == 3) {
      const bool day_first = s.find('-') == 2;
      const int y = day_first ? c : a, d = day_first ? a : c;
      x = KeyValue(DaysFromCivil(y, b, d) * 86'400'000);
    } else {
      x = KeyValue(static_cast<int64_t>(std::stoll(s)));
    }
  }
  return v;
}

struct TSample {
  std::vector<KeyField> by;
  std::vector<TStage> filters;
  std::vector<PipeSpec> pipes;
};

TResult RunSample(const Dataset& ds, const TSample& q) {
  TResult r;
  SampleSpec spec;
  spec.stage_count = q.filters.size();
  spec.key_count = q.by.size() + q.filters[0].by.size();
  spec.pipes = q.pipes;
  auto op = SampleOperator::Create(spec);
  if (!op.ok()) {
    ADD_FAILURE() << op.status();
    return r;
  }
  FunctionSink sink([&](JoinAlert&& a) { Append(r, a.key, a.events); });
  for (const Ev& ev : ds.events) {
    std::vector<StageHit> hits;
    for (uint32_t s = 0; s < q.filters.size(); ++s) {
      if (!q.filters[s].where(ev)) continue;
      std::vector<KeyField> fields = q.by;
      fields.insert(fields.end(), q.filters[s].by.begin(), q.filters[s].by.end());
      auto keys = Keys(ev, fields, SampleValues);
      if (!keys.empty()) hits.push_back({s, std::move(keys)});
    }
    if (!hits.empty()) (*op)->OnEvent(ev.handle, hits, sink);
  }
  (*op)->Flush(sink);
  return r;
}

class Sample : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ds_ = Dataset::Load({"sample1.data", "sample2.data", "sample3.data"}, Format::kNoTime, "id")
              .release();
  }
  static void TearDownTestSuite() { delete ds_; }

  //! `ids` lists the acceptable results (test_sample.toml gives alternatives
  //! where Elasticsearch is not deterministic).
  static void Check(const char* name, const TSample& q, std::vector<std::vector<int64_t>> ids,
                    std::vector<std::string> keys) {
    TResult got = RunSample(*ds_, q);
    std::printf("[%s] ids got=%s want=%s%s keys got=%s want=%s\n", name, Show(got.ids).c_str(),
                Show(ids[0]).c_str(), ids.size() > 1 ? " (or alternatives)" : "",
                Show(got.keys).c_str(), Show(keys).c_str());
    EXPECT_NE(std::find(ids.begin(), ids.end(), got.ids), ids.end()) << name;
    EXPECT_EQ(got.keys, keys) << name;
  }
  static Dataset* ds_;
};
Dataset* Sample::ds_ = nullptr;

std::optional<int64_t> I(const Ev& e, std::string_view f) { return Int(e, f); }
bool Gt(const Ev& e, std::string_view f, int64_t n) {
  auto v = I(e, f);
  return v && *v > n;
}
bool BoolIs(const Ev& e, bool b) {
  for (const auto& v : Values(e, "bool")) {
    if (v.type() == KeyValue::Type::kBool && v.as_bool() == b) return true;
  }
  return false;
}
bool IdIs(const Ev& e, int64_t id) { return EqInt(e, "id", id); }
Where Cat(std::string c, std::function<bool(const Ev&)> f = nullptr) {
  return [c, f](const Ev& e) { return Is(e, c) && (!f || f(e)); };
}
Where AnyW(std::function<bool(const Ev&)> f) { return f; }

TEST_F(Sample, AnyRulesAndFilters) {
  Check("anyRulesWithOneDifferentNameKey",
        {{K("host")},
         {S(AnyW([](const Ev& e) { return Gt(e, "uptime", 0); }), {K("os")}),
          S(AnyW([](const Ev& e) { return Gt(e, "port", 100); }), {K("op_sys")}),
          S(AnyW([](const Ev& e) { return BoolIs(e, true); }), {K("os")})}},
        {{17, 26, 16, 13, 23, 110}, {17, 26, 16, 110, 23, 33}},
        {"doom", "redhat", "farcry", "win10"});
  Check("complexFilters",
        {{K("host")},
         {S(AnyW([](const Ev& e) {
              return Gt(e, "uptime", 0) && Eq(e, "host", "doom") &&
                     (Gt(e, "uptime", 15) || BoolIs(e, true));
            }),
            {K("os")}),
          S(AnyW([](const Ev& e) {
              return (Gt(e, "port", 100) && Eq(e, "ip", "10.0.0.5")) || Like(e, "op_sys", "REDHAT");
            }),
            {K("op_sys")}),
          S(AnyW([](const Ev& e) { return BoolIs(e, true); }), {K("os")})}},
        {{17, 26, 16}}, {"doom", "redhat"});
  auto f0 = [](const Ev& e) { return Gt(e, "uptime", 0) || BoolIs(e, false); };
  auto f1 = [](const Ev& e) { return Gt(e, "port", 10000) || BoolIs(e, false); };
  Check("anyRulesWithORFilters", {{K("bool"), K("host")}, {S(AnyW(f0)), S(AnyW(f1))}},
        {{13, 23, 17, 16}}, {"false", "farcry", "true", "doom"});
  Check("failureEventTypeWithORFilters",
        {{K("bool"), K("host")}, {S(Cat("failure", f0)), S(AnyW(f1))}}, {{17, 16}},
        {"true", "doom"});
  Check("alertEventTypeRulesWithORFilters",
        {{K("bool"), K("host")}, {S(Cat("alert", f0)), S(Cat("alert", f1))}}, {{13, 23}},
        {"false", "farcry"});
}

TEST_F(Sample, KeyTypes) {
  Check("ipAsKey",
        {{K("host")},
         {S(AnyW([](const Ev& e) { return BoolIs(e, true); }), {K("host_ip")}),
          S(AnyW([](const Ev& e) { return Gt(e, "uptime", 0); }), {K("ip")}),
          S(AnyW([](const Ev& e) { return Gt(e, "port", 100); }), {K("ip")})}},
        {{36, 28, 11}}, {"doom", "10.0.0.1"});
  Check("keywordAsKey",
        {{K("missing_keyword")},
         {S(Cat("success"), {K("host")}),
          S(Cat("failure", [](const Ev& e) { return Eq(e, "host", "doom"); }), {K("host")})}},
        {{18, 37}}, {"test", "doom"});
  Check("simpleIpAsKey",
        {{},
         {S(Cat("success"), {K("ip")}),
          S(Cat("alert", [](const Ev& e) { return Like(e, "os", "win*"); }), {K("host_ip")})}},
        {{28, 31}}, {"10.0.0.1"});
  Check("customDateFormatAsKey_SameIndexResults",
        {{K("@timestamp_pretty")}, {S(Cat("alert")), S(Cat("failure"))}}, {{15, 17}},
        {"1671235200000"});
  Check(
      "customDateFormatsAsKey_DifferentIndicesResults",
      {{K("@timestamp_pretty")},
       {S(Cat("alert")), S(Cat("failure", [](const Ev& e) { return Eq(e, "op_sys", "redhat"); }))}},
      {{15, 27}}, {"1671235200000"});
  Check("customDateFormatsAsKey_DifferentKeyNames",
        {{},
         {S(Cat("success", [](const Ev& e) { return Like(e, "os", "*10*"); }), {K("date")}),
          S(Cat("failure", [](const Ev& e) { return Eq(e, "os", "redhat"); }),
            {K("@timestamp_pretty")})}},
        {{38, 17}}, {"1671235200000"});
  Check("nullValueAsJoinKey",
        {{K("missing_keyword")},
         {S(Cat("alert", [](const Ev& e) { return IsNull(e, "missing_keyword") && IdIs(e, 110); })),
          S(Cat("alert", [](const Ev& e) { return BoolIs(e, false); }))}},
        {{}}, {});
}

TEST_F(Sample, OptionalKeys) {
  Check("optionalFieldAsKeyAndFirstFilter",
        {{Opt("x")},
         {S(Cat("failure", [](const Ev& e) { return IsNull(e, "x") && IdIs(e, 17); })),
          S(Cat("failure", [](const Ev& e) { return IdIs(e, 27); })),
          S(AnyW([](const Ev& e) { return IdIs(e, 37); }))}},
        {{17, 27, 37}}, {"null"});
  Check("optionalFieldAsKeyAndSecondFilter",
        {{Opt("x")}, {S(AnyW([](const Ev& e) { return IdIs(e, 11); })), S(AnyW([](const Ev& e) {
                        return IsNull(e, "x");
                      }))}},
        {{11, 12}}, {"null"});
  Check("optionalFieldAsQueryKeys",
        {{Opt("x")},
         {S(Cat("success", [](const Ev& e) { return IdIs(e, 18); }), {Opt("y")}),
          S(Cat("failure", [](const Ev& e) { return IdIs(e, 17); }), {Opt("z")})}},
        {{18, 17}}, {"null", "null"});
  Check("optionalFieldAsKeyAndMultipleConditions",
        {{Opt("x"), Opt("y")},
         {S(Cat("failure",
                [](const Ev& e) { return (IsNull(e, "x") || IsNull(e, "y")) && IdIs(e, 17); })),
          S(Cat("success",
                [](const Ev& e) { return IsNull(e, "y") && IsNull(e, "x") && IdIs(e, 18); }))}},
        {{17, 18}}, {"null", "null"});
  Check("optionalFieldAsQueryKeysOnly",
        {{K("host")},
         {S(Cat("success", [](const Ev& e) { return IdIs(e, 38); }), {Opt("z")}),
          S(Cat("success",
                [](const Ev& e) { return IsNull(e, "x") && IsNull(e, "y") && IdIs(e, 28); }),
            {Opt("y")}),
          S(Cat("alert", [](const Ev& e) { return IdIs(e, 11); }), {Opt("x")})}},
        {{38, 28, 11}}, {"doom", "null"});
  Check("allKeysOptional", {{Opt("host"), Opt("os")}, {S(Cat("success")), S(Cat("alert"))}},
        {{29, 24, 28, 21, 18, 11}, {29, 24, 28, 26, 18, 11}},
        {"GTA", "null", "doom", "null", "doom", "win10"});
  Check("oneKeyOptional_1", {{Opt("host"), K("os")}, {S(Cat("success")), S(Cat("alert"))}},
        {{18, 11}}, {"doom", "win10"});
  Check("noOptionalKeys", {{K("host"), K("os")}, {S(Cat("success")), S(Cat("alert"))}}, {{18, 11}},
        {"doom", "win10"});
}

TEST_F(Sample, SizeIsHead) {
  auto alert = Cat("alert", [](const Ev& e) { return IdIs(e, 21) || IdIs(e, 24) || IdIs(e, 11); });
  TSample q{{K("host"), Opt("os")}, {S(Cat("success")), S(alert)}, {}};
  Check("oneKeyOptional_2", q, {{29, 24, 28, 21, 18, 11}},
        {"GTA", "null", "doom", "null", "doom", "win10"});
  q.pipes = {PipeSpec::Head(0)};
  Check("size0", q, {{}}, {});
  q.pipes = {PipeSpec::Head(2)};
  Check("size2", q, {{29, 24, 28, 21}}, {"GTA", "null", "doom", "null"});
  q.pipes = {PipeSpec::Head(3)};
  Check("size3", q, {{29, 24, 28, 21, 18, 11}}, {"GTA", "null", "doom", "null", "doom", "win10"});
  q.pipes = {PipeSpec::Head(500)};
  Check("sizeBig", q, {{29, 24, 28, 21, 18, 11}}, {"GTA", "null", "doom", "null", "doom", "win10"});
}

TEST(SampleOperator, MaxSamplesPerKeyAndEager) {
  // Key k: filter 0 gets a1, a2, a3; filter 1 gets b1, b2. Two samples per
  // key: (a1,b1), (a2,b2); a3 has no partner left.
  for (bool eager : {false, true}) {
    SampleSpec spec;
    spec.stage_count = 2;
    spec.key_count = 1;
    spec.max_samples_per_key = 2;
    spec.eager = eager;
    auto op = SampleOperator::Create(spec);
    ASSERT_TRUE(op.ok());
    CollectingSink sink;
    JoinKey k{KeyValue("k")};
    uint64_t n = 0;
    auto push = [&](uint32_t stage, const char* id) {
      StageHit h{stage, {k}};
      (*op)->OnEvent(MakeEvent(0, KeyValue(), n++, id), {&h, 1}, sink);
    };
    push(0, "a1");
    push(0, "a2");
    push(1, "b1");
    const size_t before_flush = sink.alerts.size();
    push(1, "b2");
    push(0, "a3");
    (*op)->Flush(sink);
    std::printf("eager=%d: %zu samples (%zu before b2)\n", eager, sink.alerts.size(), before_flush);
    ASSERT_EQ(sink.alerts.size(), 2u);
    EXPECT_EQ(sink.alerts[0].events[0]->json, "a1");
    EXPECT_EQ(sink.alerts[0].events[1]->json, "b1");
    EXPECT_EQ(sink.alerts[1].events[0]->json, "a2");
    EXPECT_EQ(sink.alerts[1].events[1]->json, "b2");
    EXPECT_EQ(before_flush, eager ? 1u : 0u);
  }
}

}  // namespace
}  // namespace eql::runtime::testdata
