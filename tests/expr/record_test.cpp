// FieldRegistry, Record and JsonProjector.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "eql/event.hpp"
#include "io/json_projector.hpp"

namespace eql::io {
namespace {

// The values of a field as JSON texts, e.g. {"\"a\"", "1", "null"}.
std::vector<std::string> Texts(const Record& r, FieldId id) {
  std::vector<std::string> out;
  for (Scalar v : r.Get(id)) out.push_back(v.ToJson());
  return out;
}
using V = std::vector<std::string>;

TEST(FieldRegistry, InternsAndKnowsPrefixes) {
  std::printf("checks: ids are dense and stable; prefixes of paths are known\n");
  FieldRegistry f;
  FieldId a = f.Intern("process.parent.name");
  FieldId b = f.Intern("process.name");
  EXPECT_EQ(f.Intern("process.parent.name"), a);
  EXPECT_EQ(a, 0u);
  EXPECT_EQ(b, 1u);
  EXPECT_EQ(f.size(), 2u);
  EXPECT_EQ(f.Name(b), "process.name");
  EXPECT_EQ(f.Find("process.name"), b);
  EXPECT_FALSE(f.Find("process").has_value());
  ASSERT_TRUE(f.Lookup("process").has_value());
  EXPECT_TRUE(f.Lookup("process")->is_prefix);
  EXPECT_EQ(f.Lookup("process")->field, -1);
  EXPECT_TRUE(f.Lookup("process.parent")->is_prefix);
  EXPECT_FALSE(f.Lookup("process.name")->is_prefix);
  EXPECT_EQ(f.Lookup("process.name")->field, 1);
  EXPECT_FALSE(f.Lookup("proc").has_value());
}

TEST(Record, ValuesReuseMoveCopy) {
  std::printf(
      "checks: Record keeps typed values per field; Clear, move and copy keep them right\n");
  Record r;
  r.Clear(3);
  r.AddString(0, "a");
  r.AddInt(1, 7);
  r.AddString(0, "b");
  r.AddDouble(2, 1.5);
  r.AddBool(2, true);
  r.AddNull(2);
  EXPECT_EQ(Texts(r, 0), (V{"\"a\"", "\"b\""}));
  EXPECT_EQ(Texts(r, 1), (V{"7"}));
  EXPECT_EQ(Texts(r, 2), (V{"1.5", "true", "null"}));
  EXPECT_TRUE(r.HasValue(2));
  Record copy = r;
  Record moved = std::move(r);
  EXPECT_EQ(Texts(copy, 0), (V{"\"a\"", "\"b\""}));
  EXPECT_EQ(Texts(moved, 0), (V{"\"a\"", "\"b\""}));
  moved.Clear(3);
  EXPECT_TRUE(moved.Get(0).empty());
  EXPECT_FALSE(moved.Present(0));
  EXPECT_TRUE(moved.Get(99).empty());  // unknown ids are missing, not a crash
  EXPECT_EQ(Texts(copy, 1), (V{"7"}));
}

struct JsonProjectorTest : ::testing::Test {
  FieldRegistry fields;
  FieldId name = fields.Intern("process.name");
  FieldId parent = fields.Intern("process.parent.name");
  FieldId args = fields.Intern("process.args");
  FieldId ts = fields.Intern("@timestamp");
  FieldId user = fields.Intern("user.name");
  JsonProjector projector{fields};
  Record r;
};

TEST_F(JsonProjectorTest, NestedDottedAndMixedKeys) {
  std::printf("checks: nested, dotted and mixed keys all reach the same field\n");
  ASSERT_TRUE(projector.Project(R"({"process":{"name":"a","parent":{"name":"p"}}})", r).ok());
  EXPECT_EQ(Texts(r, name), (V{"\"a\""}));
  EXPECT_EQ(Texts(r, parent), (V{"\"p\""}));
  ASSERT_TRUE(projector.Project(R"({"process.name":"a","process.parent.name":"p"})", r).ok());
  EXPECT_EQ(Texts(r, name), (V{"\"a\""}));
  EXPECT_EQ(Texts(r, parent), (V{"\"p\""}));
  ASSERT_TRUE(projector.Project(R"({"process":{"parent.name":"p"},"process.name":"a"})", r).ok());
  EXPECT_EQ(Texts(r, name), (V{"\"a\""}));
  EXPECT_EQ(Texts(r, parent), (V{"\"p\""}));
  // Reached twice: both values kept.
  ASSERT_TRUE(projector.Project(R"({"process":{"name":"a"},"process.name":"b"})", r).ok());
  EXPECT_EQ(Texts(r, name), (V{"\"a\"", "\"b\""}));
  // Unregistered fields are ignored; missing ones are missing.
  ASSERT_TRUE(projector.Project(R"({"host":{"name":"h"},"process":{"pid":1}})", r).ok());
  EXPECT_FALSE(r.Present(name));
  EXPECT_TRUE(r.Get(name).empty());
}

TEST_F(JsonProjectorTest, ArraysNullsAndObjects) {
  std::printf("checks: arrays flattened, [] present but empty, null kept, objects skipped\n");
  ASSERT_TRUE(projector.Project(R"({"process":{"args":["a",["b",["c"]],1,null]}})", r).ok());
  EXPECT_EQ(Texts(r, args), (V{"\"a\"", "\"b\"", "\"c\"", "1", "null"}));
  ASSERT_TRUE(projector.Project(R"({"process":{"args":[]}})", r).ok());
  EXPECT_TRUE(r.Present(args));
  EXPECT_TRUE(r.Get(args).empty());
  ASSERT_TRUE(projector.Project(R"({"process":{"name":null}})", r).ok());
  EXPECT_EQ(Texts(r, name), (V{"null"}));
  EXPECT_FALSE(r.HasValue(name));
  // An object where a value was expected is no value.
  ASSERT_TRUE(projector.Project(R"({"process":{"name":{"x":1}}})", r).ok());
  EXPECT_TRUE(r.Get(name).empty());
  // An array of objects contributes its members' values.
  ASSERT_TRUE(projector.Project(R"({"process":[{"name":"a"},{"name":"b"}]})", r).ok());
  EXPECT_EQ(Texts(r, name), (V{"\"a\"", "\"b\""}));
}

TEST_F(JsonProjectorTest, NumbersAndStrings) {
  std::printf("checks: integer/double/huge numbers, escapes, NUL bytes and non-ASCII text\n");
  ASSERT_TRUE(
      projector.Project(R"({"@timestamp":[1, -9223372036854775808, 18446744073709551615, 2.5]})", r)
          .ok());
  EXPECT_EQ(Texts(r, ts), (V{"1", "-9223372036854775808", "18446744073709551616.0", "2.5"}));
  ASSERT_TRUE(
      projector.Project("{\"user\":{\"name\":\"a\\u0000b\\\"\\u00e9\xE2\x82\xAC\"}}", r).ok());
  Scalar v = r.Get(user).front();
  EXPECT_EQ(v.s, std::string_view("a\0b\"\xC3\xA9\xE2\x82\xAC", 9));
  // Numbers no double or 64-bit integer can hold are rejected by the
  // parser (the event is reported malformed, never misread).
  EXPECT_FALSE(projector.Project(R"({"user":{"name":123456789012345678901234567890}})", r).ok());
  EXPECT_FALSE(projector.Project(R"({"user":{"name":1e400}})", r).ok());
}

TEST_F(JsonProjectorTest, MalformedInputIsAnError) {
  std::printf(
      "checks: malformed JSON, invalid UTF-8, raw NUL, non-objects and deep nesting fail\n");
  const std::vector<std::string> bad = {
      "",
      "{",
      "{\"process\":{\"name\":\"a\"}",
      "[1]",
      "\"x\"",
      "{\"a\":tru}",
      "{\"a\":1}{\"b\":2}",
      "{\"user\":{\"name\":\"\xC3\x28\"}}",
      std::string("{\"user\":{\"name\":\"a\0b\"}}", 22),
      "{\"a\":01}",
      "{'a':1}",
  };
  for (const std::string& text : bad) {
    EXPECT_FALSE(projector.Project(text, r).ok()) << text;
  }
  std::string deep = "{\"process\":" + std::string(5000, '[') + std::string(5000, ']') + "}";
  absl::Status s = projector.Project(deep, r);
  EXPECT_FALSE(s.ok());
  // Still usable after errors.
  ASSERT_TRUE(projector.Project(R"({"process":{"name":"ok"}})", r).ok());
  EXPECT_EQ(Texts(r, name), (V{"\"ok\""}));
}

TEST_F(JsonProjectorTest, PaddedVariantAndHugeStrings) {
  std::printf("checks: ProjectPadded reads without a copy; a 1 MB string value survives\n");
  std::string big(1 << 20, 'x');
  std::string text = "{\"process\":{\"name\":\"" + big + "\"}}";
  std::string padded = text + std::string(JsonProjector::kPadding, '\0');
  ASSERT_TRUE(projector.ProjectPadded(std::string_view(padded.data(), text.size()), r).ok());
  EXPECT_EQ(r.Get(name).front().s.size(), big.size());
  Record kept = std::move(r);  // owning: survives the next projection
  ASSERT_TRUE(projector.Project(R"({"process":{"name":"small"}})", r).ok());
  EXPECT_EQ(kept.Get(name).front().s, big);
}

TEST_F(JsonProjectorTest, ProjectsBuilderEvents) {
  std::printf("checks: eql::Event projects like its JSON\n");
  Event e;
  e.Set("process.name", "node.exe")
      .Set("process.args", Event::Value::Array({"a", 1, nullptr}))
      .Set("@timestamp", 5);
  ASSERT_TRUE(projector.Project(e, r).ok());
  EXPECT_EQ(Texts(r, name), (V{"\"node.exe\""}));
  EXPECT_EQ(Texts(r, args), (V{"\"a\"", "1", "null"}));
  EXPECT_EQ(Texts(r, ts), (V{"5"}));
  // A key holding a dot, built as an object member.
  Event e2;
  Event::Value process = Event::Value::Object();
  process.Set("parent.name", "ps");
  e2.Set("process", process);
  ASSERT_TRUE(projector.Project(e2, r).ok());
  EXPECT_EQ(Texts(r, parent), (V{"\"ps\""}));
  // And the same through JSON.
  ASSERT_TRUE(projector.Project(e2.ToJson(), r).ok());
  EXPECT_EQ(Texts(r, parent), (V{"\"ps\""}));
}

TEST_F(JsonProjectorTest, SkipsMembersOfEveryKind) {
  std::printf("checks: members no rule reads are jumped over, whatever their type\n");
  // Every kind of value (two-word numbers, nested objects and arrays) in
  // front of, between and after the members that are read.
  const std::string skipped =
      R"("i":-7,"u":18446744073709551615,"d":2.5e-3,"t":true,"f":false,"n":null,"s":"x",)"
      R"("o":{"process":{"name":"no"},"a":[1,{"b":[2,3]}]},"a":[[1,2.5],{"process":"no"},"z"],)"
      R"("e":{},"ea":[],)";
  ASSERT_TRUE(projector
                  .Project("{" + skipped + R"("process":{)" + skipped + R"("name":"a",)" +
                               skipped + R"("parent":{)" + skipped + R"("name":"p"}},)" +
                               skipped + R"("@timestamp":5})",
                           r)
                  .ok());
  EXPECT_EQ(Texts(r, name), (V{"\"a\""}));
  EXPECT_EQ(Texts(r, parent), (V{"\"p\""}));
  EXPECT_EQ(Texts(r, ts), (V{"5"}));
  EXPECT_FALSE(r.Present(args));
  EXPECT_FALSE(r.Present(user));
  // Values of every type on a registered path, after skipped ones.
  ASSERT_TRUE(projector
                  .Project("{" + skipped + R"("process":{"args":[-7,18446744073709551615,)" +
                               R"(2.5,true,false,null,"s",{"x":1},[["deep"]]]}})",
                           r)
                  .ok());
  EXPECT_EQ(Texts(r, args), (V{"-7", "18446744073709551616.0", "2.5", "true", "false", "null",
                               "\"s\"", "\"deep\""}));
}

TEST_F(JsonProjectorTest, DuplicateKeysAndNestedArrays) {
  std::printf("checks: duplicate keys keep every value; arrays of arrays of objects are read\n");
  ASSERT_TRUE(projector.Project(R"({"process":{"name":"a","name":"b"},"process":{"name":"c"}})", r)
                  .ok());
  EXPECT_EQ(Texts(r, name), (V{"\"a\"", "\"b\"", "\"c\""}));
  ASSERT_TRUE(
      projector.Project(R"({"process":[[{"name":"a"}],{"name":"b"},[[{"parent":{"name":"p"}}]]]})",
                        r)
          .ok());
  EXPECT_EQ(Texts(r, name), (V{"\"a\"", "\"b\""}));
  EXPECT_EQ(Texts(r, parent), (V{"\"p\""}));
  ASSERT_TRUE(projector.Project(R"({"process":{"args":[[],[[]],["a",["b"]]]}})", r).ok());
  EXPECT_EQ(Texts(r, args), (V{"\"a\"", "\"b\""}));
}

TEST_F(JsonProjectorTest, EscapedMemberNames) {
  std::printf("checks: member names are matched after unescaping, dots included\n");
  // The parser unescapes names, so "process\u002ename" is the dotted name
  // "process.name", and "pro\u0063ess" is "process".
  ASSERT_TRUE(projector.Project(R"({"process\u002ename":"a","pro\u0063ess":{"n\u0061me":"b"}})", r)
                  .ok());
  EXPECT_EQ(Texts(r, name), (V{"\"a\"", "\"b\""}));
  ASSERT_TRUE(projector.Project(R"({"process":{"parent\u002ename":"p","\u0070arent":{"name":"q"}}})",
                                r)
                  .ok());
  EXPECT_EQ(Texts(r, parent), (V{"\"p\"", "\"q\""}));
  // Near misses: other names of the same length and ends are not fields.
  ASSERT_TRUE(projector.Project(R"({"process":{"nbme":"x","nam":"x","names":"x","Name":"x"},)"
                                R"("process.":"x",".process.name":"x","process..name":"x"})",
                                r)
                  .ok());
  EXPECT_FALSE(r.Present(name));
}

TEST(FieldRegistry, ManyChildrenAndOddSegments) {
  std::printf("checks: a trie node with many children finds each and no other\n");
  FieldRegistry f;
  std::vector<std::string> names;
  // Names that share lengths and first and last bytes, to collide.
  for (int i = 0; i < 300; ++i) {
    std::string seg = "k" + std::to_string(i % 10) + std::string(i / 10, 'x') + "z";
    names.push_back("p." + seg);
    f.Intern(names.back());
  }
  f.Intern("p.");  // an empty last segment
  f.Intern("q..r");
  f.Intern("@timestamp");
  JsonProjector projector(f);
  Record r;
  std::string json = "{\"p\":{";
  for (size_t i = 0; i < names.size(); ++i) {
    json += "\"" + names[i].substr(2) + "\":" + std::to_string(i) + ",";
    json += "\"" + names[i].substr(2) + "y\":-1,";  // misses
  }
  json += R"("":"empty"},"q":{"":{"r":"qr"}},"@timestamp":1})";
  ASSERT_TRUE(projector.Project(json, r).ok());
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(Texts(r, *f.Find(names[i])), (V{std::to_string(i)})) << names[i];
  }
  EXPECT_EQ(Texts(r, *f.Find("p.")), (V{"\"empty\""}));
  EXPECT_EQ(Texts(r, *f.Find("q..r")), (V{"\"qr\""}));
  ASSERT_TRUE(projector.Project(R"({"p.":"dotted","q..r":"dots"})", r).ok());
  EXPECT_EQ(Texts(r, *f.Find("p.")), (V{"\"dotted\""}));
  EXPECT_EQ(Texts(r, *f.Find("q..r")), (V{"\"dots\""}));
  EXPECT_FALSE(f.Lookup("p.k0zz").has_value());
  EXPECT_TRUE(f.Lookup("p.k3xxz").has_value());
}

TEST_F(JsonProjectorTest, FieldThatIsAlsoAPrefix) {
  std::printf("checks: a path both read and a prefix takes values, not objects\n");
  FieldId a = fields.Intern("a");
  FieldId ab = fields.Intern("a.b");
  ASSERT_TRUE(projector.Project(R"({"a":{"b":1}})", r).ok());
  EXPECT_FALSE(r.Present(a));
  EXPECT_EQ(Texts(r, ab), (V{"1"}));
  ASSERT_TRUE(projector.Project(R"({"a":["x",{"b":2}],"a.b":3})", r).ok());
  EXPECT_EQ(Texts(r, a), (V{"\"x\""}));
  EXPECT_EQ(Texts(r, ab), (V{"2", "3"}));
}

TEST(Record, CopyMoveAndReuseKeepStrings) {
  std::printf("checks: copies and moves of a reused record keep exactly its values\n");
  Record r;
  for (int round = 0; round < 3; ++round) {
    r.Clear(2);
    // Strings of every length the copy handles differently.
    for (size_t n : {0, 1, 3, 4, 7, 8, 15, 16, 31, 32, 33, 100, 5000}) {
      r.AddString(0, std::string(n, static_cast<char>('a' + n % 26)));
    }
    r.AddInt(1, round);
    Record copy = r;
    Record moved = std::move(r);
    for (const Record* x : {&copy, &moved}) {
      std::vector<size_t> sizes;
      for (Scalar v : x->Get(0)) {
        ASSERT_EQ(v.type, Scalar::Type::kString);
        EXPECT_EQ(v.s, std::string(v.s.size(), static_cast<char>('a' + v.s.size() % 26)));
        sizes.push_back(v.s.size());
      }
      EXPECT_EQ(sizes, (std::vector<size_t>{0, 1, 3, 4, 7, 8, 15, 16, 31, 32, 33, 100, 5000}));
      EXPECT_EQ(Texts(*x, 1), (V{std::to_string(round)}));
    }
    // The moved-from record is empty and can be filled again.
    EXPECT_TRUE(r.Get(0).empty());
    r = copy;
    copy.Clear(2);
    copy.AddString(0, "short");
    EXPECT_EQ(r.Get(0).size(), 13u);
    EXPECT_EQ(Texts(copy, 0), (V{"\"short\""}));
  }
}

TEST_F(JsonProjectorTest, RegistryGrowsAfterProjectorCreation) {
  std::printf("checks: fields registered after the projector was made are projected\n");
  FieldId late = fields.Intern("late.field");
  ASSERT_TRUE(projector.Project(R"({"late":{"field":3}})", r).ok());
  EXPECT_EQ(Texts(r, late), (V{"3"}));
}

}  // namespace
}  // namespace eql::io

namespace eql::io {
namespace {

// Random byte edits, truncations and splices of a valid event: every result
// is either projected or reported malformed, never a crash or a hang (run
// this binary under ASan/UBSan with -DEQL_SANITIZE=ON for the full check).
TEST(JsonProjectorRobustness, MutatedInputsNeverCrash) {
  std::printf("checks: 30000 mutated events are each accepted or rejected cleanly\n");
  FieldRegistry fields;
  fields.Intern("process.name");
  fields.Intern("process.args");
  fields.Intern("a.b.c");
  FieldId deep = fields.Intern("x");
  JsonProjector projector(fields);
  Record r;
  const std::string seed =
      R"({"process":{"name":"node.exe","args":["-r","x\u00e9\"\\",1.5e3,-7,true,null,[{"q":1}]]},)"
      R"("a.b":{"c":[1,{"d":2}]},"x":"\ud83d\ude00","n":123456789012})";
  ASSERT_TRUE(projector.Project(seed, r).ok());
  uint64_t state = 42;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  int ok = 0, rejected = 0;
  const char kBytes[] = "{}[]\",:\\0123456789.eE+-tfnul \x00\xff\xc3\xa9";
  for (int i = 0; i < 30000; ++i) {
    std::string s = seed;
    int edits = 1 + static_cast<int>(next() % 4);
    for (int k = 0; k < edits && !s.empty(); ++k) {
      size_t at = next() % s.size();
      switch (next() % 4) {
        case 0:
          s[at] = kBytes[next() % (sizeof kBytes - 1)];
          break;
        case 1:
          s.erase(at, 1 + next() % 8);
          break;
        case 2:
          s.insert(at, 1, kBytes[next() % (sizeof kBytes - 1)]);
          break;
        case 3:
          s.resize(at);
          break;
      }
    }
    (projector.Project(s, r).ok() ? ok : rejected)++;
  }
  std::printf("  accepted %d, rejected %d\n", ok, rejected);
  EXPECT_GT(rejected, 20000);
  EXPECT_GT(ok, 100);
  // Still correct afterwards.
  ASSERT_TRUE(projector.Project(seed, r).ok());
  EXPECT_EQ(r.Get(deep).front().s, "\xF0\x9F\x98\x80");
}

}  // namespace
}  // namespace eql::io
