// tests/ruleset/checkpoint_test.cpp
//
// Engine::Checkpoint() / Restore(): a run stopped after N events, restored
// into a new engine and given the rest of the stream raises exactly the
// alerts of an uninterrupted run, no more and no fewer, and ends with the
// same counters. Checked for every kind of state (partials, until markers,
// missing-stage hits and pending decisions, samples, head/tail, the reorder
// stage, batch, queued alerts), at many cut points, with threads; and a
// snapshot that is corrupt, truncated, of another version or made for other
// rules or options is refused with a clear error, leaving the engine as it
// was.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "eql/engine.hpp"
#include "fmt/format.h"
#include "zlib.h"

namespace eql {
namespace {

std::vector<Rule> StateRules() {
  const std::vector<std::pair<std::string, std::string>> queries = {
      {"three stages",
       "sequence by host.id with maxspan=2s [process where process.name == \"a\"] "
       "[process where process.name == \"b\"] [process where process.name == \"c\"]"},
      {"inner missing",
       "sequence by host.id with maxspan=3s [process where process.name == \"a\"] "
       "![process where process.name == \"x\"] [process where process.name == \"b\"]"},
      {"trailing missing",
       "sequence by host.id with maxspan=2s [process where process.name == \"a\"] "
       "[process where process.name == \"b\"] ![process where process.name == \"x\"]"},
      {"leading missing",
       "sequence by host.id with maxspan=2s ![process where process.name == \"y\"] "
       "[process where process.name == \"a\"] [process where process.name == \"c\"]"},
      {"until",
       "sequence by host.id [process where process.name == \"a\"] "
       "[process where process.name == \"b\"] until [process where process.name == \"x\"]"},
      {"runs",
       "sequence by host.id with maxspan=5s [process where process.name == \"b\"] with runs=2 "
       "[process where process.name == \"c\"]"},
      {"two keys",
       "sequence with maxspan=4s [process where process.name == \"a\"] by host.id, user.id "
       "[process where process.name == \"c\"] by host.id, user.id"},
      {"no key, head",
       "sequence with maxspan=1s [process where process.name == \"a\"] "
       "[process where process.name == \"b\"] | head 25"},
      {"sequence tail",
       "sequence by host.id [process where process.name == \"y\"] "
       "[process where process.name == \"c\"] | tail 4"},
      {"sample",
       "sample by host.id [process where process.name == \"a\"] "
       "[process where process.name == \"c\"]"},
      {"event tail", "process where process.name == \"c\" and user.id == 3 | tail 3"},
      {"event head", "process where process.name == \"x\" | head 5"},
      {"event", "process where process.name == \"y\" and user.id == 1"},
  };
  std::vector<Rule> rules;
  for (const auto& [name, query] : queries) rules.push_back({.query = query, .name = name});
  return rules;
}

// A stream over four hosts whose time mostly goes forward; with `jitter`
// some events come up to 600 ms early (out of order).
std::vector<std::string> Stream(size_t count, uint64_t seed, bool jitter) {
  std::mt19937_64 rng(seed);
  std::vector<std::string> events;
  int64_t t = 1'700'000'000'000;
  const char* names[] = {"a", "b", "c", "x", "y"};
  for (size_t i = 0; i < count; ++i) {
    t += static_cast<int64_t>(rng() % 350);
    int64_t ts = t;
    if (jitter && rng() % 5 == 0) ts -= static_cast<int64_t>(rng() % 600);
    events.push_back(fmt::format(
        R"({{"@timestamp":{},"event":{{"category":"process","sequence":{}}},"host":{{"id":"h{}"}},)"
        R"("user":{{"id":{}}},"process":{{"name":"{}","pid":{}}}}})",
        ts, i, rng() % 4, rng() % 4, names[rng() % 5], i));
  }
  return events;
}

struct Outcome {
  std::vector<std::string> alerts;
  EngineStats stats;
};

std::unique_ptr<Engine> Make(const std::vector<Rule>& rules, const EngineOptions& options) {
  auto engine = Engine::Create(rules, options);
  EXPECT_TRUE(engine.ok()) << engine.status();
  EXPECT_TRUE((*engine)->rejected_rules().empty());
  return std::move(*engine);
}

void Push(Engine& engine, const std::vector<std::string>& events, size_t from, size_t to) {
  for (size_t i = from; i < to; ++i) (void)engine.PushJson(events[i]);
}

Outcome Uninterrupted(const std::vector<Rule>& rules, const EngineOptions& options,
                      const std::vector<std::string>& events) {
  Outcome run;
  auto engine = Make(rules, options);
  engine->SetAlertCallback([&](const Alert& a) { run.alerts.push_back(a.ToJson()); });
  Push(*engine, events, 0, events.size());
  engine->Flush();
  run.stats = engine->stats();
  return run;
}

// Stops after each cut in turn: checkpoint, drop the engine, restore into a
// new one, go on.
Outcome Interrupted(const std::vector<Rule>& rules, const EngineOptions& options,
                    const std::vector<std::string>& events, const std::vector<size_t>& cuts,
                    size_t* snapshot_bytes = nullptr) {
  Outcome run;
  std::string snapshot;
  size_t from = 0;
  for (size_t cut : cuts) {
    auto engine = Make(rules, options);
    engine->SetAlertCallback([&](const Alert& a) { run.alerts.push_back(a.ToJson()); });
    if (!snapshot.empty()) {
      absl::Status restored = engine->Restore(snapshot);
      EXPECT_TRUE(restored.ok()) << restored;
    }
    Push(*engine, events, from, cut);
    from = cut;
    auto saved = engine->Checkpoint();
    EXPECT_TRUE(saved.ok()) << saved.status();
    snapshot = std::move(*saved);
    if (snapshot_bytes != nullptr) *snapshot_bytes = std::max(*snapshot_bytes, snapshot.size());
  }
  auto engine = Make(rules, options);
  engine->SetAlertCallback([&](const Alert& a) { run.alerts.push_back(a.ToJson()); });
  if (!snapshot.empty()) {
    absl::Status restored = engine->Restore(snapshot);
    EXPECT_TRUE(restored.ok()) << restored;
  }
  Push(*engine, events, from, events.size());
  engine->Flush();
  run.stats = engine->stats();
  return run;
}

void ExpectSameRun(const Outcome& whole, Outcome parts, const std::vector<Rule>& rules,
                   bool ordered, const std::string& what) {
  std::vector<std::string> expected = whole.alerts;
  if (!ordered) {
    std::sort(expected.begin(), expected.end());
    std::sort(parts.alerts.begin(), parts.alerts.end());
  }
  ASSERT_EQ(expected.size(), parts.alerts.size()) << what;
  for (size_t i = 0; i < expected.size(); ++i) {
    ASSERT_EQ(expected[i], parts.alerts[i]) << what << ", alert " << i;
  }
  const EngineStats& a = whole.stats;
  const EngineStats& b = parts.stats;
  EXPECT_EQ(a.events_in, b.events_in) << what;
  EXPECT_EQ(a.events_processed, b.events_processed) << what;
  EXPECT_EQ(a.events_late, b.events_late) << what;
  EXPECT_EQ(a.alerts, b.alerts) << what;
  EXPECT_EQ(a.partials_live, b.partials_live) << what;
  EXPECT_EQ(a.partials_expired, b.partials_expired) << what;
  EXPECT_EQ(a.partials_evicted, b.partials_evicted) << what;
  for (size_t r = 0; r < rules.size(); ++r) {
    EXPECT_EQ(a.rules[r].alerts, b.rules[r].alerts) << what << ": " << rules[r].name;
    EXPECT_EQ(a.rules[r].partials_created, b.rules[r].partials_created)
        << what << ": " << rules[r].name;
    EXPECT_EQ(a.rules[r].partials_completed, b.rules[r].partials_completed)
        << what << ": " << rules[r].name;
  }
}

struct Mode {
  std::string name;
  EngineOptions options;
  bool jitter = false;
};

std::vector<Mode> Modes() {
  std::vector<Mode> modes;
  modes.push_back({"streaming", {}, false});
  EngineOptions late;
  late.allowed_lateness_ms = 1000;
  modes.push_back({"lateness 1s", late, true});
  EngineOptions tie = late;
  tie.tiebreaker_field = "event.sequence";
  modes.push_back({"lateness 1s + tiebreaker", tie, true});
  EngineOptions drop;
  modes.push_back({"late events dropped", drop, true});
  EngineOptions batch;
  batch.batch = true;
  modes.push_back({"batch", batch, true});
  EngineOptions small;
  small.max_partials_per_rule = 3;
  small.max_partials_total = 12;
  modes.push_back({"caps hit", small, false});
  return modes;
}

TEST(Checkpoint, RestartAtAnyPointGivesTheUninterruptedAlerts) {
  const std::vector<Rule> rules = StateRules();
  for (const Mode& mode : Modes()) {
    const std::vector<std::string> events = Stream(1500, 7, mode.jitter);
    const Outcome whole = Uninterrupted(rules, mode.options, events);
    ASSERT_GT(whole.alerts.size(), 20u) << mode.name;
    size_t largest = 0;
    size_t checked = 0;
    for (size_t cut = 0; cut <= events.size(); cut += 73) {
      ExpectSameRun(whole, Interrupted(rules, mode.options, events, {cut}, &largest), rules,
                    /*ordered=*/true, mode.name + ", cut after " + std::to_string(cut));
      ++checked;
    }
    std::cout << "[checkpoint] " << mode.name << ": " << whole.alerts.size()
              << " alerts, equal after a restart at each of " << checked
              << " cut points; largest snapshot " << largest << " bytes\n";
  }
}

TEST(Checkpoint, ManyRestartsInOneRun) {
  const std::vector<Rule> rules = StateRules();
  for (const Mode& mode : Modes()) {
    const std::vector<std::string> events = Stream(2000, 11, mode.jitter);
    const Outcome whole = Uninterrupted(rules, mode.options, events);
    std::vector<size_t> cuts;
    for (size_t cut = 1; cut < events.size(); cut += 1 + cut % 97) cuts.push_back(cut);
    ExpectSameRun(whole, Interrupted(rules, mode.options, events, cuts), rules, true,
                  mode.name + ", " + std::to_string(cuts.size()) + " restarts");
    std::cout << "[checkpoint] " << mode.name << ": " << cuts.size()
              << " restarts in one run, same " << whole.alerts.size() << " alerts\n";
  }
}

TEST(Checkpoint, WithThreads) {
  const std::vector<Rule> rules = StateRules();
  for (Mode mode : Modes()) {
    mode.options.threads = 2;
    const std::vector<std::string> events = Stream(6000, 5, mode.jitter);
    const Outcome whole = Uninterrupted(rules, mode.options, events);
    for (size_t cut : {size_t{1}, size_t{2500}, size_t{4096}, size_t{5999}}) {
      // Alerts of different partitions are not in event order with threads.
      ExpectSameRun(whole, Interrupted(rules, mode.options, events, {cut}), rules, false,
                    mode.name + ", 2 threads, cut after " + std::to_string(cut));
    }
    std::cout << "[checkpoint] " << mode.name << ", 2 threads: " << whole.alerts.size()
              << " alerts, equal after restarts\n";
  }
}

TEST(Checkpoint, QueuedAlertsAreKept) {
  const std::vector<Rule> rules = StateRules();
  const std::vector<std::string> events = Stream(800, 3, false);
  auto first = Make(rules, {});
  Push(*first, events, 0, 400);
  const size_t queued = first->stats().alerts;
  ASSERT_GT(queued, 0u);
  auto snapshot = first->Checkpoint();
  ASSERT_TRUE(snapshot.ok());
  std::vector<std::string> before;
  for (const Alert& a : first->TakeAlerts()) before.push_back(a.ToJson());

  auto second = Make(rules, {});
  ASSERT_TRUE(second->Restore(*snapshot).ok());
  std::vector<std::string> after;
  for (const Alert& a : second->TakeAlerts()) {
    ASSERT_NE(a.rule, nullptr);
    EXPECT_EQ(a.rule, &second->rules()[a.rule_index]);
    after.push_back(a.ToJson());
  }
  EXPECT_EQ(before, after);
  std::cout << "[checkpoint] " << after.size() << " alerts queued for TakeAlerts() survive\n";
}

// zlib's CRC-32 over everything but the trailer, as Engine::Checkpoint frames it.
void Reframe(std::string& snapshot) {
  const size_t body = snapshot.size() - 4;
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(snapshot.data()), static_cast<uInt>(body));
  for (int i = 0; i < 4; ++i) snapshot[body + i] = static_cast<char>((crc >> (8 * i)) & 0xff);
}

TEST(Checkpoint, BadSnapshotsAreRefusedAndChangeNothing) {
  const std::vector<Rule> rules = StateRules();
  EngineOptions options;
  options.allowed_lateness_ms = 1000;
  const std::vector<std::string> events = Stream(1200, 13, true);
  const Outcome whole = Uninterrupted(rules, options, events);

  auto source = Make(rules, options);
  Push(*source, events, 0, 500);
  (void)source->TakeAlerts();
  auto saved = source->Checkpoint();
  ASSERT_TRUE(saved.ok());
  const std::string good = *saved;

  // The engine under test has taken the first 300 events itself; every
  // refused restore must leave it exactly there.
  Outcome run;
  auto engine = Make(rules, options);
  engine->SetAlertCallback([&](const Alert& a) { run.alerts.push_back(a.ToJson()); });
  Push(*engine, events, 0, 300);

  size_t refused = 0;
  auto refuse = [&](const std::string& bad, absl::StatusCode code, const std::string& needle,
                    const std::string& what) {
    absl::Status s = engine->Restore(bad);
    ASSERT_FALSE(s.ok()) << what;
    if (code != absl::StatusCode::kOk) EXPECT_EQ(s.code(), code) << what << ": " << s;
    if (!needle.empty()) {
      EXPECT_NE(std::string(s.message()).find(needle), std::string::npos) << what << ": " << s;
    }
    ++refused;
  };
  refuse("", absl::StatusCode::kInvalidArgument, "not a libeql snapshot", "empty");
  refuse("{\"not\":\"a snapshot\"}", absl::StatusCode::kInvalidArgument, "not a libeql snapshot",
         "JSON");
  for (size_t len = 0; len < good.size(); len += 1 + len / 7) {
    refuse(good.substr(0, len), absl::StatusCode::kOk, "", "cut to " + std::to_string(len));
  }
  std::string version = good;
  version[8] = 9;
  refuse(version, absl::StatusCode::kInvalidArgument, "version 9", "version");
  for (size_t at = 0; at < good.size(); at += 1 + at / 5) {
    std::string flipped = good;
    flipped[at] = static_cast<char>(flipped[at] ^ 0x20);
    refuse(flipped, absl::StatusCode::kOk, "", "byte " + std::to_string(at) + " flipped");
  }
  std::string appended = good + "x";
  refuse(appended, absl::StatusCode::kDataLoss, "", "a byte appended");

  // Made for other rules, or other options that shape state.
  std::vector<Rule> other_rules = rules;
  other_rules[2].query += " | head 1";
  {
    auto other = Make(other_rules, options);
    auto s = other->Restore(good);
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
    EXPECT_NE(std::string(s.message()).find("rule 3"), std::string::npos) << s;
  }
  {
    EngineOptions streaming;
    auto other = Make(rules, streaming);
    auto s = other->Restore(good);
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
    EXPECT_NE(std::string(s.message()).find("allowed lateness 1000 ms"), std::string::npos) << s;
  }
  {
    EngineOptions threads = options;
    threads.threads = 2;
    auto other = Make(rules, threads);
    auto s = other->Restore(good);
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  }

  // The engine still holds its own 300 events: going on from there gives
  // the uninterrupted alerts.
  Push(*engine, events, 300, events.size());
  engine->Flush();
  run.stats = engine->stats();
  ExpectSameRun(whole, run, rules, true, "after refused restores");
  std::cout << "[checkpoint] " << refused
            << " bad snapshots refused (cut, flipped, other version); the engine kept its "
               "state\n";
}

TEST(Checkpoint, TamperedPayloadWithValidChecksumNeverCrashes) {
  // A checksum catches accidents, not a crafted file: the reader itself must
  // refuse nonsense (bounds, counts, references) without crashing. Run under
  // ASan in CI.
  const std::vector<Rule> rules = StateRules();
  EngineOptions options;
  options.allowed_lateness_ms = 1000;
  const std::vector<std::string> events = Stream(600, 17, true);
  auto source = Make(rules, options);
  Push(*source, events, 0, 400);
  auto saved = source->Checkpoint();
  ASSERT_TRUE(saved.ok());
  std::mt19937_64 rng(99);
  size_t refused = 0, accepted = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string bad = *saved;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) {
      const size_t at = 20 + rng() % (bad.size() - 24);  // inside the payload
      bad[at] = static_cast<char>(rng());
    }
    Reframe(bad);
    auto engine = Make(rules, options);
    absl::Status s = engine->Restore(bad);
    if (s.ok()) {
      ++accepted;  // a changed string or number can still be a valid state
      Push(*engine, events, 400, events.size());
      engine->Flush();
    } else {
      ++refused;
    }
  }
  // Most of a payload is event text, where a changed byte is still a valid
  // state; numbers, counts and references are checked.
  EXPECT_GT(refused, 300u);
  std::cout << "[checkpoint] 3000 tampered payloads with valid checksums: " << refused
            << " refused, " << accepted << " accepted and run on, no crash\n";
}

}  // namespace
}  // namespace eql
