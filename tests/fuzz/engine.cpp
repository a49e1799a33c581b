// tests/fuzz/engine.cpp
//
// libFuzzer target for the whole engine: the input drives a small grammar of
// rules (event queries, sequences with by/maxspan/until/runs/missing stages,
// samples, head/tail) and a stream of events (categories, keys that are
// strings, numbers, arrays, null or missing; times that go forward, stand
// still, jump and go backwards), under random options (streaming or batch,
// lateness, late policy, small partial caps and limits). Invariants:
// - nothing crashes, hangs or trips a sanitizer;
// - stats().partials_live never exceeds max_partials_total, nor any rule's
//   partials_live max_partials_per_rule, after any event;
// - every alert of an event query satisfies the rule: a single-rule engine
//   evaluating it plainly (no literal index, shared leaves or answer cache)
//   given just that event alerts too; and when every event is processed
//   (batch or late events processed), a rule without pipes alerts exactly
//   as often as the single-rule engines say its events match;
// - a sequence alert's events are in non-decreasing timestamp order, within
//   maxspan, each satisfies its stage's condition, and each carries the
//   alert's `sequence by` join key;
// - (one input in four) stopping after some event, checkpointing, restoring
//   into a new engine and going on gives exactly the same alerts, in the
//   same order, and the same counters.
#include <fuzzer/FuzzedDataProvider.h>
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eql/engine.hpp"

namespace {

// The stream of the current input, printed with a failure.
std::vector<std::string>* g_stream = nullptr;
std::string g_config;  // options and rules of the current input

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "invariant failed: %s\n", what.c_str());
  std::fprintf(stderr, "%s", g_config.c_str());
  if (g_stream != nullptr) {
    std::fprintf(stderr, "the events pushed:\n");
    for (const std::string& e : *g_stream) std::fprintf(stderr, "  %s\n", e.c_str());
  }
  std::abort();
}

const char* const kCategories[] = {"process", "file", "network"};
const char* const kLiterals[] = {"x", "y", "xy", "X", "\u00e9", "*", "x?y", "", "a\\\\b", "10.1.2.3"};
const char* const kPatterns[] = {"x*", "*y", "*x*", "x?", "*", "?", "X*Y", "*\u00e9*", "*a*a*b",
                                 "10.*"};

struct StageText {
  std::string category;
  std::string condition;
  bool missing = false;
  uint32_t runs = 1;
};

struct RuleSpec {
  std::string text;                 // as given to the engine
  std::string core;                 // event queries: without pipes
  bool event_query = false;
  bool has_pipes = false;
  bool sequence = false;
  bool by_host = false;             // `sequence by h`
  std::optional<int64_t> maxspan_ms;
  std::vector<StageText> stages;    // sequence stages as written
};

// One generated event: its JSON and what the checks need.
struct GenEvent {
  std::string json;
  int64_t ts = 0;
  std::vector<std::string> host_keys;  // JSON texts of the values of h
  bool accepted = false;               // the engine took it (PushJson OK)
};

class Generator {
 public:
  explicit Generator(FuzzedDataProvider& in) : in_(in) {}

  std::string Literal() { return kLiterals[in_.ConsumeIntegralInRange<size_t>(0, 9)]; }
  std::string Pattern() { return kPatterns[in_.ConsumeIntegralInRange<size_t>(0, 9)]; }
  std::string Number() {
    static const char* const kNumbers[] = {"0", "1", "2", "-1", "2.5", "9223372036854775807",
                                           "-9223372036854775808", "1e300"};
    return kNumbers[in_.ConsumeIntegralInRange<size_t>(0, 7)];
  }

  std::string Condition(int depth) {
    int choice = in_.ConsumeIntegralInRange<int>(0, depth > 0 ? 19 : 15);
    switch (choice) {
      case 0: return "true";
      case 1: return "s == \"" + Literal() + "\"";
      case 2: return "s : \"" + Pattern() + "\"";
      case 3: return "s like~ (\"" + Pattern() + "\", \"" + Pattern() + "\")";
      case 4: {
        static const char* const kOps[] = {">", "<=", "==", "!=", "<", ">="};
        return std::string("n ") + kOps[in_.ConsumeIntegralInRange<int>(0, 5)] + " " + Number();
      }
      case 5: return "h in (\"h0\", \"h1\")";
      case 6: {
        static const char* const kFns[] = {"startsWith", "endsWith~", "stringContains",
                                           "startsWith~"};
        return std::string(kFns[in_.ConsumeIntegralInRange<int>(0, 3)]) + "(s, \"" + Literal() +
               "\")";
      }
      case 7: {
        static const char* const kRegex[] = {"x.*y", "[xX]+", "(x|y){2,}", ".*\u00e9.*", "a*a*a*b"};
        return std::string("s regex~ \"") + kRegex[in_.ConsumeIntegralInRange<int>(0, 4)] + "\"";
      }
      case 8: return "?z == null";
      case 9: return "length(s) > " + std::to_string(in_.ConsumeIntegralInRange<int>(0, 4));
      case 10: return "t : \"" + Pattern() + "\"";
      case 11: return "n / " + Number() + " == " + Number();
      case 12: return "cidrMatch(s, \"10.0.0.0/8\", \"::1/128\")";
      case 13: return "s != null";
      case 14: return "modulo(n, " + Number() + ") == 0";
      case 15: return "substring(s, " + Number() + ", " + Number() + ") : \"x*\"";
      case 16: return "not (" + Condition(depth - 1) + ")";
      case 17: return "(" + Condition(depth - 1) + ") or (" + Condition(depth - 1) + ")";
      default: return "(" + Condition(depth - 1) + ") and (" + Condition(depth - 1) + ")";
    }
  }

  std::string Category() {
    if (in_.ConsumeIntegralInRange<int>(0, 7) == 0) return "any";
    return kCategories[in_.ConsumeIntegralInRange<int>(0, 2)];
  }

  std::string Pipes(RuleSpec& r) {
    std::string out;
    int n = in_.ConsumeIntegralInRange<int>(0, 5);
    if (n >= 4) {
      r.has_pipes = true;
      out += n == 4 ? " | head " : " | tail ";
      out += std::to_string(in_.ConsumeIntegralInRange<int>(0, 3));
    }
    return out;
  }

  RuleSpec Rule() {
    RuleSpec r;
    int kind = in_.ConsumeIntegralInRange<int>(0, 9);
    if (kind < 4) {
      r.event_query = true;
      r.core = Category() + " where " + Condition(3);
      r.text = r.core + Pipes(r);
      return r;
    }
    if (kind == 9) {  // sample: run for crashes only
      r.text = "sample by h [" + Category() + " where " + Condition(1) + "] [" + Category() +
               " where " + Condition(1) + "]";
      return r;
    }
    r.sequence = true;
    r.by_host = in_.ConsumeBool();
    const bool by_user = in_.ConsumeBool();
    r.text = "sequence";
    if (r.by_host) r.text += " by h";
    if (in_.ConsumeBool()) {
      static const char* const kSpans[] = {"1ms", "10ms", "500ms", "1s", "2s", "1m",
                                           "106751991167d"};
      static const int64_t kSpanMs[] = {1, 10, 500, 1000, 2000, 60000, 9223372036828800000};
      int s = in_.ConsumeIntegralInRange<int>(0, 6);
      r.text += std::string(" with maxspan=") + kSpans[s];
      r.maxspan_ms = kSpanMs[s];
    }
    int stages = in_.ConsumeIntegralInRange<int>(1, 3);
    for (int i = 0; i < stages; ++i) {
      StageText st;
      st.category = Category();
      st.condition = Condition(2);
      st.missing = r.maxspan_ms && stages > 1 && in_.ConsumeIntegralInRange<int>(0, 5) == 0;
      if (!st.missing && in_.ConsumeIntegralInRange<int>(0, 5) == 0) st.runs = 2;
      r.text += std::string("\n  ") + (st.missing ? "![" : "[") + st.category + " where " +
                st.condition + "]";
      if (by_user) r.text += " by u";
      if (st.runs > 1) r.text += " with runs=" + std::to_string(st.runs);
      r.stages.push_back(st);
    }
    if (in_.ConsumeIntegralInRange<int>(0, 3) == 0) {
      r.text += "\nuntil [" + Category() + " where " + Condition(1) + "]";
      if (by_user) r.text += " by u";
    }
    r.text += Pipes(r);
    return r;
  }

  GenEvent Event(int index, int64_t& clock) {
    static const int64_t kSteps[] = {0, 1, 1, 5, 10, 100, 500, 999, 1000, 1001, 2500, 70000,
                                     -1, -5, -600, -3000};
    clock += kSteps[in_.ConsumeIntegralInRange<int>(0, 15)];
    GenEvent e;
    e.ts = clock;
    std::string ts = std::to_string(clock);
    switch (in_.ConsumeIntegralInRange<int>(0, 31)) {  // rarely: odd times
      case 0: ts = "\"2023-11-14T22:13:20.5Z\""; e.ts = 1700000000500; break;
      case 1: ts = "1e17"; break;                     // beyond the year 9999: rejected
      case 2: ts = "-62167219200001"; break;          // before the year 0: rejected
      case 3: ts = "-62167219200000"; e.ts = -62167219200000; break;  // the year 0
      case 4: ts = "null"; break;
      default: break;
    }
    e.json = "{\"i\":" + std::to_string(index) + ",\"@timestamp\":" + ts;
    e.json += ",\"event\":{\"category\":";
    int cat = in_.ConsumeIntegralInRange<int>(0, 4);
    if (cat < 3) {
      e.json += std::string("\"") + kCategories[cat] + "\"";
    } else if (cat == 3) {
      e.json += "[\"process\",\"file\"]";
    } else {
      e.json += "null";
    }
    e.json += "}";
    switch (in_.ConsumeIntegralInRange<int>(0, 6)) {  // h: the sequence key
      case 0: break;
      case 1: e.json += ",\"h\":null"; break;
      case 2:
        e.json += ",\"h\":[\"h0\",\"h1\",\"h0\",null]";
        e.host_keys = {"\"h0\"", "\"h1\""};
        break;
      case 3:
        e.json += ",\"h\":1";
        e.host_keys = {"1"};
        break;
      default: {
        std::string h = "h" + std::to_string(in_.ConsumeIntegralInRange<int>(0, 2));
        e.json += ",\"h\":\"" + h + "\"";
        e.host_keys = {"\"" + h + "\""};
      }
    }
    switch (in_.ConsumeIntegralInRange<int>(0, 4)) {  // u: the stage key
      case 0: break;
      case 1: e.json += ",\"u\":[1,2,3]"; break;
      case 2: e.json += ",\"u\":\"1\""; break;
      default: e.json += ",\"u\":" + std::to_string(in_.ConsumeIntegralInRange<int>(1, 2));
    }
    if (in_.ConsumeBool()) {
      std::string s;
      int pieces = in_.ConsumeIntegralInRange<int>(0, 4);
      for (int p = 0; p < pieces; ++p) s += Literal();
      if (in_.ConsumeIntegralInRange<int>(0, 15) == 0) s.append(3000, 'a');
      e.json += ",\"s\":\"" + s + "\"";
    }
    switch (in_.ConsumeIntegralInRange<int>(0, 4)) {
      case 0: break;
      case 1: e.json += ",\"n\":\"" + Number() + "\""; break;
      default: e.json += ",\"n\":" + Number();
    }
    if (in_.ConsumeBool()) e.json += ",\"t\":[\"" + Literal() + "\",\"" + Literal() + "\"]";
    if (in_.ConsumeIntegralInRange<int>(0, 7) == 0) e.json += ",\"s\":[[\"x\"],{\"a\":1}]";
    e.json += "}";
    return e;
  }

 private:
  FuzzedDataProvider& in_;
};

// A one-rule engine used as the oracle for a condition on one event.
class Oracle {
 public:
  Oracle(const std::string& query, const eql::EngineOptions& like) {
    eql::EngineOptions o = like;
    o.batch = false;
    o.allowed_lateness_ms = 0;
    o.late_policy = eql::LatePolicy::kProcess;  // any order: each event alone
    o.max_future_ms = 0;
    // The plain evaluation: no literal index, shared leaves, guards or
    // answers kept across events (the engine under test has them all).
    o.literal_prefilter = false;
    o.cache_answers = false;
    auto e = eql::Engine::Create({{.query = query}}, o);
    if (!e.ok() || !(*e)->rejected_rules().empty()) Fail("oracle rule rejected: " + query);
    engine_ = std::move(*e);
  }
  // Whether the event matches (once alone in the engine).
  bool Matches(const std::string& json) {
    (void)engine_->PushJson(json);
    return !engine_->TakeAlerts().empty();
  }

 private:
  std::unique_ptr<eql::Engine> engine_;
};

int EventIndex(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  int64_t i = -1;
  if (parser.parse(json.data(), json.size(), true).get(root) != simdjson::SUCCESS ||
      root["i"].get_int64().get(i) != simdjson::SUCCESS) {
    Fail("alert event is not one of ours: " + std::string(json));
  }
  return static_cast<int>(i);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  Generator gen(in);

  eql::EngineOptions options;
  options.max_future_ms = 0;
  options.batch = in.ConsumeIntegralInRange<int>(0, 3) == 0;
  if (!options.batch) {
    static const int64_t kLateness[] = {0, 0, 100, 1000, 5000};
    options.allowed_lateness_ms = kLateness[in.ConsumeIntegralInRange<int>(0, 4)];
  }
  options.late_policy = in.ConsumeBool() ? eql::LatePolicy::kProcess : eql::LatePolicy::kDrop;
  options.max_partials_per_rule = in.ConsumeIntegralInRange<uint64_t>(1, 8);
  options.max_partials_total = in.ConsumeIntegralInRange<uint64_t>(1, 12);
  options.max_string_bytes = in.ConsumeBool() ? 1 << 20 : in.ConsumeIntegralInRange<uint64_t>(1, 6);
  options.max_join_keys_per_event = in.ConsumeBool() ? 10'000 : 2;
  options.max_event_values = in.ConsumeBool() ? 100'000 : 12;

  std::vector<RuleSpec> specs;
  std::vector<eql::Rule> rules;
  const int rule_count = in.ConsumeIntegralInRange<int>(1, 4);
  for (int i = 0; i < rule_count; ++i) {
    specs.push_back(gen.Rule());
    rules.push_back({.query = specs.back().text});
  }
  g_config = "options: batch " + std::to_string(options.batch) + " lateness " +
             std::to_string(options.allowed_lateness_ms) + " process_late " +
             std::to_string(options.late_policy == eql::LatePolicy::kProcess) + " per_rule " +
             std::to_string(options.max_partials_per_rule) + " total " +
             std::to_string(options.max_partials_total) + " string_bytes " +
             std::to_string(options.max_string_bytes) + " join_keys " +
             std::to_string(options.max_join_keys_per_event) + " values " +
             std::to_string(options.max_event_values) + "\nrules:\n";
  for (const eql::Rule& r : rules) g_config += r.query + "\n--\n";
  auto created = eql::Engine::Create(rules, options);
  if (!created.ok()) Fail("Create: " + std::string(created.status().message()));
  eql::Engine& engine = **created;
  std::vector<bool> rejected(rules.size(), false);
  for (const auto& r : engine.rejected_rules()) rejected[r.rule_index] = true;

  std::vector<eql::Alert> alerts;
  engine.SetAlertCallback([&](const eql::Alert& a) { alerts.push_back(a); });

  auto check_caps = [&](const char* when) {
    eql::EngineStats s = engine.stats();
    if (s.partials_live > options.max_partials_total) {
      Fail(std::string("partials_live over max_partials_total ") + when);
    }
    for (const eql::RuleStats& r : s.rules) {
      if (r.partials_live > options.max_partials_per_rule) {
        Fail(std::string("a rule's partials_live over max_partials_per_rule ") + when);
      }
    }
  };

  std::vector<GenEvent> events;
  std::vector<std::string> pushed;
  g_stream = &pushed;
  int64_t clock = 1'700'000'000'000;
  const int event_count = in.ConsumeIntegralInRange<int>(0, 48);
  for (int i = 0; i < event_count && in.remaining_bytes() > 0; ++i) {
    events.push_back(gen.Event(i, clock));
    pushed.push_back(events.back().json);
    events.back().accepted = engine.PushJson(events.back().json).ok();
    check_caps("after an event");
  }
  engine.Flush();
  check_caps("after Flush");

  // Oracles, made on first need and kept across inputs (compiling a rule
  // costs more than running it): an oracle sees each event alone, so it has
  // no state that matters, only the limits it was made with.
  static std::map<std::string, std::unique_ptr<Oracle>> oracles;
  if (oracles.size() > 2000) oracles.clear();
  auto matches = [&](const std::string& query, const std::string& json) {
    auto& o = oracles[std::to_string(options.max_string_bytes) + "/" +
                      std::to_string(options.max_event_values) + "/" + query];
    if (!o) o = std::make_unique<Oracle>(query, options);
    return o->Matches(json);
  };

  std::vector<uint64_t> alerts_per_rule(rules.size(), 0);
  for (const eql::Alert& a : alerts) {
    (void)a.ToJson();
    if (a.rule_index >= specs.size()) Fail("alert of an unknown rule");
    if (rejected[a.rule_index]) Fail("alert of a rejected rule");
    ++alerts_per_rule[a.rule_index];
    const RuleSpec& spec = specs[a.rule_index];
    if (spec.event_query) {
      if (a.events.size() != 1) Fail("event query alert without exactly one event");
      if (!matches(spec.core, a.events[0].json)) {
        Fail("alert of an event that does not satisfy the rule:\n" + spec.text + "\n" +
             a.events[0].json);
      }
      continue;
    }
    if (!spec.sequence) continue;
    // Expand runs: the written stage of each alert event.
    std::vector<size_t> written;
    for (size_t w = 0; w < spec.stages.size(); ++w) {
      for (uint32_t k = 0; k < spec.stages[w].runs; ++k) written.push_back(w);
    }
    if (a.events.size() != written.size()) Fail("sequence alert with the wrong number of events");
    std::optional<int64_t> first, last;
    for (size_t p = 0; p < a.events.size(); ++p) {
      const StageText& st = spec.stages[written[p]];
      if (a.events[p].missing != st.missing) Fail("missing placeholder on the wrong stage");
      if (st.missing) continue;
      const GenEvent& e = events.at(EventIndex(a.events[p].json));
      if (last && e.ts < *last) {
        std::string detail;
        for (const auto& ae : a.events) detail += (ae.missing ? "{missing}" : ae.json) + "\n";
        Fail("sequence alert events out of timestamp order (batch " +
             std::to_string(options.batch) + ", lateness " +
             std::to_string(options.allowed_lateness_ms) + ", process late " +
             std::to_string(options.late_policy == eql::LatePolicy::kProcess) + "):\n" +
             spec.text + "\n" + detail);
      }
      if (!first) first = e.ts;
      last = e.ts;
      if (!matches(st.category + " where " + st.condition, e.json)) {
        Fail("sequence event does not satisfy its stage:\n" + spec.text + "\n" + e.json);
      }
      if (spec.by_host) {
        if (a.join_keys.empty()) Fail("sequence by h alert without join keys");
        bool found = false;
        for (std::string k : e.host_keys) {
          // A string key is compared as the rules see it: cut to
          // max_string_bytes (the keys here are ASCII).
          if (k.front() == '"' && k.size() - 2 > options.max_string_bytes) {
            k = k.substr(0, 1 + options.max_string_bytes) + "\"";
          }
          found |= k == a.join_keys[0];
        }
        if (!found) Fail("sequence event without the alert's join key " + a.join_keys[0]);
      }
    }
    if (first && spec.maxspan_ms && *last - *first > *spec.maxspan_ms) {
      Fail("sequence alert longer than maxspan:\n" + spec.text);
    }
  }

  // Completeness of event queries when every event reaches the rules.
  const bool all_processed = options.batch || options.late_policy == eql::LatePolicy::kProcess;
  if (all_processed) {
    for (size_t r = 0; r < specs.size(); ++r) {
      if (rejected[r] || !specs[r].event_query) continue;
      uint64_t expected = 0;
      // Events the engine rejected cannot alert (max_event_values counts the
      // values of every field the rule set reads, more than one rule's).
      for (const GenEvent& e : events) expected += e.accepted && matches(specs[r].core, e.json);
      if (!specs[r].has_pipes ? alerts_per_rule[r] != expected : alerts_per_rule[r] > expected) {
        Fail("event query alerted " + std::to_string(alerts_per_rule[r]) + " times, its events " +
             "match " + std::to_string(expected) + " times:\n" + specs[r].text);
      }
    }
  }
  // A restart midway changes nothing (Engine::Checkpoint/Restore). One
  // input in four: the two extra engines' compiles cost more than the run.
  if (size % 4 == 0) {
    const size_t cut = pushed.empty() ? 0 : (size * 7919) % (pushed.size() + 1);
    std::vector<std::string> resumed;
    auto collect = [&](const eql::Alert& a) { resumed.push_back(a.ToJson()); };
    auto before = eql::Engine::Create(rules, options);
    (*before)->SetAlertCallback(collect);
    for (size_t i = 0; i < cut; ++i) (void)(*before)->PushJson(pushed[i]);
    auto snapshot = (*before)->Checkpoint();
    if (!snapshot.ok()) Fail("Checkpoint: " + std::string(snapshot.status().message()));
    before->reset();
    auto after = eql::Engine::Create(rules, options);
    (*after)->SetAlertCallback(collect);
    if (absl::Status st = (*after)->Restore(*snapshot); !st.ok()) {
      Fail("Restore of a fresh checkpoint: " + std::string(st.message()));
    }
    for (size_t i = cut; i < pushed.size(); ++i) (void)(*after)->PushJson(pushed[i]);
    (*after)->Flush();
    std::vector<std::string> uninterrupted;
    for (const eql::Alert& a : alerts) uninterrupted.push_back(a.ToJson());
    if (resumed != uninterrupted) {
      Fail("a restart after event " + std::to_string(cut) + " gave " +
           std::to_string(resumed.size()) + " alerts, the uninterrupted run " +
           std::to_string(uninterrupted.size()));
    }
    const eql::EngineStats a = engine.stats(), b = (*after)->stats();
    std::string changed;
    auto compare = [&](const char* name, uint64_t x, uint64_t y) {
      if (x != y)
        changed += " " + std::string(name) + " " + std::to_string(x) + " -> " + std::to_string(y);
    };
    compare("events_in", a.events_in, b.events_in);
    compare("events_processed", a.events_processed, b.events_processed);
    compare("events_late", a.events_late, b.events_late);
    compare("alerts", a.alerts, b.alerts);
    compare("partials_live", a.partials_live, b.partials_live);
    compare("partials_evicted", a.partials_evicted, b.partials_evicted);
    compare("strings_truncated", a.strings_truncated, b.strings_truncated);
    if (!changed.empty()) {
      Fail("a restart after event " + std::to_string(cut) + " changed the counters:" + changed);
    }
  }
  (void)engine.stats().LimitReport();
  return 0;
}
