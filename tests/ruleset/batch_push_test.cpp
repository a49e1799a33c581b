// tests/ruleset/batch_push_test.cpp
//
// Engine::PushJsonPadded(jsons, tags, statuses): events pushed a batch at a
// time are parsed before any of them is run through the rules, and must give
// what pushing them one at a time gives: the same alerts in the same order,
// the same status for each event (malformed, too large, no timestamp), the
// same counters, with events processed as they come, reordered, and on two
// threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "eql/engine.hpp"
#include "eql/event.hpp"
#include "eql/rules.hpp"

namespace eql {
namespace {

std::vector<Rule> PackRules() {
  auto rules = LoadRules(std::string(EQL_SOURCE_DIR) + "/examples/rules");
  EXPECT_TRUE(rules.ok()) << rules.status();
  std::vector<Rule> pack = *rules;
  pack.push_back({.query = R"(process where host.os.type == "linux" and process.name : "s*")",
                  .name = "linux s*"});
  pack.push_back({.query = R"(sequence by host.id with maxspan=2s)"
                           R"( [process where process.name == "node"])"
                           R"( [process where process.parent.name == "node"])",
                  .name = "node child"});
  return pack;
}

// Event texts over a few hosts, some out of order, with malformed ones
// among them: bad JSON, no timestamp, over max_event_bytes.
std::vector<std::string> Lines(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::string> lines;
  int64_t t = 1'700'000'000'000;
  const char* names[] = {"node", "sh", "ls", "node.exe", "svchost.exe"};
  for (int i = 0; i < 3000; ++i) {
    t += static_cast<int64_t>(rng() % 400);
    const int64_t at = rng() % 10 == 0 ? t - static_cast<int64_t>(rng() % 3000) : t;
    switch (rng() % 40) {
      case 0:
        lines.push_back(R"({"@timestamp": 5, "event": )");
        continue;
      case 1:
        lines.push_back(R"({"event": {"category": "process"}})");
        continue;
      case 2:
        lines.push_back(R"({"@timestamp": 7, "pad": ")" + std::string(1100, 'x') + "\"}");
        continue;
      default:
        break;
    }
    Event e;
    const std::string host = "h" + std::to_string(rng() % 4);
    e.Set("@timestamp", at)
        .Set("event.category", Event::Value::Array({"process"}))
        .Set("event.type", "start")
        .Set("event.action", rng() % 2 == 0 ? "exec" : "start")
        .Set("host.id", host)
        .Set("host.os.type", rng() % 3 == 0 ? "windows" : "linux")
        .Set("process.name", names[rng() % 5])
        .Set("process.parent.name", names[rng() % 5])
        .Set("process.entity_id", "e" + std::to_string(i))
        .Set("process.parent.entity_id", "e" + std::to_string(i - 1 - rng() % 3))
        .Set("process.args", Event::Value::Array({"node", rng() % 2 == 0 ? "install" : "-e"}))
        .Set("process.command_line", rng() % 2 == 0 ? "node -e eval(x)" : "node app.js");
    lines.push_back(e.ToJson());
  }
  return lines;
}

struct Outcome {
  std::vector<std::string> alerts;
  std::vector<std::string> statuses;  // per line
  EngineStats stats;
};

// Pushes `lines` one at a time (batch 0) or in batches of 1..`batch` events.
Outcome Push(const std::vector<std::string>& lines, EngineOptions options, size_t batch,
            uint64_t seed) {
  options.max_event_bytes = 1024;
  auto engine = Engine::Create(PackRules(), options);
  EXPECT_TRUE(engine.ok()) << engine.status();
  Outcome out;
  (*engine)->SetAlertCallback([&](const Alert& a) { out.alerts.push_back(a.ToJson()); });
  out.statuses.resize(lines.size(), "OK");
  (*engine)->SetErrorCallback([&](uint64_t tag, const absl::Status& error) {
    out.statuses[tag] = error.ToString();
  });
  // Every text followed by its padding, in one buffer.
  std::string text;
  std::vector<size_t> offsets;
  for (const std::string& line : lines) {
    offsets.push_back(text.size());
    text += line;
    text.append(Engine::kJsonPadding, '\0');
  }
  auto json = [&](size_t i) { return std::string_view(text).substr(offsets[i], lines[i].size()); };
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i < lines.size();) {
    if (batch == 0) {
      const absl::Status s = (*engine)->PushJsonPadded(json(i), i);
      if (!s.ok()) out.statuses[i] = s.ToString();
      ++i;
      continue;
    }
    const size_t n = std::min<size_t>(1 + rng() % batch, lines.size() - i);
    std::vector<std::string_view> jsons;
    std::vector<uint64_t> tags;
    for (size_t k = i; k < i + n; ++k) {
      jsons.push_back(json(k));
      tags.push_back(k);
    }
    std::vector<absl::Status> statuses(n);
    (*engine)->PushJsonPadded(jsons, tags, statuses);
    for (size_t k = 0; k < n; ++k) {
      if (!statuses[k].ok()) out.statuses[i + k] = statuses[k].ToString();
    }
    i += n;
  }
  (*engine)->Flush();
  out.stats = (*engine)->stats();
  return out;
}

void ExpectSame(const Outcome& one, const Outcome& batched, bool sort_alerts) {
  std::vector<std::string> a = one.alerts, b = batched.alerts;
  if (sort_alerts) {  // threads interleave partitions
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
  }
  EXPECT_EQ(a, b);
  EXPECT_EQ(one.statuses, batched.statuses);
  EXPECT_EQ(one.stats.events_in, batched.stats.events_in);
  EXPECT_EQ(one.stats.events_malformed, batched.stats.events_malformed);
  EXPECT_EQ(one.stats.events_no_timestamp, batched.stats.events_no_timestamp);
  EXPECT_EQ(one.stats.events_late, batched.stats.events_late);
  EXPECT_EQ(one.stats.events_processed, batched.stats.events_processed);
  EXPECT_EQ(one.stats.alerts, batched.stats.alerts);
}

TEST(BatchPush, BatchesGiveWhatOneEventAtATimeGives) {
  std::printf(
      "checks: the seed rules and two more over 3 streams of 3,000 events (some late, some "
      "malformed, without timestamp or too large), pushed one at a time and in batches of "
      "1 to 40: the same alerts in the same order, statuses and counters; processed as they "
      "come, reordered within 2 s, and on two threads\n");
  size_t alerts = 0, rejected = 0;
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    const std::vector<std::string> lines = Lines(seed);
    EngineOptions direct;
    EngineOptions reordered;
    reordered.allowed_lateness_ms = 2000;
    EngineOptions threads;
    threads.threads = 2;
    const Outcome one = Push(lines, direct, 0, seed);
    ExpectSame(one, Push(lines, direct, 40, seed), false);
    ExpectSame(Push(lines, reordered, 0, seed), Push(lines, reordered, 40, seed), false);
    ExpectSame(Push(lines, threads, 0, seed), Push(lines, threads, 40, seed), true);
    alerts += one.alerts.size();
    rejected += static_cast<size_t>(
        std::count_if(one.statuses.begin(), one.statuses.end(),
                      [](const std::string& s) { return s != "OK"; }));
  }
  std::printf("  %zu alerts, %zu events rejected\n", alerts, rejected);
  EXPECT_GT(alerts, 100u);
  EXPECT_GT(rejected, 100u);
}

}  // namespace
}  // namespace eql
