// tests/ruleset/prefilter_equivalence_test.cpp
//
// The literal prefilter (with the shared leaves answered once per event and
// the guards it tests before a rule's program) and the multi-pattern automaton
// may only save work: over the whole detection-rules corpus, the engine with
// them and without them must give the same alerts, in the same order. The
// events are made from the rules themselves, so that the anchored paths are
// exercised: for every rule unit, events carrying the literal values its
// condition requires (as written, folded to lowercase, and in capitals;
// around the fixed start or end of a wildcard pattern), in the unit's
// category, with shared join-key values so that sequences can complete.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "analysis/compile.hpp"
#include "eql/engine.hpp"
#include "eql/event.hpp"
#include "eql/rules.hpp"
#include "corpus_events.hpp"

namespace eql {
namespace {

std::vector<std::string> RunEngine(const std::vector<Rule>& rules, const std::vector<Event>& events,
                                   bool prefilter, bool multi_pattern, EngineStats& stats,
                                   LatePolicy late = LatePolicy::kDrop) {
  EngineOptions options;
  options.late_policy = late;
  options.literal_prefilter = prefilter;
  options.multi_pattern = multi_pattern;
  auto engine = Engine::Create(rules, options);
  EXPECT_TRUE(engine.ok()) << engine.status();
  std::vector<std::string> alerts;
  (*engine)->SetAlertCallback([&](const Alert& a) { alerts.push_back(a.ToJson()); });
  for (const Event& e : events) EXPECT_TRUE((*engine)->Push(e).ok());
  (*engine)->Flush();
  stats = (*engine)->stats();
  return alerts;
}

TEST(PrefilterEquivalence, CorpusGivesTheSameAlertsWithAndWithoutLiteralAnchors) {
  const std::string path = std::string(EQL_SHARED_DIR) + "/corpus/detection-rules-eql.jsonl";
  if (!std::filesystem::exists(path)) {
    if (std::getenv("CI") != nullptr) FAIL() << "the corpus is missing: " << path;
    GTEST_SKIP() << "no corpus at " << path << " (../shared is not beside the checkout)";
  }
  auto rules = LoadRules(path);
  ASSERT_TRUE(rules.ok()) << rules.status();
  std::vector<Event> events = testing_support::EventsFromRuleLiterals(*rules);
  EngineStats with_stats, automaton_stats, without_stats;
  std::vector<std::string> with = RunEngine(*rules, events, true, false, with_stats);
  std::vector<std::string> automaton = RunEngine(*rules, events, true, true, automaton_stats);
  std::vector<std::string> without = RunEngine(*rules, events, false, false, without_stats);
  std::cout << "  " << rules->size() << " rules, " << events.size()
            << " events made from their literals: " << with.size() << " alerts with the prefilter, "
            << automaton.size() << " with the automaton too, " << without.size()
            << " with neither\n";
  EXPECT_GT(with.size(), 300u) << "the events should set off many rules";
  for (const auto* other : {&automaton, &without}) {
    ASSERT_EQ(with.size(), other->size());
    for (size_t i = 0; i < with.size(); ++i) ASSERT_EQ(with[i], (*other)[i]) << "alert " << i;
  }
  for (size_t r = 0; r < rules->size(); ++r) {
    EXPECT_EQ(with_stats.rules[r].partials_created, without_stats.rules[r].partials_created)
        << (*rules)[r].name;
    EXPECT_EQ(automaton_stats.rules[r].partials_created, without_stats.rules[r].partials_created)
        << (*rules)[r].name;
  }
}

// With the prefilter, a sequence stage that can only act on what is in
// flight (a positive stage after the first: partials to extend; a missing
// stage after it: partials or candidates to rule out) is skipped while its
// rule has none. Random streams over inner, trailing and leading missing
// stages must give the alerts of the engine that evaluates every stage.
TEST(PrefilterEquivalence, StagesWaitingForSequencesInFlightGiveTheSameAlerts) {
  std::printf(
      "checks: 3 sequences with inner, trailing and leading missing stages over 20 random "
      "streams of 400 events (in time order, late events dropped; and shuffled, late events "
      "processed): the same alerts with and without the prefilter\n");
  const std::vector<Rule> rules = {
      {.query = R"(sequence by host.id with maxspan=10s [process where process.name == "a"])"
                R"( ![process where process.name == "m"] [process where process.name == "c"])",
       .name = "inner"},
      {.query = R"(sequence by host.id with maxspan=5s [process where process.name == "a"])"
                R"( ![process where process.name == "m"])",
       .name = "trailing"},
      {.query = R"(sequence by host.id with maxspan=5s ![process where process.name == "m"])"
                R"( [process where process.name == "a"] [process where process.name == "c"])",
       .name = "leading"},
  };
  std::mt19937 rng(20261201);
  size_t total = 0;
  for (int stream = 0; stream < 20; ++stream) {
    const bool shuffled = stream % 4 == 3;
    std::vector<Event> events;
    int64_t ts = 1'700'000'000'000;
    for (int i = 0; i < 400; ++i) {
      ts += (rng() % 4 == 0) ? 0 : rng() % (stream % 2 == 0 ? 1500 : 6000);
      int64_t at = ts;
      if (shuffled && rng() % 5 == 0) at -= rng() % 4000;  // late
      Event e;
      e.Set("@timestamp", at)
          .Set("event.category", Event::Value::Array({"process"}))
          .Set("host.id", std::string("h") + std::to_string(rng() % 3))
          .Set("process.name", std::string(1, "acmx"[rng() % 4]));
      events.push_back(std::move(e));
    }
    const LatePolicy late = shuffled ? LatePolicy::kProcess : LatePolicy::kDrop;
    EngineStats with_stats, without_stats;
    const auto with = RunEngine(rules, events, true, false, with_stats, late);
    const auto without = RunEngine(rules, events, false, false, without_stats, late);
    ASSERT_EQ(with, without) << "stream " << stream;
    total += with.size();
  }
  std::printf("  %zu alerts in all\n", total);
  EXPECT_GT(total, 100u);
}

// A guard that rules a unit out for a field's value rules it out for that
// value every time: the verdict is kept with the value, and later events
// with it leave the unit out before its guards are read.
TEST(PrefilterEquivalence, AUnitRuledOutByAValueIsLeftOutForItAfterwards) {
  std::printf(
      "checks: 1,000 Linux events against a Windows rule keep one verdict (the first "
      "sighting of a value is not kept, the second keeps it, the rest are left out); a "
      "Windows event then alerts\n");
  const std::vector<Rule> rules = {
      {.query = R"(process where host.os.type == "windows" and process.name == "x")",
       .name = "windows x"}};
  std::vector<Event> events;
  for (int i = 0; i < 1000; ++i) {
    Event e;
    e.Set("@timestamp", int64_t{1'700'000'000'000} + i)
        .Set("event.category", "process")
        .Set("host.os.type", "linux")
        .Set("process.name", "x");
    events.push_back(std::move(e));
  }
  Event windows = events.back();
  windows.Set("@timestamp", int64_t{1'700'000'001'000}).Set("host.os.type", "windows");
  events.push_back(windows);
  EngineStats stats;
  const auto alerts = RunEngine(rules, events, true, false, stats);
  EXPECT_EQ(stats.verdicts_kept, 1u);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_NE(alerts[0].find("windows"), std::string::npos);
}

// Verdicts over random streams whose values recur: single values, arrays,
// absent fields, negated guards and any-of groups over one field must give
// the alerts of the engine that evaluates every unit.
TEST(PrefilterEquivalence, UnitsRuledOutByValueGiveTheSameAlerts) {
  std::printf(
      "checks: 8 rules (guards on single values, arrays, absent fields, !=, not in, an "
      "or over one field, sequences) over 12 random streams of 600 events from a small "
      "vocabulary: the same alerts with and without the prefilter, and verdicts were kept\n");
  const std::vector<Rule> rules = {
      {.query = R"(process where host.os.type == "windows" and process.name : ("a*", "*c"))",
       .name = "single"},
      {.query = R"(process where event.type == "start" and process.args == "x" and)"
                R"( process.name != "b")",
       .name = "array and negated"},
      {.query = R"(process where host.os.type != "linux" and process.parent.name == null)",
       .name = "absent"},
      {.query = R"(process where event.type == "start" and)"
                R"( (process.name : "a*" or process.name : "*z") and)"
                R"( process.parent.name not in ("p", "q")))",
       .name = "or over one field"},
      {.query = R"(any where process.name like~ "A?" and host.os.type : "mac*")", .name = "any"},
      {.query = R"(sequence by host.id with maxspan=5s)"
                R"( [process where host.os.type == "linux" and process.name == "a"])"
                R"( [process where process.parent.name == "a" and event.type != "end"])",
       .name = "sequence"},
      {.query = R"(sequence by host.id [process where process.name : "*c"])"
                R"( ![process where process.args == "stop"] [process where process.name == "z"])",
       .name = "missing stage"},
      {.query = R"(process where process.name == "zz" and host.os.type == "windows")",
       .name = "rare"},
  };
  std::mt19937 rng(20261205);
  const std::vector<std::string> names = {"a", "ab", "abc", "b", "bc", "c", "az", "z", "zz", "A1"};
  const std::vector<std::string> os = {"windows", "linux", "macos"};
  size_t total = 0;
  uint64_t verdicts = 0;
  for (int stream = 0; stream < 12; ++stream) {
    std::vector<Event> events;
    int64_t ts = 1'700'000'000'000;
    for (int i = 0; i < 600; ++i) {
      ts += rng() % 1500;
      Event e;
      e.Set("@timestamp", ts)
          .Set("event.category", rng() % 8 == 0 ? "network" : "process")
          .Set("host.id", std::string("h") + std::to_string(rng() % 3))
          .Set("host.os.type", os[rng() % os.size()])
          .Set("process.name", names[rng() % names.size()]);
      if (rng() % 3 != 0) e.Set("event.type", rng() % 2 == 0 ? "start" : "end");
      if (rng() % 2 == 0) e.Set("process.parent.name", names[rng() % 4]);
      switch (rng() % 4) {
        case 0:
          e.Set("process.args", "x");
          break;
        case 1:
          e.Set("process.args", Event::Value::Array({"-c", rng() % 2 == 0 ? "x" : "stop"}));
          break;
        case 2:
          e.Set("process.args", Event::Value::Array({"x"}));
          break;
        default:
          break;
      }
      events.push_back(std::move(e));
    }
    EngineStats with_stats, without_stats;
    const auto with = RunEngine(rules, events, true, false, with_stats);
    const auto without = RunEngine(rules, events, false, false, without_stats);
    ASSERT_EQ(with, without) << "stream " << stream;
    total += with.size();
    verdicts += with_stats.verdicts_kept;
    EXPECT_EQ(without_stats.verdicts_kept, 0u);
  }
  std::printf("  %zu alerts in all, %lu verdicts kept\n", total,
              static_cast<unsigned long>(verdicts));
  EXPECT_GT(total, 300u);
  EXPECT_GT(verdicts, 50u);
}

}  // namespace
}  // namespace eql
