// eql::Event: the builder, ToJson and FromJson.
#include "eql/event.hpp"

#include <gtest/gtest.h>

namespace eql {
namespace {

TEST(Event, SetBuildsNestedObjectsAndRendersJson) {
  std::printf("checks: dotted Set() creates nested objects; ToJson keeps insertion order\n");
  Event e;
  e.Set("@timestamp", int64_t{1700000000000})
      .Set("event.category", Event::Value::Array({"process"}))
      .Set("process.name", "node.exe")
      .Set("process.pid", 4120)
      .Set("process.parent.name", std::string("powershell.exe"))
      .Set("process.ratio", 0.5)
      .Set("process.trusted", true)
      .Set("process.hash", nullptr);
  EXPECT_EQ(
      e.ToJson(),
      R"({"@timestamp":1700000000000,"event":{"category":["process"]},"process":{"name":"node.exe","pid":4120,"parent":{"name":"powershell.exe"},"ratio":0.5,"trusted":true,"hash":null}})");
}

TEST(Event, SetReplacesAndAppendExtends) {
  std::printf("checks: Set replaces a value; Append turns a scalar into an array\n");
  Event e;
  e.Set("a.b", 1).Set("a.b", 2);
  EXPECT_EQ(e.ToJson(), R"({"a":{"b":2}})");
  e.Append("a.b", 3).Append("a.c", "x");
  EXPECT_EQ(e.ToJson(), R"({"a":{"b":[2,3],"c":["x"]}})");
  // A scalar in the way of a path becomes an object.
  e.Set("a.b.d", false);
  EXPECT_EQ(e.ToJson(), R"({"a":{"b":{"d":false},"c":["x"]}})");
  ASSERT_NE(e.Find("a.c"), nullptr);
  EXPECT_EQ(e.Find("a.c")->items.size(), 1u);
  EXPECT_EQ(e.Find("a.zz"), nullptr);
  EXPECT_TRUE(e.Erase("a.c"));
  EXPECT_FALSE(e.Erase("a.c"));
  EXPECT_EQ(e.ToJson(), R"({"a":{"b":{"d":false}}})");
}

TEST(Event, ToJsonEscapesAndHandlesSpecialNumbers) {
  std::printf("checks: string escaping, invalid UTF-8 replaced, NaN as null, doubles keep a dot\n");
  Event e;
  e.Set("s", std::string("q\"b\\n\n\t\x01\xC3\xA9", 10))
      .Set("bad", std::string("a\xFF"
                              "b"))
      .Set("nan", std::nan(""))
      .Set("whole", 2.0)
      .Set("big", uint64_t{18446744073709551615u});
  EXPECT_EQ(e.ToJson(),
            "{\"s\":\"q\\\"b\\\\n\\n\\t\\u0001\xC3\xA9\",\"bad\":\"a\xEF\xBF\xBD"
            "b\","
            "\"nan\":null,\"whole\":2.0,\"big\":18446744073709551616.0}");
}

TEST(Event, FromJsonRoundTrips) {
  std::printf("checks: FromJson parses every JSON type and ToJson reproduces it\n");
  const char* text =
      R"({"a":{"b":[1,-2,3.5,"x",true,false,null,{"c":"d"}]},"e.f":"dotted","big":12345678901234567890})";
  auto e = Event::FromJson(text);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(
      e->ToJson(),
      R"({"a":{"b":[1,-2,3.5,"x",true,false,null,{"c":"d"}]},"e.f":"dotted","big":12345678901234567168.0})");
  // The dotted key is one key, not a path.
  ASSERT_NE(e->root().Find("e.f"), nullptr);
  EXPECT_EQ(e->root().Find("e.f")->text, "dotted");
}

TEST(Event, FromJsonRejectsMalformedInput) {
  std::printf("checks: malformed JSON, non-objects, invalid UTF-8 and deep nesting are errors\n");
  for (std::string bad : {std::string("{"), std::string("[1,2]"), std::string("{\"a\":tru}"),
                          std::string("{\"a\":1} x"), std::string("{\"a\":\"\xFF\"}"),
                          std::string(""), std::string(2000, '[')}) {
    auto e = Event::FromJson(bad);
    EXPECT_FALSE(e.ok()) << bad.substr(0, 40);
  }
  std::string deep = std::string(1100, '[') + std::string(1100, ']');
  EXPECT_FALSE(Event::FromJson("{\"a\":" + deep + "}").ok());
}

}  // namespace
}  // namespace eql
