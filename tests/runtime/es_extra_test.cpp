// tests/runtime/es_extra_test.cpp
//
// The sequence cases of Elasticsearch's test_extra.toml (extra.data,
// tiebreaker `sequence`): optional join keys, multi-valued keys (cartesian
// product), runs, until, string, date and version keys: all 34 active
// sequence cases.
#include <array>

#include "es_data.hpp"

namespace eql::runtime::testdata {
namespace {

class Extra : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ds_ = Dataset::Load({"extra.data"}, Format::kEs, "sequence").release();
  }
  static void TearDownTestSuite() { delete ds_; }

  static void Check(const char* name, const TQuery& q, std::vector<int64_t> ids,
                    std::vector<std::string> keys) {
    TResult got = testdata::Run(*ds_, q);
    std::printf("[%s] ids got=%s want=%s keys got=%s want=%s\n", name, Show(got.ids).c_str(),
                Show(ids).c_str(), Show(got.keys).c_str(), Show(keys).c_str());
    EXPECT_EQ(got.ids, ids) << name;
    EXPECT_EQ(got.keys, keys) << name;
  }
  static Where Cat(std::string c) {
    return [=](const Ev& e) { return Is(e, c); };
  }
  static Dataset* ds_;
};
Dataset* Extra::ds_ = nullptr;

TEST_F(Extra, Basic) {
  TQuery q;
  q.by = {K("transID")};
  q.stages = {S(Cat("REQUEST")), S(Cat("ERROR")), S(Cat("STAT"))};
  Check("basic", q, {1, 2, 3, 4, 5, 6}, {"1234", "1235"});
  q.stages[0] = S([](const Ev& e) { return Is(e, "REQUEST") && EqInt(e, "transID", 1234); });
  Check("basicWithFilter", q, {1, 2, 3}, {"1234"});
  auto with_id = [](std::string cat) {
    return [cat](const Ev& e) { return Is(e, cat) && EqInt(e, "transID", 1234); };
  };
  q.stages = {S(with_id("REQUEST")), S(with_id("ERROR")), S(with_id("STAT"))};
  Check("basicWithFilters", q, {1, 2, 3}, {"1234"});
}

TEST_F(Extra, OptionalKeys) {
  {
    TQuery q;
    q.by = {Opt("x")};
    q.stages = {S([](const Ev& e) { return Is(e, "OPTIONAL") && IsNull(e, "x"); }),
                S(Cat("OPTIONAL"))};
    Check("sequenceOptionalFieldAsKeyAndFirstFilter", q, {7, 8, 8, 9}, {"null", "null"});
  }
  {
    TQuery q;
    q.by = {Opt("x")};
    q.stages = {S([](const Ev& e) { return Is(e, "REQUEST") && EqInt(e, "transID", 1234); }),
                S([](const Ev& e) { return Is(e, "OPTIONAL") && IsNull(e, "x"); })};
    Check("sequenceOptionalFieldAsKeyAndSecondFilter", q, {1, 7}, {"null"});
  }
  {
    TQuery q;
    q.by = {Opt("x"), K("transID")};
    q.stages = {S(Cat("ERROR"), {Opt("x")}), S(Cat("OPTIONAL"), {Opt("y")})};
    Check("sequenceOptionalFieldAsQueryKeys", q, {5, 8}, {"null", "1235", "null"});
  }
  {
    TQuery q;
    q.by = {Opt("x"), Opt("y")};
    q.stages = {
        S([](const Ev& e) { return Is(e, "ERROR") && (IsNull(e, "x") || IsNull(e, "y")); }),
        S([](const Ev& e) { return Is(e, "OPTIONAL") && IsNull(e, "y") && IsNull(e, "x"); })};
    Check("sequenceOptionalFieldAsKeyAndMultipleConditions", q, {5, 7}, {"null", "null"});
  }
  {
    // `?x == ?y` with both absent is null == null: true.
    TQuery q;
    q.by = {K("transID")};
    q.stages = {
        S([](const Ev& e) { return Is(e, "REQUEST") && EqInt(e, "transID", 1234); }, {Opt("z")}),
        S([](const Ev& e) { return Is(e, "ERROR") && IsNull(e, "x") && IsNull(e, "y"); },
          {Opt("y")}),
        S(Cat("STAT"), {Opt("x")})};
    Check("sequenceOptionalFieldAsQueryKeysOnly", q, {1, 2, 3}, {"1234", "null"});
  }
}

TEST_F(Extra, RunsWithOptionalKeysAndUntil) {
  auto proc = [](const Ev& e) { return Is(e, "process") && EqInt(e, "transID", 2); };
  auto file = [](const Ev& e) { return Is(e, "file") && EqInt(e, "transID", 0); };
  auto q = [&](KeyField a, KeyField b) {
    TQuery r;
    r.by = {a, b};
    r.stages = {S(proc), S(file, {}, 2)};
    return r;
  };
  Check("sequenceAllKeysOptional", q(Opt("process.entity_id"), Opt("process.pid")),
        {12, 13, 14, 11, 16, 17, 18, 19, 20}, {"null", "123", "null", "null", "512", "123"});
  Check("sequenceOneKeyOptional_1", q(K("process.entity_id"), Opt("process.pid")), {18, 19, 20},
        {"512", "123"});
  Check("sequenceOneKeyOptional_2", q(Opt("process.entity_id"), K("process.pid")),
        {12, 13, 14, 18, 19, 20}, {"null", "123", "512", "123"});
  Check("sequenceNoOptionalKeys", q(K("process.entity_id"), K("process.pid")), {18, 19, 20},
        {"512", "123"});

  TQuery u = q(Opt("process.entity_id"), Opt("process.pid"));
  u.until = S([](const Ev& e) { return Is(e, "file") && EqInt(e, "sequence", 20); });
  Check("sequenceWithOptionalFieldsAndUntil_1", u, {12, 13, 14, 11, 16, 17, 18, 19, 20},
        {"null", "123", "null", "null", "512", "123"});
  u.until = S([](const Ev& e) { return Is(e, "file") && EqInt(e, "sequence", 19); });
  Check("sequenceWithOptionalFieldsAndUntil_2", u, {12, 13, 14, 11, 16, 17},
        {"null", "123", "null", "null"});
}

TEST_F(Extra, StringAndDateKeys) {
  {
    TQuery q;
    q.by = {K("date_tags")};
    q.stages = {S(Cat("process")), S(Cat("process"))};
    Check("byDate", q, {10, 12}, {"1970-01-01T00:00:00.000Z"});
  }
  {
    TQuery q;
    q.by = {K("version")};
    q.stages = {S(Cat("process")), S(Cat("file"))};
    Check("sequenceWithVersionJoinKey", q, {18, 19}, {"1.5.0"});
  }
  {
    TQuery q;
    q.by = {K("transID")};
    q.stages = {S([](const Ev& e) { return Is(e, "file") && Eq(e, "version", "1.2.4"); }),
                S([](const Ev& e) { return Is(e, "file") && Eq(e, "version", "bad"); })};
    Check("sequenceWithInvalidVersion", q, {20, 22}, {"0"});
  }
}

// `version` fields compare as semantic versions (1.11.3 > 1.5.0; a
// pre-release sorts before its release; an invalid one after every valid one).
int CompareVersion(const std::string& a, const std::string& b) {
  auto parse = [](const std::string& v, std::array<long, 3>& n, std::string& pre) {
    int used = 0;
    if (std::sscanf(v.c_str(), "%ld.%ld.%ld%n", &n[0], &n[1], &n[2], &used) != 3) return false;
    pre = v.substr(used);
    return pre.empty() || pre[0] == '-';
  };
  std::array<long, 3> na{}, nb{};
  std::string pa, pb;
  const bool va = parse(a, na, pa), vb = parse(b, nb, pb);
  if (!va || !vb) return va == vb ? a.compare(b) : (va ? -1 : 1);
  if (na != nb) return na < nb ? -1 : 1;
  if (pa.empty() != pb.empty()) return pa.empty() ? 1 : -1;
  return pa.compare(pb);
}

TEST_F(Extra, VersionConditions) {
  auto ver = [](std::function<bool(int)> cmp, std::string rhs) {
    return [=](const Ev& e) {
      if (!Is(e, "file")) return false;
      for (const auto& v : Values(e, "version")) {
        if (v.type() == KeyValue::Type::kString && cmp(CompareVersion(v.as_string(), rhs))) {
          return true;
        }
      }
      return false;
    };
  };
  auto eq = [](int c) { return c == 0; };
  auto gt = [](int c) { return c > 0; };
  auto lt = [](int c) { return c < 0; };
  TQuery q;
  q.by = {K("transID")};
  q.stages = {S(ver(eq, "1.2.4")), S(ver(eq, "1.11.3"))};
  Check("sequenceWithVersionCheck", q, {20, 21}, {"0"});
  q.stages = {S(ver(eq, "1.2.4")), S(ver(gt, "1.5.0"))};
  Check("sequenceWithVersionRangeCheck", q, {20, 21}, {"0"});
  q.stages = {S(ver(eq, "1.2.4")), S(ver(lt, "1.5.0"))};
  Check("sequenceWithVersionRangeCheck2", q, {20, 23}, {"0"});
  // CONCAT(version, "") == "1.2.4" is a string comparison.
  q.stages = {S([](const Ev& e) { return Is(e, "file") && Eq(e, "version", "1.2.4"); }),
              S([](const Ev& e) { return Is(e, "file") && Eq(e, "version", "bad"); })};
  Check("sequenceWithVersionConcat", q, {20, 22}, {"0"});
}

TEST_F(Extra, MultiValueKeys) {
  auto two = [&](std::vector<KeyField> by, std::string a, std::string b) {
    TQuery q;
    q.by = std::move(by);
    q.stages = {S(Cat(a)), S(Cat(b))};
    return q;
  };
  Check("sequenceWithMultivalue_OneToMany", two({K("tags")}, "REQUEST", "ERROR"), {1, 2}, {"tag1"});
  Check("sequenceWithMultivalue_ManyToOne", two({K("tags")}, "process", "process"), {10, 11},
        {"tag6"});
  Check("sequenceWithMultivalue_ManyToMany", two({K("tags")}, "REQUEST", "file"),
        {1, 23, 4, 23, 4, 23}, {"tag1", "tag3", "tag4"});
  Check("sequenceWithMultivalue_CartesianProduct", two({K("tags"), K("items")}, "REQUEST", "file"),
        {4, 23, 4, 23, 4, 23, 4, 23},
        {"tag3", "item1", "tag3", "item2", "tag4", "item1", "tag4", "item2"});
  Check("sequenceWithMultivalue_Duplicates", two({K("tags_with_duplicates")}, "process", "file"),
        {12, 13, 12, 13}, {"tag1", "tag2"});
  Check("sequenceWithMultivalue_RandomOrder", two({K("tags_unordered")}, "file", "file"),
        {14, 15, 14, 15}, {"tag1", "tag5"});
  Check("sequenceWithMultivalue_NullValues", two({K("tags_with_null")}, "file", "file"),
        {16, 19, 16, 20}, {"tag1", "tag2"});
  Check("sequenceWithMultivalue_DateValues", two({K("date_tags")}, "file", "file"),
        {20, 21, 21, 22}, {"1970-01-01T00:00:00.000Z", "1970-01-02T00:00:00.000Z"});
  Check("sequenceWithOptionalMultivalue_simple", two({Opt("optional_tags")}, "process", "process"),
        {11, 12}, {"null"});
  TQuery per;
  per.stages = {S(Cat("process"), {Opt("optional_tags")}),
                S(Cat("process"), {Opt("optional_tags")})};
  Check("sequenceWithOptionalMultivalue_perQuery", per, {11, 12}, {"null"});
  Check("sequenceWithOptionalMultivalue_multiPlusOptional",
        two({K("tags"), Opt("optional_tags")}, "REQUEST", "ERROR"), {1, 2}, {"tag1", "null"});
  Check("sequenceWithOptionalMultivalue_optionalPlusMulti",
        two({Opt("optional_tags"), K("tags")}, "REQUEST", "ERROR"), {1, 2}, {"null", "tag1"});
  Check("sequenceWithOptionalMultivalue_twoOptionals",
        two({Opt("optional_tags"), Opt("tags")}, "REQUEST", "ERROR"), {1, 2}, {"null", "tag1"});
}

}  // namespace
}  // namespace eql::runtime::testdata
