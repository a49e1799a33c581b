// Mini-conformance of the expression semantics against Elasticsearch's EQL
// QA suites: every event query (not sequence, not sample) of
// test_queries.toml, additional_test_queries.toml and test_queries_date.toml
// runs over the endgame data (test_data.json) the way the ES QA harness runs
// it: @timestamp = timestamp / 10000 - 11644473600000 (FILETIME to epoch ms),
// category from event_type, results ordered by (@timestamp, serial_event_id),
// `| head N` / `| tail N` applied, at most 50 results (the harness's size).
// The serial_event_ids are compared with expected_event_ids.
//
// Query text is read by the test-only MiniParser (mini_parser.hpp), so this
// runs independently of the grammar's progress, and again by the real parser
// (syntax::Parse) when it is built (EQL_WITH_SYNTAX).
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "analysis/compile.hpp"
#include "eql/event.hpp"
#include "expr/eval.hpp"
#include "io/json_projector.hpp"
#include "mini_parser.hpp"
#include "toml++/toml.h"
#ifdef EQL_WITH_SYNTAX
#include "syntax/parse.hpp"
#endif

namespace eql {
namespace {

namespace fs = std::filesystem;
const fs::path kDir = fs::path(EQL_SHARED_DIR) / "conformance" / "elasticsearch";

struct Loaded {
  Event event;
  int64_t timestamp = 0;
  int64_t serial = 0;
};

std::vector<Loaded> LoadEndgame() {
  std::vector<Loaded> out;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  auto text = simdjson::padded_string::load((kDir / "test_data.json").string());
  if (text.error() || parser.parse(text.value_unsafe()).get(root)) return out;
  simdjson::dom::array array;
  if (root.get_array().get(array)) return out;
  for (simdjson::dom::element item : array) {
    auto event = Event::FromJson(simdjson::minify(item));
    if (!event.ok()) continue;
    Loaded l;
    const Event::Value* ts = event->Find("timestamp");
    const Event::Value* serial = event->Find("serial_event_id");
    if (ts == nullptr || serial == nullptr) continue;
    l.timestamp = ts->integer / 10000 - 11644473600000;
    l.serial = serial->integer;
    event->Set("@timestamp", l.timestamp);
    l.event = std::move(*event);
    out.push_back(std::move(l));
  }
  std::stable_sort(out.begin(), out.end(), [](const Loaded& a, const Loaded& b) {
    return a.timestamp != b.timestamp ? a.timestamp < b.timestamp : a.serial < b.serial;
  });
  return out;
}

struct Parsed {
  bool skip = false;  // sequence or sample
  ast::EventQuery event;
  std::vector<ast::Pipe> pipes;
  std::string error;
};

// Query text to an event query with the test-only MiniParser.
Parsed ParseMini(const std::string& text) {
  Parsed p;
  testing::MiniParser parser(text);
  auto q = parser.ParseQuery();
  if (!q) {
    p.error = parser.error();
    return p;
  }
  if (q->is_sequence_or_sample) {
    p.skip = true;
    return p;
  }
  p.event = std::move(q->event);
  p.pipes = std::move(q->pipes);
  return p;
}

#ifdef EQL_WITH_SYNTAX
// Query text to an event query with the real grammar (libeql/syntax).
Parsed ParseReal(const std::string& text) {
  Parsed p;
  auto outcome = syntax::Parse(text);
  if (!outcome.ok()) {
    p.error = outcome.diagnostics.empty() ? "parse error" : outcome.diagnostics[0].message;
    return p;
  }
  if (outcome.query->kind != ast::QueryKind::kEvent) {
    p.skip = true;
    return p;
  }
  p.event = outcome.query->event;
  p.pipes = outcome.query->pipes;
  return p;
}
#endif

using ParseFn = Parsed (*)(const std::string&);

// Shared data may be absent on a developer machine (skip), never in CI (fail).
bool InCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

std::string Join(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

void RunConformance(ParseFn parse) {
  std::vector<Loaded> events = LoadEndgame();
  ASSERT_EQ(events.size(), 102u) << "test_data.json did not load";
  int passed = 0, failed = 0, skipped = 0;
  std::vector<std::string> failures;
  for (const char* file :
       {"test_queries.toml", "additional_test_queries.toml", "test_queries_date.toml"}) {
    toml::table suite;
    try {
      suite = toml::parse_file((kDir / file).string());
    } catch (const std::exception& e) {
      ADD_FAILURE() << file << ": " << e.what();
      continue;
    }
    const toml::array* queries = suite["queries"].as_array();
    ASSERT_NE(queries, nullptr) << file;
    for (const toml::node& node : *queries) {
      const toml::table& q = *node.as_table();
      std::string name = q["name"].value_or(std::string("?"));
      std::string text = q["query"].value_or(std::string());
      std::vector<int64_t> expected;
      if (const toml::array* ids = q["expected_event_ids"].as_array()) {
        for (const toml::node& id : *ids) expected.push_back(id.value_or(int64_t{-999}));
      }
      Parsed parsed = parse(text);
      if (parsed.skip) {
        ++skipped;
        continue;
      }
      std::string label = std::string(file) + " " + name;
      if (!parsed.error.empty()) {
        ++failed;
        failures.push_back(label + ": parse error: " + parsed.error);
        continue;
      }
      io::FieldRegistry fields;
      analysis::CompileOptions options;
      options.category_field = "event_type";
      auto compiled = analysis::CompileEventQuery(parsed.event, fields, options, text);
      if (!compiled.ok()) {
        ++failed;
        failures.push_back(label + ": compile error: " + compiled.diagnostics[0].message);
        continue;
      }
      io::FieldId serial_field = fields.Intern("serial_event_id");
      io::JsonProjector projector(fields);
      io::Record record;
      std::vector<int64_t> got;
      for (const Loaded& l : events) {
        ASSERT_TRUE(projector.Project(l.event, record).ok());
        if (expr::Matches(compiled.value->condition, record)) {
          got.push_back(record.Get(serial_field).front().i);
        }
      }
      for (const ast::Pipe& pipe : parsed.pipes) {
        size_t n = static_cast<size_t>(std::max<int64_t>(pipe.count, 0));
        if (got.size() <= n) continue;
        if (pipe.name == "head") {
          got.resize(n);
        } else {
          got.erase(got.begin(), got.end() - static_cast<ptrdiff_t>(n));
        }
      }
      if (got.size() > 50) got.resize(50);
      if (got == expected) {
        ++passed;
      } else {
        ++failed;
        failures.push_back(label + ": expected " + Join(expected) + " got " + Join(got) +
                           "\n    query: " + text);
      }
    }
  }
  for (const std::string& f : failures) std::printf("FAIL %s\n", f.c_str());
  std::printf("conformance: %d passed, %d failed, %d skipped\n", passed, failed, skipped);
  EXPECT_EQ(failed, 0);
  EXPECT_GT(passed, 140);
}

TEST(ExprConformance, EndgameEventQueriesMiniParser) {
  if (!fs::exists(kDir / "test_data.json")) {
    ASSERT_FALSE(InCi()) << "no conformance data at " << kDir;
    GTEST_SKIP() << "no conformance data at " << kDir;
  }
  RunConformance(&ParseMini);
}

#ifdef EQL_WITH_SYNTAX
TEST(ExprConformance, EndgameEventQueriesRealParser) {
  if (!fs::exists(kDir / "test_data.json")) {
    ASSERT_FALSE(InCi()) << "no conformance data at " << kDir;
    GTEST_SKIP() << "no conformance data at " << kDir;
  }
  RunConformance(&ParseReal);
}
#endif

}  // namespace
}  // namespace eql

namespace eql {
namespace {

// Every event-query rule of elastic/detection-rules compiles: Elasticsearch
// runs them all, so a diagnostic here would be a false rejection.
void RunCorpus(ParseFn parse) {
  fs::path corpus = fs::path(EQL_SHARED_DIR) / "corpus" / "detection-rules-eql.jsonl";
  if (!fs::exists(corpus)) {
    ASSERT_FALSE(InCi()) << "no corpus at " << corpus;
    GTEST_SKIP() << "no corpus at " << corpus;
  }
  std::ifstream in(corpus);
  std::string line;
  int compiled = 0, rejected = 0, skipped = 0, unparsed = 0;
  io::FieldRegistry fields;  // one registry for all rules, as an engine has
  simdjson::dom::parser parser;
  while (std::getline(in, line)) {
    simdjson::dom::element rule;
    if (parser.parse(line).get(rule)) continue;
    std::string_view query_view;
    if (rule["query"].get_string().get(query_view)) continue;
    std::string query(query_view);
    std::string_view name_view;
    std::string name = rule["name"].get_string().get(name_view) ? "?" : std::string(name_view);
    Parsed parsed = parse(query);
    if (parsed.skip) {
      ++skipped;
      continue;
    }
    if (!parsed.error.empty()) {
      ++unparsed;
      std::printf("UNPARSED %s: %s\n", name.c_str(), parsed.error.c_str());
      continue;
    }
    auto c = analysis::CompileEventQuery(parsed.event, fields, {}, query);
    if (c.ok()) {
      ++compiled;
    } else {
      ++rejected;
      const Diagnostic& d = c.diagnostics[0];
      std::printf("REJECTED %s: %u:%u: %s\n  %s\n", name.c_str(), d.line, d.column,
                  d.message.c_str(), d.source_line.c_str());
    }
  }
  std::printf(
      "corpus: %d compiled, %d rejected, %d unparsed, %d sequence/sample skipped; %zu fields\n",
      compiled, rejected, unparsed, skipped, fields.size());
  EXPECT_EQ(rejected, 0);
  EXPECT_GT(compiled, 800);
}

TEST(ExprCorpus, DetectionRulesEventQueriesCompileMiniParser) { RunCorpus(&ParseMini); }

#ifdef EQL_WITH_SYNTAX
TEST(ExprCorpus, DetectionRulesEventQueriesCompileRealParser) { RunCorpus(&ParseReal); }
#endif

// The Node.js rules of ../shared/rules over the example Windows events: the
// expected entity ids were worked out by hand from each rule's branches.
TEST(ExprRules, NodeJsRulesOnExampleEvents) {
  fs::path events_path = fs::path(EQL_SOURCE_DIR) / "examples" / "data" / "windows-node.ndjson";
  fs::path rules = fs::path(EQL_SHARED_DIR) / "rules";
  if (!fs::exists(events_path) || !fs::exists(rules)) {
    ASSERT_FALSE(InCi()) << "missing example events or rules";
    GTEST_SKIP() << "missing example events or rules";
  }
  struct Case {
    const char* file;
    std::vector<std::string> expected;
  };
  const Case cases[] = {
      {"execution_nodejs_susp_patterns@c969216bd1.toml", {"w1-10", "w1-11", "w2-20", "w2-22"}},
      {"execution_nodejs_susp_patterns@14cf530f0d.toml", {"w1-11", "w2-20", "w2-22"}},
  };
  for (const Case& c : cases) {
    toml::table rule = toml::parse_file((rules / c.file).string());
    std::string query = rule["rule"]["query"].value_or(std::string());
    Parsed parsed = ParseMini(query);
    ASSERT_TRUE(parsed.error.empty()) << parsed.error;
    io::FieldRegistry fields;
    auto compiled = analysis::CompileEventQuery(parsed.event, fields, {}, query);
    ASSERT_TRUE(compiled.ok()) << compiled.diagnostics[0].message;
    io::FieldId entity = fields.Intern("process.entity_id");
    io::JsonProjector projector(fields);
    io::Record record;
    std::ifstream in(events_path);
    std::string line;
    std::vector<std::string> got;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      ASSERT_TRUE(projector.Project(line, record).ok()) << line;
      if (expr::Matches(compiled.value->condition, record)) {
        got.emplace_back(record.Get(entity).front().s);
      }
    }
    std::printf("%s: matched", c.file);
    for (const std::string& id : got) std::printf(" %s", id.c_str());
    std::printf("\n");
    EXPECT_EQ(got, c.expected) << c.file;
  }
}

}  // namespace
}  // namespace eql
