// tests/ruleset/parallel_test.cpp
//
// EngineOptions::threads: the same alerts and counters as one thread, for
// the seed rules and the whole corpus, streaming, with lateness and in batch
// mode; malformed events reported through the error callback with their tag.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "corpus_events.hpp"
#include "eql/engine.hpp"
#include "eql/rules.hpp"

namespace eql {
namespace {

struct Outcome {
  std::vector<std::string> alerts;  // sorted: partitions interleave
  EngineStats stats;
};

Outcome RunEvents(const std::vector<Rule>& rules, const std::vector<Event>& events,
                  EngineOptions options) {
  auto engine = Engine::Create(rules, options);
  EXPECT_TRUE(engine.ok()) << engine.status();
  Outcome out;
  (*engine)->SetAlertCallback([&](const Alert& a) { out.alerts.push_back(a.ToJson()); });
  for (const Event& e : events) EXPECT_TRUE((*engine)->Push(e).ok());
  (*engine)->Flush();
  out.stats = (*engine)->stats();
  std::sort(out.alerts.begin(), out.alerts.end());
  return out;
}

void ExpectSame(const Outcome& one, const Outcome& many, const std::vector<Rule>& rules) {
  ASSERT_EQ(one.alerts.size(), many.alerts.size());
  for (size_t i = 0; i < one.alerts.size(); ++i) ASSERT_EQ(one.alerts[i], many.alerts[i]);
  EXPECT_EQ(one.stats.events_in, many.stats.events_in);
  EXPECT_EQ(one.stats.events_processed, many.stats.events_processed);
  EXPECT_EQ(one.stats.events_late, many.stats.events_late);
  EXPECT_EQ(one.stats.alerts, many.stats.alerts);
  EXPECT_EQ(one.stats.partials_live, many.stats.partials_live);
  for (size_t r = 0; r < rules.size(); ++r) {
    EXPECT_EQ(one.stats.rules[r].alerts, many.stats.rules[r].alerts) << rules[r].name;
    EXPECT_EQ(one.stats.rules[r].partials_created, many.stats.rules[r].partials_created)
        << rules[r].name;
  }
}

std::vector<Rule> SeedRules() {
  auto rules = LoadRules(std::string(EQL_SOURCE_DIR) + "/examples/rules");
  EXPECT_TRUE(rules.ok()) << rules.status();
  return *rules;
}

// The npm-install sequence and the Windows rules over many hosts: attacks,
// near misses (too late, other host) and noise, interleaved.
std::vector<Event> SeedStream(size_t hosts, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Event> events;
  int64_t t = 1'700'000'000'000;
  for (size_t i = 0; i < 6000; ++i) {
    t += 1 + static_cast<int64_t>(rng() % 50);
    const std::string host = "host-" + std::to_string(rng() % hosts);
    const std::string entity = "e" + std::to_string(i);
    Event e;
    e.Set("@timestamp", t).Set("host.id", host).Set("event.type", "start");
    e.Set("event.category", Event::Value::Array({"process"}));
    switch (rng() % 4) {
      case 0:  // npm install on Linux, parent of what follows on that host
        e.Set("host.os.type", "linux").Set("event.action", "exec").Set("process.name", "node");
        e.Set("process.args", Event::Value::Array({"node", "npm", "install"}));
        e.Set("process.entity_id", "npm-" + host);
        break;
      case 1:  // a child of node on the same host
        e.Set("host.os.type", "linux").Set("event.action", "exec").Set("process.name", "sh");
        e.Set("process.parent.name", "node").Set("process.parent.entity_id", "npm-" + host);
        e.Set("process.entity_id", entity);
        break;
      case 2:  // node.exe with inline code on Windows
        e.Set("host.os.type", "windows").Set("event.action", "start");
        e.Set("process.name", "node.exe").Set("process.entity_id", entity);
        e.Set("process.args", Event::Value::Array({"node.exe", "-e", rng() % 2 ? "eval(x)" : "1"}));
        e.Set("process.command_line", "node.exe -e eval(x)");
        e.Set("process.parent.name", rng() % 2 ? "powershell.exe" : "cmd.exe");
        break;
      default:
        e.Set("host.os.type", "linux").Set("event.action", "exec").Set("process.name", "ls");
        e.Set("process.entity_id", entity);
        break;
    }
    events.push_back(std::move(e));
  }
  return events;
}

TEST(Parallel, SeedRulesGiveTheAlertsOfOneThread) {
  const std::vector<Rule> rules = SeedRules();
  const std::vector<Event> events = SeedStream(50, 7);
  EngineOptions options;
  const Outcome one = RunEvents(rules, events, options);
  std::cout << "  seed rules, " << events.size() << " events on 50 hosts: " << one.alerts.size()
            << " alerts with 1 thread\n";
  EXPECT_GT(one.alerts.size(), 100u);
  for (int threads : {2, 3, 4}) {
    options.threads = threads;
    const Outcome many = RunEvents(rules, events, options);
    std::cout << "  " << threads << " threads: " << many.alerts.size() << " alerts\n";
    ExpectSame(one, many, rules);
  }
}

TEST(Parallel, LatenessAndBatchModeAreKeptPerPartition) {
  const std::vector<Rule> rules = SeedRules();
  std::vector<Event> events = SeedStream(20, 11);
  // Disorder within 200 ms windows.
  std::mt19937_64 rng(3);
  for (size_t i = 0; i + 4 < events.size(); i += 4) {
    std::shuffle(events.begin() + static_cast<long>(i), events.begin() + static_cast<long>(i + 4),
                 rng);
  }
  for (bool batch : {false, true}) {
    EngineOptions options;
    options.batch = batch;
    options.allowed_lateness_ms = batch ? 0 : 1000;
    const Outcome one = RunEvents(rules, events, options);
    options.threads = 2;
    const Outcome two = RunEvents(rules, events, options);
    std::cout << "  " << (batch ? "batch" : "lateness 1s") << ": " << one.alerts.size()
              << " alerts, 1 and 2 threads\n";
    EXPECT_GT(one.alerts.size(), 50u);
    ExpectSame(one, two, rules);
  }
}

TEST(Parallel, CorpusGivesTheAlertsOfOneThread) {
  const std::string path = std::string(EQL_SHARED_DIR) + "/corpus/detection-rules-eql.jsonl";
  if (!std::filesystem::exists(path)) {
    if (std::getenv("CI") != nullptr) FAIL() << "the corpus is missing: " << path;
    GTEST_SKIP() << "no corpus at " << path << " (../shared is not beside the checkout)";
  }
  auto rules = LoadRules(path);
  ASSERT_TRUE(rules.ok()) << rules.status();
  const std::vector<Event> events = testing_support::EventsFromRuleLiterals(*rules, 13);
  EngineOptions options;
  const Outcome one = RunEvents(*rules, events, options);
  options.threads = 3;
  const Outcome three = RunEvents(*rules, events, options);
  std::cout << "  " << rules->size() << " corpus rules, " << events.size() << " events on 13 hosts: "
            << one.alerts.size() << " alerts with 1 thread, " << three.alerts.size()
            << " with 3\n";
  EXPECT_GT(one.alerts.size(), 300u);
  ExpectSame(one, three, *rules);
  // With a reorder stage the pack's whole-running rules get copies.
  options.threads = 1;
  options.allowed_lateness_ms = 2000;
  const Outcome late_one = RunEvents(*rules, events, options);
  options.threads = 2;
  const Outcome late_two = RunEvents(*rules, events, options);
  std::cout << "  with 2 s of lateness: " << late_one.alerts.size() << " alerts with 1 thread, "
            << late_two.alerts.size() << " with 2\n";
  ExpectSame(late_one, late_two, *rules);
}

TEST(Parallel, HeadPipesAndUnkeyedSequencesRunWholeOnOneThread) {
  std::vector<Rule> rules = {
      {.query = R"(process where process.name == "ls" | head 3)", .name = "first three"},
      {.query = R"(sequence [process where process.name == "node"] [process where process.name == "sh"])",
       .name = "unkeyed"},
      {.query = R"(sequence by process.entity_id [process where true] [process where true])",
       .name = "other key"}};
  const std::vector<Event> events = SeedStream(30, 5);
  // Streaming, with a reorder stage, and in batch: the rules that run whole
  // see every event, the partitioned shard its own, from the same records.
  for (int mode = 0; mode < 3; ++mode) {
    EngineOptions options;
    options.allowed_lateness_ms = mode == 1 ? 500 : 0;
    options.batch = mode == 2;
    const Outcome one = RunEvents(rules, events, options);
    options.threads = 2;
    options.partition_field = "process.name";  // read by the event query only
    const Outcome two = RunEvents(rules, events, options);
    std::cout << "  head, unkeyed and other-key rules, mode " << mode << ": "
              << one.alerts.size() << " alerts\n";
    EXPECT_EQ(one.stats.rules[0].alerts, 3u);
    ExpectSame(one, two, rules);
  }
}

TEST(Parallel, AWholeStreamRuleKeepsItsWholeCap) {
  std::cout << "  checks: a rule that cannot be split lives in one shard with threads, and\n"
               "  keeps the whole per-rule cap of partials (not a thread's share)\n";
  std::vector<Rule> rules = {
      {.query = R"(sequence by process.entity_id [process where process.name == "a"]
                     [process where process.name == "b"])",
       .name = "other key"},
      {.query = R"(sequence by host.id [process where process.name == "x"]
                     [process where process.name == "y"])",
       .name = "host key"}};
  std::vector<Event> events;
  for (int i = 0; i < 30; ++i) {
    Event e;
    e.Set("@timestamp", int64_t{1'700'000'000'000} + i).Set("host.id", "h" + std::to_string(i));
    e.Set("event.category", "process").Set("process.name", "a");
    e.Set("process.entity_id", "p" + std::to_string(i));
    events.push_back(std::move(e));
  }
  EngineOptions options;
  options.max_partials_per_rule = 10;
  const Outcome one = RunEvents(rules, events, options);
  options.threads = 2;
  const Outcome two = RunEvents(rules, events, options);
  std::cout << "  30 partials opened, cap 10: " << one.stats.rules[0].partials_live
            << " live with 1 thread, " << two.stats.rules[0].partials_live << " with 2\n";
  EXPECT_EQ(one.stats.rules[0].partials_live, 10u);
  EXPECT_EQ(two.stats.rules[0].partials_live, 10u);
  EXPECT_EQ(two.stats.rules[0].partials_evicted, one.stats.rules[0].partials_evicted);
}

TEST(Parallel, DrainDeliversTheAlertsOfEveryEventPushed) {
  std::cout << "  checks: with threads, chunks run while the next is pushed; Drain() runs\n"
               "  them all and delivers their alerts; stats() waits for the chunk in flight;\n"
               "  an engine dropped with a chunk in flight stops cleanly\n";
  const std::vector<Rule> rules = SeedRules();
  const std::vector<Event> events = SeedStream(40, 21);
  auto make = [&](int threads, std::vector<std::string>& alerts) {
    EngineOptions options;
    options.threads = threads;
    auto engine = Engine::Create(rules, options);
    EXPECT_TRUE(engine.ok()) << engine.status();
    (*engine)->SetAlertCallback([&](const Alert& a) { alerts.push_back(a.ToJson()); });
    return std::move(*engine);
  };
  std::vector<std::string> one_alerts, two_alerts;
  auto one = make(1, one_alerts);
  auto two = make(2, two_alerts);
  size_t pushed = 0;
  // Cuts inside a chunk, at several chunks, and right after a drain.
  for (size_t cut : {size_t{700}, size_t{3500}, size_t{3501}, size_t{6000}}) {
    for (; pushed < cut; ++pushed) {
      ASSERT_TRUE(one->Push(events[pushed]).ok());
      ASSERT_TRUE(two->Push(events[pushed]).ok());
    }
    two->Drain();
    std::vector<std::string> a = one_alerts, b = two_alerts;
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    std::cout << "  after " << cut << " events: " << a.size() << " alerts, 1 and 2 threads\n";
    EXPECT_EQ(a, b) << "after " << cut << " events";
    EXPECT_EQ(two->stats().events_processed, one->stats().events_processed);
  }
  EXPECT_GT(one_alerts.size(), 100u);
  // Pushed past a chunk without Drain(): stats() finishes the chunk in
  // flight, never reads it while it runs; then the engine is dropped with
  // a chunk in flight and one filling.
  for (int round = 0; round < 3; ++round) {
    for (const Event& e : events) ASSERT_TRUE(two->Push(e).ok());
    // (Old times again: these are late, and dropped; but counted in.)
    const EngineStats s = two->stats();
    const uint64_t pushed_in_all = 6000u * (round + 2);
    EXPECT_LE(s.events_in, pushed_in_all);
    EXPECT_GT(s.events_in, pushed_in_all - 1024) << "one chunk at most is still filling";
    EXPECT_EQ(s.events_in, s.events_processed + s.events_late);
  }
  two.reset();
}

TEST(Parallel, MalformedEventsReachTheErrorCallbackWithTheirTag) {
  EngineOptions options;
  options.threads = 2;
  auto engine = Engine::Create({{.query = R"(process where process.name == "x")"}}, options);
  ASSERT_TRUE(engine.ok()) << engine.status();
  std::vector<uint64_t> tags;
  (*engine)->SetErrorCallback([&](uint64_t tag, const absl::Status& error) {
    std::cout << "  event tagged " << tag << ": " << error.message() << "\n";
    tags.push_back(tag);
  });
  std::vector<std::string> lines = {
      R"({"@timestamp": 1, "event": {"category": "process"}, "process": {"name": "x"}})",
      R"({"@timestamp": 2, "event": )", R"({"event": {"category": "process"}})",
      R"({"@timestamp": 3, "event": {"category": "process"}, "process": {"name": "x"}})",
      // A rules' error (no timestamp) before a projection error (bad JSON):
      // still reported in arrival order.
      R"({"event": {"category": "process"}})", R"({"@timestamp": 5, "event": )"};
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string padded = lines[i] + std::string(Engine::kJsonPadding, ' ');
    EXPECT_TRUE((*engine)->PushJsonPadded(std::string_view(padded).substr(0, lines[i].size()),
                                          100 + i)
                    .ok());
  }
  (*engine)->Flush();
  EXPECT_EQ(tags, (std::vector<uint64_t>{101, 102, 104, 105}));
  const EngineStats s = (*engine)->stats();
  EXPECT_EQ(s.events_in, 6u);
  EXPECT_EQ(s.events_malformed + s.events_no_timestamp, 4u);
  EXPECT_EQ(s.alerts, 2u);
  EXPECT_EQ((*engine)->TakeAlerts().size(), 2u);
}

TEST(Limits, SampleKeysAreCappedAndReportedAsPartials) {
  // Every event opens a new key that never completes: without a cap the
  // sample would hold them all.
  EngineOptions options;
  options.max_partials_per_rule = 100;
  auto engine = Engine::Create(
      {{.query = R"(sample by process.pid [process where true] [file where true])"}}, options);
  ASSERT_TRUE(engine.ok()) << engine.status();
  for (int i = 0; i < 1000; ++i) {
    Event e;
    e.Set("@timestamp", 1000 + i).Set("event.category", "process").Set("process.pid", i);
    ASSERT_TRUE((*engine)->Push(e).ok());
  }
  const EngineStats s = (*engine)->stats();
  std::cout << "  1000 keys into a cap of 100: " << s.rules[0].partials_live << " live, "
            << s.rules[0].partials_evicted << " evicted\n";
  EXPECT_EQ(s.rules[0].partials_live, 100u);
  EXPECT_EQ(s.rules[0].partials_evicted, 900u);
  EXPECT_EQ(s.partials_live, 100u);
}

TEST(Limits, NormalizedTimestampsAreNeverCut) {
  // A Sysmon record through the direct normalizer path with a tiny string
  // limit: the other strings are cut and counted, the timestamp is read
  // whole (cut to 4 bytes it would be the year 2026 or nothing).
  std::ifstream file(std::string(EQL_SOURCE_DIR) +
                     "/tests/sources/data/nodejs/sysmon_winlogbeat.ndjson");
  std::string line;
  ASSERT_TRUE(std::getline(file, line));
  EngineOptions options;
  options.source = "sysmon";
  options.max_string_bytes = 4;
  auto engine = Engine::Create({{.query = R"(process where process.name : "node*")"}}, options);
  ASSERT_TRUE(engine.ok()) << engine.status();
  EXPECT_TRUE((*engine)->PushJson(line).ok());
  const EngineStats s = (*engine)->stats();
  std::cout << "  sysmon record, strings cut to 4 bytes: processed " << s.events_processed
            << ", strings cut " << s.strings_truncated << "\n";
  EXPECT_EQ(s.events_processed, 1u);
  EXPECT_EQ(s.events_time_out_of_range + s.events_no_timestamp, 0u);
  EXPECT_GT(s.strings_truncated, 0u);
}

TEST(Parallel, ThreadsThatCannotStartAreAnErrorNotACrash) {
  std::cout << "  checks: with too little address space for the threads' stacks, creating an\n"
               "  engine with 4 threads returns ResourceExhausted (in a child process)\n";
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "a sanitizer's shadow memory does not run under an address-space limit";
#endif
  const std::vector<Rule> rules = SeedRules();
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Room for a few megabytes more, not for three 8 MiB thread stacks.
    std::ifstream status("/proc/self/status");
    std::string line;
    uint64_t vm_kb = 0;
    while (std::getline(status, line)) {
      if (line.rfind("VmSize:", 0) == 0) vm_kb = std::stoull(line.substr(7));
    }
    const rlim_t limit = (vm_kb + 6 * 1024) * 1024;
    rlimit r{limit, limit};
    if (setrlimit(RLIMIT_AS, &r) != 0) _exit(3);
    EngineOptions options;
    options.threads = 4;
    auto engine = Engine::Create(rules, options);
    if (engine.ok()) _exit(1);
    std::fprintf(stderr, "  %s\n", engine.status().ToString().c_str());
    _exit(engine.status().code() == absl::StatusCode::kResourceExhausted ? 0 : 2);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the child crashed (signal " << WTERMSIG(status) << ")";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: the threads started anyway; 2: another error";
}

TEST(Parallel, BadOptionsAreRefused) {
  EngineOptions options;
  options.threads = 0;
  EXPECT_FALSE(Engine::Create({{.query = "process where true"}}, options).ok());
  options.threads = 2;
  options.partition_field = "no.such.field";
  auto engine = Engine::Create({{.query = "process where true"}}, options);
  ASSERT_FALSE(engine.ok());
  std::cout << "  " << engine.status().message() << "\n";
}

}  // namespace
}  // namespace eql
