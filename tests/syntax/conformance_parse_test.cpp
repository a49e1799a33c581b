// tests/syntax/conformance_parse_test.cpp
//
// The queries of Elasticsearch's EQL QA suites (shared/conformance): every
// query of the 8.x suites parses and round-trips; the old 7.x files are
// either parsed (what 8.x still accepts) or rejected with a clear message,
// and the reasons are summarised.
#include <gtest/gtest.h>
#include <toml++/toml.h>

#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "syntax/parse.hpp"
#include "syntax_test_util.hpp"

namespace eql::syntax {
namespace {

struct NamedQuery {
  std::string name;
  std::string query;
};

// test_extra.toml writes expected join keys as `join_keys = [null]`, which is
// not TOML; such lines are dropped (only the queries matter here).
std::string DropNullJoinKeys(const std::string& text) {
  std::istringstream in(text);
  std::string out;
  std::string line;
  while (std::getline(in, line)) {
    size_t first = line.find_first_not_of(" \t");
    bool join_keys = first != std::string::npos && line.compare(first, 9, "join_keys") == 0;
    bool bare_null = false;
    for (size_t at = line.find("null"); at != std::string::npos; at = line.find("null", at + 1)) {
      if (at == 0 || line[at - 1] != '"') bare_null = true;
    }
    if (join_keys && bare_null) continue;
    out += line + "\n";
  }
  return out;
}

std::vector<NamedQuery> ReadQueries(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::vector<NamedQuery> queries;
  toml::table doc;
  try {
    doc = toml::parse(DropNullJoinKeys(text.str()), path);
  } catch (const toml::parse_error& e) {
    ADD_FAILURE() << path << ": " << e.what();
    return queries;
  }
  const toml::array* list = doc["queries"].as_array();
  if (list == nullptr) {
    ADD_FAILURE() << path << " has no [[queries]]";
    return queries;
  }
  for (const toml::node& node : *list) {
    const toml::table* t = node.as_table();
    if (t == nullptr) continue;
    NamedQuery q;
    q.name = (*t)["name"].value_or(std::string("?"));
    std::optional<std::string> query = (*t)["query"].value<std::string>();
    if (!query) continue;
    q.query = *query;
    queries.push_back(std::move(q));
  }
  return queries;
}

std::string Dir() { return std::string(EQL_SHARED_DIR) + "/conformance/elasticsearch/"; }

class AcceptedSuite : public ::testing::TestWithParam<const char*> {};

TEST_P(AcceptedSuite, EveryQueryParsesAndRoundTrips) {
  const std::string path = Dir() + GetParam();
  EQL_REQUIRE_SHARED_FILE(path);
  std::vector<NamedQuery> queries = ReadQueries(path);
  ASSERT_FALSE(queries.empty()) << path;
  int ok = 0;
  for (const NamedQuery& q : queries) {
    ParseOutcome out = Parse(q.query);
    if (!out.ok()) {
      ADD_FAILURE() << GetParam() << " " << q.name << ":\n"
                    << out.diagnostics.at(0).Format(q.name) << q.query;
      continue;
    }
    std::string printed = Print(*out.query);
    ParseOutcome again = Parse(printed);
    ASSERT_TRUE(again.ok()) << q.name << ": " << printed;
    EXPECT_TRUE(again.query->SameAs(*out.query)) << q.name << "\n" << printed;
    ++ok;
  }
  std::cout << GetParam() << ": " << ok << "/" << queries.size()
            << " queries parsed and round-tripped\n";
  EXPECT_EQ(ok, static_cast<int>(queries.size()));
}

INSTANTIATE_TEST_SUITE_P(Elasticsearch8, AcceptedSuite,
                         ::testing::Values("test_queries.toml", "additional_test_queries.toml",
                                           "test_queries_date.toml", "test_missing_events.toml",
                                           "test_extra.toml", "test_sample.toml"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           std::string name = info.param;
                           return name.substr(0, name.find('.'));
                         });

// Groups rejections by message (positions and quoted names stripped) and
// prints the summary.
std::map<std::string, int> Reasons(const std::vector<NamedQuery>& queries, int& accepted) {
  std::map<std::string, int> reasons;
  accepted = 0;
  for (const NamedQuery& q : queries) {
    ParseOutcome out = Parse(q.query);
    if (out.ok()) {
      ++accepted;
      continue;
    }
    EXPECT_FALSE(out.diagnostics.empty()) << q.name;
    const Diagnostic& d = out.diagnostics.front();
    EXPECT_FALSE(d.message.empty()) << q.name;
    EXPECT_GE(d.line, 1u);
    ++reasons[d.message];
  }
  return reasons;
}

void PrintReasons(const std::string& file, size_t total, int accepted,
                  const std::map<std::string, int>& reasons) {
  std::cout << file << ": " << total << " queries, " << accepted << " parse, " << total - accepted
            << " rejected:\n";
  std::vector<std::pair<int, std::string>> sorted;
  for (const auto& [message, count] : reasons) sorted.emplace_back(count, message);
  std::sort(sorted.rbegin(), sorted.rend());
  for (const auto& [count, message] : sorted)
    std::cout << "  " << count << "x  " << message << "\n";
}

bool StartsWithAny(const std::string& s, std::initializer_list<const char*> prefixes) {
  for (const char* p : prefixes) {
    if (s.rfind(p, 0) == 0) return true;
  }
  return false;
}

// The 7.x "supported" list: what 8.x still accepts parses; the rest is the
// old syntax (`=`, single quotes, `?"..."`), each named as such.
TEST(OldSuites, SupportedIn7xParsesOrNamesTheOldSyntax) {
  const std::string path = Dir() + "test_queries_supported.toml";
  EQL_REQUIRE_SHARED_FILE(path);
  std::vector<NamedQuery> queries = ReadQueries(path);
  ASSERT_FALSE(queries.empty());
  int accepted = 0;
  std::map<std::string, int> reasons = Reasons(queries, accepted);
  PrintReasons("test_queries_supported.toml", queries.size(), accepted, reasons);
  for (const auto& [message, count] : reasons) {
    EXPECT_TRUE(StartsWithAny(
        message, {"'=' is not supported", "Use double quotes", "Use triple double quotes"}))
        << "unexpected reason: " << message;
  }
  EXPECT_GT(accepted, 0);
}

// The 7.x "unsupported" list: the features Elasticsearch 8 rejects must be
// rejected with their own message, not a generic syntax error.
TEST(OldSuites, UnsupportedIn7xRejectedWithReasons) {
  const std::string path = Dir() + "test_queries_unsupported.toml";
  EQL_REQUIRE_SHARED_FILE(path);
  std::vector<NamedQuery> queries = ReadQueries(path);
  ASSERT_FALSE(queries.empty());
  int accepted = 0;
  std::map<std::string, int> reasons = Reasons(queries, accepted);
  PrintReasons("test_queries_unsupported.toml", queries.size(), accepted, reasons);
  int generic = 0;
  for (const NamedQuery& q : queries) {
    bool uses_pipe = false;
    for (const char* pipe : {"| count", "| unique", "| filter", "| sort", "| unique_count"}) {
      uses_pipe = uses_pipe || q.query.find(pipe) != std::string::npos;
    }
    ParseOutcome out = Parse(q.query);
    if (out.ok()) continue;
    const std::string& message = out.diagnostics.front().message;
    // The first problem is reported; with an unsupported pipe that is
    // either the pipe itself or an earlier feature with its own message.
    if (uses_pipe) {
      EXPECT_FALSE(StartsWithAny(message, {"expected "})) << q.query << "\n" << message;
    }
    if (q.query.rfind("join", q.query.find_first_not_of(" \n\t")) ==
        q.query.find_first_not_of(" \n\t")) {
      EXPECT_EQ(message, "Join is not supported") << q.name;
    }
    if (message.rfind("expected ", 0) == 0) ++generic;
  }
  std::cout << "  (" << generic << " of them with a generic 'expected ...' syntax message)\n";
  EXPECT_GE(reasons["Pipe [unique] is not supported"], 1);
  EXPECT_GE(reasons["Join is not supported"], 1);
  EXPECT_GE(reasons["Process relationships are not supported"], 1);
}

}  // namespace
}  // namespace eql::syntax
