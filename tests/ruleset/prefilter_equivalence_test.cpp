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

}  // namespace
}  // namespace eql
