// Runs Elasticsearch's EQL QA suites (../shared/conformance/elasticsearch)
// through the public Engine API, the way Elasticsearch's QA harness runs them:
// each query over its data set in batch mode, the returned events identified
// by their tiebreaker (or id) field, compared with expected_event_ids (and
// join_keys where a case lists them). Prints one line per failing case and
// "conformance FILE: N passed, N failed, N skipped" per file.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "eql/engine.hpp"
#include "fmt/format.h"
#include "simdjson.h"
#include "toml++/toml.h"

namespace {

namespace fs = std::filesystem;

const fs::path kSuiteDir = fs::path(EQL_SHARED_DIR) / "conformance" / "elasticsearch";

bool InCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The .data files carry whole-line // comments, which JSON does not allow.
std::string StripLineComments(const std::string& text) {
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line)) {
    size_t first = line.find_first_not_of(" \t");
    if (first != std::string::npos && line.compare(first, 2, "//") == 0) continue;
    out += line;
    out += '\n';
  }
  return out;
}

// How a suite's data set is loaded and its results read back.
struct DataSet {
  std::vector<std::string> files;
  std::string id_field;          // read from each returned event
  std::string tiebreaker_field;  // empty for none
  bool filetime_timestamp = false;  // endgame: @timestamp from `timestamp`
  bool has_timestamp = true;
};

DataSet DataSetFor(const std::string& suite) {
  if (suite == "test_missing_events.toml") return {{"missing-events.data"}, "sequence", "sequence"};
  if (suite == "test_extra.toml") return {{"extra.data"}, "sequence", "sequence"};
  if (suite == "test_sample.toml") {
    DataSet d{{"sample1.data", "sample2.data", "sample3.data"}, "id", ""};
    d.has_timestamp = false;
    return d;
  }
  DataSet d{{"test_data.json"}, "serial_event_id", "serial_event_id"};
  d.filetime_timestamp = true;
  return d;
}

// The events of a data set as JSON texts, with @timestamp added where the
// harness computes it.
std::vector<std::string> LoadEvents(const DataSet& data) {
  std::vector<std::string> events;
  simdjson::dom::parser parser;
  for (const auto& file : data.files) {
    std::string text = StripLineComments(ReadText(kSuiteDir / file));
    simdjson::dom::array array;
    auto error = parser.parse(text).get(array);
    EXPECT_EQ(error, simdjson::SUCCESS) << file << ": " << simdjson::error_message(error);
    if (error) continue;
    for (simdjson::dom::element event : array) {
      std::string json = simdjson::minify(event);
      if (data.filetime_timestamp) {
        int64_t filetime = 0;
        if (event["timestamp"].get(filetime) == simdjson::SUCCESS) {
          // Windows FILETIME (100 ns since 1601) to epoch milliseconds.
          int64_t millis = filetime / 10000 - 11644473600000LL;
          json = fmt::format("{{\"@timestamp\":{},{}", millis, json.substr(1));
        }
      }
      events.push_back(std::move(json));
    }
  }
  return events;
}

struct Skip {
  std::string reason;
};

std::map<std::string, Skip> LoadSkips() {
  std::map<std::string, Skip> skips;
  std::istringstream in(ReadText(EQL_SKIP_LIST));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string file, name, reason;
    fields >> file >> name;
    std::getline(fields, reason);
    size_t start = reason.find_first_not_of(" \t");
    reason = start == std::string::npos ? "" : reason.substr(start);
    if (!file.empty() && !name.empty()) skips[file + " " + name] = {reason};
  }
  return skips;
}

// A TOML value of a join key or id, as comparable text.
std::string KeyText(const toml::node& node) {
  if (auto s = node.value<std::string>()) return *s;
  if (auto i = node.value<int64_t>()) return std::to_string(*i);
  if (auto d = node.value<double>()) return fmt::format("{}", *d);
  if (auto b = node.value<bool>()) return *b ? "true" : "false";
  return "null";
}

// Our join key (JSON text) as comparable text: strings lose their quotes.
std::string KeyText(const std::string& json) {
  if (json.size() >= 2 && json.front() == '"' && json.back() == '"') {
    return json.substr(1, json.size() - 2);
  }
  return json;
}

struct CaseResult {
  std::vector<int64_t> ids;
  std::vector<std::string> join_keys;
  std::string error;
};

CaseResult RunQuery(const std::string& query, const DataSet& data,
                    const std::vector<std::string>& events, int64_t size) {
  CaseResult result;
  eql::EngineOptions options;
  options.batch = true;
  options.category_field = "event_type";  // event.category is an alias of it
  options.tiebreaker_field = data.tiebreaker_field;
  if (!data.has_timestamp) options.timestamp_field = "";
  auto engine = eql::Engine::Create({{.query = query, .name = "case"}}, options);
  if (!engine.ok()) {
    result.error = std::string(engine.status().message());
    return result;
  }
  if (!(*engine)->rejected_rules().empty()) {
    result.error = (*engine)->rejected_rules()[0].diagnostics.empty()
                       ? "rejected"
                       : (*engine)->rejected_rules()[0].diagnostics[0].Format();
    return result;
  }
  for (const auto& e : events) {
    absl::Status status = (*engine)->PushJson(e);
    if (!status.ok()) {
      result.error = "event rejected: " + std::string(status.message());
      return result;
    }
  }
  (*engine)->Flush();
  std::vector<eql::Alert> alerts = (*engine)->TakeAlerts();
  // The harness asks for `size` results (50 unless the case says otherwise).
  if (static_cast<int64_t>(alerts.size()) > size) alerts.resize(static_cast<size_t>(size));
  simdjson::dom::parser parser;
  for (const auto& alert : alerts) {
    for (const auto& e : alert.events) {
      if (e.missing) {
        result.ids.push_back(-1);
        continue;
      }
      simdjson::dom::element doc;
      int64_t id = 0;
      if (parser.parse(e.json).get(doc) != simdjson::SUCCESS ||
          doc[data.id_field].get(id) != simdjson::SUCCESS) {
        result.error = "alert event without an id: " + e.json;
        return result;
      }
      result.ids.push_back(id);
    }
    for (const auto& k : alert.join_keys) result.join_keys.push_back(KeyText(k));
  }
  return result;
}

std::string Join(const std::vector<int64_t>& ids) {
  return fmt::format("[{}]", fmt::join(ids, ", "));
}

void RunSuite(const std::string& suite) {
  if (!fs::exists(kSuiteDir / suite)) {
    if (InCi()) FAIL() << "conformance data missing under CI: " << (kSuiteDir / suite);
    GTEST_SKIP() << "conformance data not found at " << kSuiteDir << " (CI=true makes this fail)";
  }
  std::string text = ReadText(kSuiteDir / suite);
  // test_extra.toml writes `join_keys = [null]`, which TOML has no word for;
  // in join_keys lines (and only there) a bare null becomes the text "null".
  {
    std::istringstream in(text);
    std::string line, fixed;
    while (std::getline(in, line)) {
      if (line.rfind("join_keys", 0) == 0) {
        for (size_t at = 0; (at = line.find("null", at)) != std::string::npos; at += 6) {
          if (at > 0 && line[at - 1] == '"') continue;
          line.replace(at, 4, "\"null\"");
        }
      }
      fixed += line;
      fixed += '\n';
    }
    text = std::move(fixed);
  }
  toml::table parsed;
  try {
    parsed = toml::parse(text, suite);
  } catch (const toml::parse_error& err) {
    FAIL() << suite << ": " << err.description();
  }
  const toml::array* queries = parsed["queries"].as_array();
  ASSERT_NE(queries, nullptr);

  const DataSet data = DataSetFor(suite);
  const std::vector<std::string> events = LoadEvents(data);
  const auto skips = LoadSkips();
  int passed = 0, failed = 0, skipped = 0;
  for (const toml::node& node : *queries) {
    const toml::table& c = *node.as_table();
    std::string name = c["name"].value_or(std::string("?"));
    std::string query = c["query"].value_or(std::string());
    auto skip = skips.find(suite + " " + name);
    if (skip != skips.end()) {
      ++skipped;
      std::cout << fmt::format("  skip {}: {}\n", name, skip->second.reason);
      continue;
    }
    int64_t size = c["size"].value_or(int64_t{50});
    // expected_event_ids: one list, or (samples) a list of acceptable lists.
    std::vector<std::vector<int64_t>> expected_options;
    if (const toml::array* expected = c["expected_event_ids"].as_array()) {
      if (!expected->empty() && expected->front().is_array()) {
        for (const auto& option : *expected) {
          std::vector<int64_t> ids;
          for (const auto& id : *option.as_array()) ids.push_back(id.value_or(int64_t{0}));
          expected_options.push_back(ids);
        }
      } else {
        std::vector<int64_t> ids;
        for (const auto& id : *expected) ids.push_back(id.value_or(int64_t{0}));
        expected_options.push_back(ids);
      }
    }
    CaseResult got = RunQuery(query, data, events, size);
    bool ok = got.error.empty();
    std::string why = got.error;
    if (ok) {
      bool any = false;
      for (const auto& option : expected_options) any = any || option == got.ids;
      if (!any) {
        ok = false;
        why = fmt::format("expected {} got {}", Join(expected_options.at(0)), Join(got.ids));
      }
    }
    if (ok && c["join_keys"].is_array()) {
      std::vector<std::string> keys;
      for (const auto& k : *c["join_keys"].as_array()) keys.push_back(KeyText(k));
      if (keys != got.join_keys) {
        ok = false;
        why = fmt::format("join_keys: expected [{}] got [{}]", fmt::join(keys, ", "),
                          fmt::join(got.join_keys, ", "));
      }
    }
    if (ok) {
      ++passed;
    } else {
      ++failed;
      std::cout << fmt::format("  FAIL {}: {}\n      query: {}\n", name, why, query);
    }
  }
  std::cout << fmt::format("conformance {}: {} passed, {} failed, {} skipped\n", suite, passed,
                           failed, skipped);
  EXPECT_EQ(failed, 0) << suite;
}

TEST(Conformance, TestQueries) { RunSuite("test_queries.toml"); }
TEST(Conformance, AdditionalTestQueries) { RunSuite("additional_test_queries.toml"); }
TEST(Conformance, TestQueriesDate) { RunSuite("test_queries_date.toml"); }
TEST(Conformance, MissingEvents) { RunSuite("test_missing_events.toml"); }
TEST(Conformance, Extra) { RunSuite("test_extra.toml"); }
TEST(Conformance, Sample) { RunSuite("test_sample.toml"); }

}  // namespace
