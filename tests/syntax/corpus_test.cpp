// tests/syntax/corpus_test.cpp
//
// Every EQL rule of elastic/detection-rules (shared/corpus, one JSON object a
// line with `query`) parses, and its canonical text reads back as the same
// tree: Parse(Print(q)).SameAs(q), with Print a fixed point.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <fstream>
#include <iostream>
#include <map>
#include <string>

#include "syntax/parse.hpp"
#include "syntax_test_util.hpp"

namespace eql::syntax {
namespace {

TEST(CorpusTest, EveryRuleParsesAndRoundTrips) {
  const std::string path = std::string(EQL_SHARED_DIR) + "/corpus/detection-rules-eql.jsonl";
  EQL_REQUIRE_SHARED_FILE(path);
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  simdjson::ondemand::parser json;
  std::string line;
  int lines = 0;
  int parsed = 0;
  int round_trips = 0;
  std::map<std::string, int> kinds;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    ++lines;
    simdjson::padded_string padded(line);
    simdjson::ondemand::document doc;
    std::string_view query;
    std::string_view name;
    ASSERT_EQ(json.iterate(padded).get(doc), simdjson::SUCCESS) << "line " << lines;
    ASSERT_EQ(doc["name"].get_string().get(name), simdjson::SUCCESS) << "line " << lines;
    ASSERT_EQ(doc["query"].get_string().get(query), simdjson::SUCCESS) << "line " << lines;
    std::string text(query);
    ParseOutcome out = Parse(text);
    if (!out.ok()) {
      ADD_FAILURE() << "rule '" << name << "' does not parse:\n"
                    << out.diagnostics.at(0).Format("rule") << text;
      continue;
    }
    ++parsed;
    static constexpr const char* kKinds[] = {"event", "sequence", "sample"};
    ++kinds[kKinds[static_cast<int>(out.query->kind)]];
    std::string printed = Print(*out.query);
    ParseOutcome again = Parse(printed);
    if (!again.ok()) {
      ADD_FAILURE() << "canonical text of '" << name << "' does not parse:\n"
                    << again.diagnostics.at(0).Format("printed") << printed;
      continue;
    }
    EXPECT_TRUE(again.query->SameAs(*out.query)) << name << "\n" << text << "\n" << printed;
    EXPECT_EQ(Print(*again.query), printed) << name;
    if (again.query->SameAs(*out.query)) ++round_trips;
  }
  std::cout << "corpus: " << lines << " rules, " << parsed << " parsed, " << round_trips
            << " round-tripped (";
  for (const auto& [kind, count] : kinds) std::cout << kind << " " << count << " ";
  std::cout << ")\n";
  EXPECT_EQ(lines, 1081) << "the corpus file changed size";
  EXPECT_EQ(parsed, lines);
  EXPECT_EQ(round_trips, lines);
}

}  // namespace
}  // namespace eql::syntax
