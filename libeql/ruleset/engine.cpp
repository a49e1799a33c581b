// libeql/ruleset/engine.cpp
//
// The rule set: this room (libeql/ruleset/) compiles a set of rules as a
// whole and runs them over the event stream in one pass (eql/engine.hpp).
//
// Flow of one event: the JSON projector extracts only the fields some rule
// reads into a Record; the event's time and tiebreaker give its Ordinal; the
// reorder stage (streaming) or the batch buffer holds it until it is its turn;
// then the dispatcher picks the rule units (event queries, sequence stages,
// until clauses) whose category the event has, evaluates their conditions,
// and feeds the hits to the operators (alerts straight out for event queries,
// the sequence and sample operators for correlations).
#include "eql/engine.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "analysis/compile.hpp"
#include "eql/sources.hpp"
#include "expr/eval.hpp"
#include "expr/shared_leaves.hpp"
#include "io/json_projector.hpp"
#include "io/json_text.hpp"
#include "io/record.hpp"
#include "io/timestamp.hpp"
#include "runtime/alert.hpp"
#include "runtime/key_value.hpp"
#include "runtime/pipe.hpp"
#include "runtime/reorder.hpp"
#include "runtime/sample.hpp"
#include "runtime/sequence.hpp"
#include "runtime/snapshot.hpp"
#include "ruleset/dispatch.hpp"
#include "ruleset/parallel.hpp"
#include "ruleset/shard.hpp"
#include "syntax/parse.hpp"
#include "zlib.h"

namespace eql {

std::string Alert::ToJson() const {
  std::string out = "{\"rule\":{\"name\":";
  if (rule != nullptr) {
    io::AppendJsonString(rule->name, out);
    out += ",\"id\":";
    io::AppendJsonString(rule->rule_id, out);
    out += ",\"severity\":";
    io::AppendJsonString(rule->severity, out);
    out += ",\"risk_score\":";
    if (rule->risk_score == static_cast<int64_t>(rule->risk_score)) {
      absl::StrAppend(&out, static_cast<int64_t>(rule->risk_score));
    } else {
      io::AppendJsonNumber(rule->risk_score, out);
    }
  } else {
    out += "null";
  }
  out += "}";
  if (correlation) {
    out += ",\"join_keys\":[";
    for (size_t i = 0; i < join_keys.size(); ++i) {
      if (i > 0) out += ',';
      out += join_keys[i];
    }
    out += "]";
  }
  out += ",\"events\":[";
  for (size_t i = 0; i < events.size(); ++i) {
    if (i > 0) out += ',';
    out += events[i].missing ? std::string_view("{\"missing\":true}")
                             : std::string_view(events[i].json);
  }
  out += "]}";
  return out;
}

namespace {

using runtime::EventHandle;
using runtime::JoinKey;
using runtime::KeyValue;
using runtime::Ordinal;

KeyValue ToKeyValue(const io::Scalar& v) {
  switch (v.type) {
    case io::Scalar::Type::kNull:
      return KeyValue();
    case io::Scalar::Type::kBool:
      return KeyValue(v.b);
    case io::Scalar::Type::kInt:
      return KeyValue(v.i);
    case io::Scalar::Type::kDouble:
      return KeyValue(v.d);
    case io::Scalar::Type::kString:
      return KeyValue(v.s);
  }
  return KeyValue();
}

// The keys of one stage: a `by` expression per position.
struct KeyPlan {
  std::vector<analysis::CompiledKey> keys;
  // EngineOptions::max_join_keys_per_event and where to count going over
  // (set by Engine::Create once the rules are compiled).
  uint64_t max_keys = UINT64_MAX;
  uint64_t* over_limit = nullptr;
};

// A unit is what the dispatcher evaluates: one condition with a category.
struct Unit {
  uint32_t rule = 0;
  enum class Role : uint8_t { kEvent, kStage, kUntil } role = Role::kEvent;
  uint32_t stage = 0;  // written stage index for kStage
  // A positive sequence stage after the first: its hits can only extend
  // live partials, so without any it is not evaluated.
  bool needs_partials = false;
  // A missing stage after the first positive one: its hits are checked only
  // against the times of later events of partials and candidates in flight
  // (strictly between or after them), so when events come in time order
  // (late ones dropped) a hit with none in flight can never count.
  bool needs_in_flight = false;
  analysis::CompiledEventQuery query;
};

struct CompiledRule {
  ast::QueryKind kind = ast::QueryKind::kEvent;
  std::vector<KeyPlan> stage_keys;  // per written stage (sequence/sample)
  KeyPlan until_keys;
  std::unique_ptr<runtime::SequenceOperator> sequence;
  std::unique_ptr<runtime::SampleOperator> sample;
  runtime::PipeChain<std::string> event_pipes;  // event queries: alert JSON texts
  uint64_t alerts = 0;
  // Per-event scratch: the hits collected by the dispatcher, the first
  // hit_count of `hits` (the others keep their storage for the next event:
  // allocating a key list for every matching stage was most of the
  // engine's allocations).
  std::vector<runtime::StageHit> hits;
  size_t hit_count = 0;
  std::vector<JoinKey> until_hits;
  bool touched = false;
  bool advancing = false;  // a sequence in Impl::advancing_rules
  uint64_t live_seen = 0;  // partials_live when last added to partials_total
};

// A reorder-buffer entry: what is kept of an event until its turn.
struct Pending {
  io::Record record;
  std::string json;
  // With threads, the units whose conditions it meets, found on the thread
  // that parsed it (Engine::Impl::units_matched_elsewhere).
  std::vector<uint32_t> matched;
};

// Collects the cartesian product of the keys' values (distinct, non-null;
// null for an absent optional key). False when a required key is absent.
bool ExpandKeys(const KeyPlan& plan, const io::Record& record,
                std::vector<std::vector<KeyValue>>& per_position, std::vector<io::Scalar>& scratch,
                std::vector<JoinKey>& out) {
  out.clear();
  per_position.resize(plan.keys.size());
  for (size_t k = 0; k < plan.keys.size(); ++k) {
    scratch.clear();
    expr::KeyValues(plan.keys[k], record, scratch);
    auto& values = per_position[k];
    values.clear();
    for (const io::Scalar& s : scratch) {
      if (s.is_null()) continue;
      KeyValue v = ToKeyValue(s);
      if (std::find(values.begin(), values.end(), v) == values.end())
        values.push_back(std::move(v));
    }
    if (values.empty()) {
      if (!plan.keys[k].optional) return false;
      values.emplace_back();
    }
  }
  // A product over the cap (arrays in several `by` fields) is not built.
  uint64_t product = 1;
  for (const auto& values : per_position) {
    if (values.size() > plan.max_keys / product) {
      if (plan.over_limit != nullptr) ++*plan.over_limit;
      return false;
    }
    product *= values.size();
  }
  if (product == 1) {
    // One value at each position, the common case: the key is built in
    // place, taking the values, without a list per position.
    JoinKey& key = out.emplace_back();
    for (auto& values : per_position) key.push_back(std::move(values.front()));
    return true;
  }
  // Cartesian product, first position varying slowest.
  out.emplace_back();
  for (const auto& values : per_position) {
    std::vector<JoinKey> next;
    next.reserve(out.size() * values.size());
    for (const JoinKey& prefix : out) {
      for (const KeyValue& v : values) {
        JoinKey key = prefix;
        key.push_back(v);
        next.push_back(std::move(key));
      }
    }
    out = std::move(next);
  }
  return true;
}

}  // namespace

struct Engine::Impl {
  EngineOptions options;
  std::vector<Rule> rules;
  std::vector<RejectedRule> rejected;
  std::vector<std::unique_ptr<CompiledRule>> compiled;  // null for rejected rules
  std::vector<Unit> units;
  ruleset::Dispatcher dispatcher;  // category and literal-anchor indexes
  // The leaves of the whole rule set, interned while compiling: each is
  // answered once per event (leaf_memo), and the wildcard patterns over a
  // field are matched in one pass (matcher); expr/shared_leaves.hpp.
  analysis::SharedLeaves shared_leaves;
  std::unique_ptr<expr::SharedMatcher> matcher;
  std::unique_ptr<expr::LeafMemo> leaf_memo;
  // Per unit, the shared leaves its condition requires (top-level
  // conjuncts), tested from the memo before the unit's program is touched,
  // the leaves that most units share first (they are nearly always answered
  // already): the first kInlineGuards in its UnitTests, the others in
  // `guards` from UnitTests::guard_overflow on.
  struct Guard {
    uint32_t leaf = 0;
    uint32_t node : 24 = 0;  //!< the leaf's node in the unit's program
    uint32_t negate : 1 = 0;
    //! 1: this leaf must hold. More: the first of an any-of group of this
    //! many (the next ones are its other members), one of which must hold
    //! (one leaf from each branch of an `or` the condition requires).
    uint32_t group : 7 = 1;
  };
  static_assert(sizeof(Guard) == 8);
  static constexpr uint32_t kInlineGuards = 4;
  std::vector<Guard> guards;
  // What the event loop reads of a unit before the unit matches, in one
  // 64-byte record: a candidate costs one cache line, not one in each of
  // the unit, its rule, its guards and half a dozen arrays (perf put the
  // loop's time on those loads).
  struct alignas(64) UnitTests {
    const analysis::CompiledCondition* where = nullptr;
    uint32_t rule = 0;
    uint32_t stage = 0;
    // 1 + the sequence rule whose state in flight the unit needs, else 0,
    // and which of that state (kLivePartials for Unit::needs_partials, both
    // for Unit::needs_in_flight). With the prefilter, a later stage of a
    // sequence with nothing to extend (a sixth of the corpus's candidates)
    // is `dormant` and never a candidate (KeepInFlight()).
    uint32_t waits_on_rule = 0;
    uint32_t guard_overflow = 0;  //!< guards[] index of its guard kInlineGuards
    uint16_t guard_count = 0;
    uint8_t waits_for = 0;
    Unit::Role role = Unit::Role::kEvent;
    bool decided = false;  // the condition is exactly its guards' conjunction
    Guard inline_guards[kInlineGuards];
  };
  static_assert(sizeof(UnitTests) == 64);
  const Guard& GuardAt(const UnitTests& unit, uint32_t k) const {
    return k < kInlineGuards ? unit.inline_guards[k]
                             : guards[unit.guard_overflow + k - kInlineGuards];
  }
  std::vector<UnitTests> unit_tests;
  // Per rule: what it has in flight (kept by CountPartials() and
  // LoadState()), and whether it is finished (`head` reached: its event
  // pipes or sequence take nothing more; kept by RuleFinished()).
  static constexpr uint8_t kLivePartials = 1, kPendingCandidates = 2;
  std::vector<uint8_t> rule_in_flight;
  std::vector<uint8_t> rule_done;
  void KeepInFlight(uint32_t r);
  void RuleFinished(uint32_t r);
  bool Guarded(uint32_t id, const UnitTests& unit, const io::Record& record);
  bool GuardHolds(const Guard& g, const UnitTests& unit, const io::Record& record);
  // Units ruled out by value. A leaf's answer is a function of its field's
  // value, so a guard that rules a unit out for a value rules it out for
  // that value every time: the unit's bit is kept with the value's slot in
  // the field's answer cache (LeafMemo::Verdicts()), and from the next
  // event with that value on the unit is left out of the candidates before
  // its record or guards are read. Over the corpus most candidates were
  // ruled out by a guard on a value seen before (`host.os.type` "linux"
  // against a Windows rule, a `process.name` outside a rule's list). Only
  // the fields whose values have ruled out units of the event's dispatcher
  // table are looked up for it (a table's units test a few dozen of the
  // fields guards test).
  //
  // Left out with them: units waiting for their sequence to have something
  // in flight (UnitTests::waits_on_rule), a sixth of the corpus's
  // candidates, kept in `dormant` as rule_in_flight changes.
  void RuleOutByValue(uint32_t id, uint32_t leaf, const io::Record& record);
  void RuleOutGroupByValue(uint32_t id, uint32_t first, const UnitTests& unit,
                           const io::Record& record);
  // The units ruled out for `record` by its values, and (`waiting`) those
  // waiting for their sequence.
  const uint64_t* RuledOut(const io::Record& record, bool waiting = true);
  void ResetVerdictLists();
  bool rule_out_by_value = false;
  std::vector<uint64_t> dormant;                     // one bit per unit
  std::vector<std::vector<uint32_t>> waiting_units;  // per rule
  uint32_t event_table = 0;  // the dispatcher table of the event in Process()
  // Per dispatcher table (and one for events of several categories): the
  // answer caches whose verdicts have ruled out units, and of each cache
  // whether it is listed (tables x caches).
  std::vector<std::vector<int32_t>> verdict_caches;
  std::vector<uint8_t> verdict_listed;
  std::vector<uint64_t> ruled_out;  // per event, one bit per unit
  //! The most members of an any-of guard group (Guard::group).
  static constexpr size_t kMaxAnyOf = 16;
  void BuildGuards();
  std::vector<uint32_t> sequence_rules;
  // The sequence rules that are not idle (SequenceOperator::Idle()), in rule
  // order: only these are advanced as time passes.
  std::vector<uint32_t> advancing_rules;
  void Advancing(uint32_t r);
  std::vector<uint32_t> sample_rules;

  io::FieldRegistry fields;
  std::optional<io::FieldId> timestamp_field;
  std::optional<io::FieldId> tiebreaker_field;
  io::FieldId category_field = 0;
  std::unique_ptr<io::JsonProjector> projector;
  io::Record scratch_record;
  std::unique_ptr<SourceNormalizer> normalizer;  // null for "ecs"
  Event scratch_event;                           // a normalized record
  // Set during PushRecord(): the pushed event's text comes from it.
  const std::function<std::string()>* render = nullptr;

  std::unique_ptr<runtime::ReorderBuffer<Pending>> reorder;
  uint64_t arrival = 0;
  int64_t released_watermark = INT64_MIN;  // highest time released so far
  int64_t operator_watermark = INT64_MIN;  // last AdvanceWatermark given
  int64_t clock_ms = INT64_MIN / 2;  // the system clock when last read (max_future_ms)

  AlertCallback callback;
  ErrorCallback error_callback;
  std::vector<Alert> queued;
  // threads > 1: the shards that do the work; this engine only routes.
  std::unique_ptr<ruleset::ParallelRunner> parallel;
  uint64_t pushed = 0;  // events pushed: the default tag of an event
  uint64_t normalizer_strings_truncated = 0;  // cut by NormalizeInto
  EngineStats stats;
  uint64_t partials_total = 0;  // live partials over all sequence rules
  // Counters kept by the projector and the normalizer, carried over by
  // Restore() (stats() adds them to the live ones).
  io::JsonProjector::Counters restored_limits;
  std::vector<EngineStats::SourceCounts> restored_sources;

  // Per-event scratch.
  std::vector<uint32_t> candidate_units;
  std::vector<uint32_t> touched_rules;
  std::vector<std::vector<KeyValue>> key_positions;
  std::vector<JoinKey> key_list;
  std::vector<io::Scalar> key_scratch;

  void Deliver(Alert&& alert) {
    ++stats.alerts;
    if (callback) {
      callback(alert);
    } else if (queued.size() < options.max_alerts_queued) {
      queued.push_back(std::move(alert));
    } else {
      ++stats.alerts_dropped;  // nobody takes them: bounded, counted
    }
  }

  // Delivers the operators' results of one rule as alerts.
  class RuleSink final : public runtime::AlertSink {
   public:
    RuleSink(Impl* impl, uint32_t rule) : impl_(impl), rule_(rule) {}
    void OnAlert(runtime::JoinAlert&& a) override {
      ++impl_->compiled[rule_]->alerts;
      impl_->Deliver(impl_->JoinToAlert(rule_, std::move(a)));
    }

   private:
    Impl* impl_;
    uint32_t rule_;
  };

  Alert JoinToAlert(uint32_t rule_index, runtime::JoinAlert&& s) {
    Alert alert;
    alert.rule_index = rule_index;
    alert.rule = &rules[rule_index];
    alert.correlation = true;
    for (const KeyValue& k : s.key) alert.join_keys.push_back(k.ToJson());
    for (const EventHandle& e : s.events) {
      if (e == nullptr) {
        alert.events.push_back({.json = {}, .missing = true});
      } else {
        alert.events.push_back({.json = e->json, .missing = false});
      }
    }
    return alert;
  }

  absl::Status CompileRule(uint32_t index);
  absl::Status PushText(std::string_view json, bool padded);
  // Counts an event in, refusing it (counted malformed) when over
  // max_event_bytes.
  absl::Status Admit(std::string_view json);
  // Admits and projects an ECS event into `record`: PushText()'s first half.
  absl::Status ProjectText(std::string_view json, bool padded, io::Record& record);
  void PushTexts(std::span<const std::string_view> jsons, std::span<absl::Status> statuses);
  std::vector<io::Record> batch_records;
  // `json` is the event's text; for a builder event (`event` set) it is
  // empty and rendered only if an alert or a partial needs it.
  // `matched`: the units whose conditions the event meets, found on the
  // thread that parsed it (units_matched_elsewhere), with its timestamp;
  // the units are moved into the reorder stage with the event.
  absl::Status Ingest(io::Record& record, std::string_view json, const Event* event,
                      ruleset::MatchedUnits* matched = nullptr);
  void Process(const io::Record& record, std::string_view json, const Ordinal& ordinal,
               const Event* event = nullptr, const std::vector<uint32_t>* matched = nullptr);
  // An event query's match: its alert, through the rule's pipes.
  void EventQueryMatched(uint32_t r, std::string_view text);
  // The alert of event query `r` for an event (its text) its pipes let by.
  void EventAlert(uint32_t r, std::string&& text);
  // The units whose conditions `record` meets, into `out` in unit order,
  // leaving out (`waiting`) those waiting for their sequence. The caller
  // holds the event's leaf scope.
  void FindUnits(const io::Record& record, bool waiting, std::vector<uint32_t>& out);
  std::vector<uint32_t> met_units;  // Process()' scratch
  // The units whose conditions `record` meets, in unit order, and its
  // timestamp, without counting or keeping anything of the event: what a
  // thread of the parallel runner finds, where it parsed the event, for the
  // shard that runs it. Conditions only: whether a stage's sequence waits
  // for something in flight is for that shard to say.
  void MatchUnits(const io::Record& record, ruleset::MatchedUnits& out);
  // Set on the parallel runner's partitioned shards: the units an event
  // meets come with it (MatchedUnits) and are not looked for here (they are
  // found again for the events of the reorder stage a checkpoint restores).
  bool units_matched_elsewhere = false;
  // Per unit, whether this engine runs it (a shard restricted to some
  // rules, ShardAccess::Restrict); empty: all. Units matched elsewhere are
  // for every shard, each taking its own.
  std::vector<uint8_t> unit_runs;
  void AdvanceOperators(int64_t ts, bool force);
  // Brings partials_total up to date with sequence rule `r` after its
  // operator ran, and enforces max_partials_total: the rule over the total
  // evicts its own oldest partials.
  void CountPartials(uint32_t r);
  void FlushAll();

  // Checkpoint of a one-thread engine (or of one shard): everything but the
  // framing and the fingerprint, which Engine::Checkpoint() adds.
  std::vector<EngineStats::SourceCounts> SourceTotals() const;
  void SaveState(runtime::SnapshotWriter& w) const;
  bool LoadState(runtime::SnapshotReader& r);
  // Checkpoint of what the engine reports to the caller: alerts queued for
  // TakeAlerts() and the counters of alerts dropped.
  void SaveQueued(runtime::SnapshotWriter& w) const;
  bool LoadQueued(runtime::SnapshotReader& r);
  // Rules and state-shaping options, so that a snapshot is only restored
  // where it means the same thing.
  void SaveFingerprint(runtime::SnapshotWriter& w) const;
  absl::Status CheckFingerprint(runtime::SnapshotReader& r) const;
};

absl::Status Engine::Impl::CompileRule(uint32_t index) {
  const Rule& rule = rules[index];
  syntax::ParseOutcome parsed = syntax::Parse(rule.query);
  if (!parsed.ok()) {
    rejected.push_back({index, std::move(parsed.diagnostics)});
    return absl::InvalidArgumentError("rejected");
  }
  const ast::Query& q = *parsed.query;
  analysis::CompileOptions copts;
  copts.category_field = options.category_field;
  copts.timestamp_field = options.timestamp_field;
  copts.shared_leaves = &shared_leaves;
  auto rule_out = std::make_unique<CompiledRule>();
  rule_out->kind = q.kind;
  std::vector<Diagnostic> diagnostics;
  std::vector<Unit> new_units;

  auto add_unit = [&](const ast::EventQuery& eq, Unit::Role role, uint32_t stage) {
    auto c = analysis::CompileEventQuery(eq, fields, copts, rule.query);
    if (!c.ok()) {
      for (auto& d : c.diagnostics) diagnostics.push_back(std::move(d));
      return;
    }
    Unit u;
    u.rule = index;
    u.role = role;
    u.stage = stage;
    u.query = std::move(*c.value);
    new_units.push_back(std::move(u));
  };
  auto compile_keys = [&](const std::vector<ast::Expr>& shared, const std::vector<ast::Expr>& own,
                          KeyPlan& plan) {
    for (const auto* list : {&shared, &own}) {
      for (const ast::Expr& e : *list) {
        auto k = analysis::CompileKey(e, fields, copts, rule.query);
        if (!k.ok()) {
          for (auto& d : k.diagnostics) diagnostics.push_back(std::move(d));
          continue;
        }
        plan.keys.push_back(std::move(*k.value));
      }
    }
  };

  std::vector<runtime::PipeSpec> pipes;
  for (const ast::Pipe& p : q.pipes) {
    uint64_t n = static_cast<uint64_t>(std::max<int64_t>(p.count, 0));
    pipes.push_back(p.name == "tail" ? runtime::PipeSpec::Tail(n) : runtime::PipeSpec::Head(n));
  }

  switch (q.kind) {
    case ast::QueryKind::kEvent:
      add_unit(q.event, Unit::Role::kEvent, 0);
      rule_out->event_pipes = runtime::PipeChain<std::string>(pipes);
      break;
    case ast::QueryKind::kSequence: {
      const ast::Sequence& s = q.sequence;
      runtime::SequenceSpec spec;
      spec.maxspan_ms = s.maxspan ? std::optional<int64_t>(s.maxspan->millis) : std::nullopt;
      spec.has_until = s.until.has_value();
      spec.pipes = pipes;
      spec.max_partials = options.max_partials_per_rule;
      rule_out->stage_keys.resize(s.stages.size());
      for (uint32_t i = 0; i < s.stages.size(); ++i) {
        const ast::Stage& st = s.stages[i];
        spec.stages.push_back({.missing = st.missing, .runs = static_cast<uint32_t>(st.runs)});
        add_unit(st.query, Unit::Role::kStage, i);
        compile_keys(s.by, st.by, rule_out->stage_keys[i]);
      }
      spec.key_count = rule_out->stage_keys.empty() ? 0 : rule_out->stage_keys[0].keys.size();
      {
        size_t first_positive = 0;
        while (first_positive < s.stages.size() && s.stages[first_positive].missing) {
          ++first_positive;
        }
        for (Unit& u : new_units) {
          const bool later = u.role == Unit::Role::kStage && u.stage > first_positive;
          u.needs_partials = later && !s.stages[u.stage].missing;
          u.needs_in_flight = later && s.stages[u.stage].missing;
        }
      }
      if (s.until) {
        add_unit(s.until->query, Unit::Role::kUntil, 0);
        compile_keys(s.by, s.until->by, rule_out->until_keys);
      }
      if (!diagnostics.empty()) break;
      auto op = runtime::SequenceOperator::Create(std::move(spec));
      if (!op.ok()) {
        diagnostics.push_back(Diagnostic::At(rule.query, s.loc.offset,
                                             std::max<uint32_t>(s.loc.length, 1),
                                             std::string(op.status().message())));
        break;
      }
      rule_out->sequence = std::move(*op);
      break;
    }
    case ast::QueryKind::kSample: {
      const ast::Sample& s = q.sample;
      runtime::SampleSpec spec;
      spec.stage_count = s.stages.size();
      spec.pipes = pipes;
      // Streaming: a key's sample is reported once complete; batch: at the
      // end, in key order, exactly as Elasticsearch returns them.
      spec.eager = !options.batch;
      // A sample has no maxspan: a key waits for its other filters as long
      // as it takes. Its keys are this rule's partials, under the same cap.
      spec.max_keys = options.max_partials_per_rule;
      rule_out->stage_keys.resize(s.stages.size());
      for (uint32_t i = 0; i < s.stages.size(); ++i) {
        add_unit(s.stages[i].query, Unit::Role::kStage, i);
        compile_keys(s.by, s.stages[i].by, rule_out->stage_keys[i]);
      }
      spec.key_count = rule_out->stage_keys.empty() ? 0 : rule_out->stage_keys[0].keys.size();
      if (!diagnostics.empty()) break;
      auto op = runtime::SampleOperator::Create(std::move(spec));
      if (!op.ok()) {
        diagnostics.push_back(Diagnostic::At(rule.query, s.loc.offset,
                                             std::max<uint32_t>(s.loc.length, 1),
                                             std::string(op.status().message())));
        break;
      }
      rule_out->sample = std::move(*op);
      break;
    }
  }
  if (!diagnostics.empty()) {
    rejected.push_back({index, std::move(diagnostics)});
    return absl::InvalidArgumentError("rejected");
  }
  for (Unit& u : new_units) {
    uint32_t id = static_cast<uint32_t>(units.size());
    dispatcher.Add(id, u.query.is_any, u.query.category, u.query.where.program.get(), fields);
    units.push_back(std::move(u));
  }
  if (q.kind == ast::QueryKind::kSequence) sequence_rules.push_back(index);
  if (q.kind == ast::QueryKind::kSample) sample_rules.push_back(index);
  compiled[index] = std::move(rule_out);
  return absl::OkStatus();
}

void Engine::Impl::BuildGuards() {
  guards.clear();
  unit_tests.assign(units.size(), {});
  rule_in_flight.assign(compiled.size(), 0);
  rule_done.assign(compiled.size(), 0);
  const bool in_time_order = options.late_policy == LatePolicy::kDrop;
  for (size_t id = 0; id < units.size(); ++id) {
    const Unit& u = units[id];
    UnitTests& t = unit_tests[id];
    t.where = &u.query.where;
    t.rule = u.rule;
    t.stage = u.stage;
    t.role = u.role;
    if (!options.literal_prefilter) continue;
    if (u.needs_partials) {
      t.waits_for = kLivePartials;
    } else if (u.needs_in_flight && in_time_order) {
      t.waits_for = kLivePartials | kPendingCandidates;
    }
    if (t.waits_for != 0) t.waits_on_rule = u.rule + 1;
  }
  std::vector<std::vector<uint32_t>> required(units.size());
  std::vector<uint32_t> users(shared_leaves.size(), 0);  // units requiring each leaf
  std::vector<uint8_t> only(units.size(), 0);
  for (size_t id = 0; id < units.size(); ++id) {
    const analysis::Program* where = units[id].query.where.program.get();
    if (where == nullptr || !options.literal_prefilter) continue;
    bool only_leaves = false;
    required[id] = expr::RequiredLeaves(*where, only_leaves);
    only[id] = only_leaves && !required[id].empty();
    for (uint32_t node : required[id]) ++users[where->nodes[node].d - 1];
  }
  for (size_t id = 0; id < units.size(); ++id) {
    const analysis::Program* where = units[id].query.where.program.get();
    // Guards only ever rule units out: one that cannot be recorded (a node
    // index past Guard::node's bits, more than the record counts) is left
    // out, and then the condition decides.
    constexpr uint32_t kNodeLimit = uint32_t{1} << 24;
    bool complete = true;
    std::vector<Guard> mine;
    for (uint32_t node : required[id]) {
      const analysis::Node& n = where->nodes[node];
      if (node >= kNodeLimit) {
        complete = false;
        continue;
      }
      mine.push_back({.leaf = n.d - 1, .node = node, .negate = n.negate});
    }
    std::stable_sort(mine.begin(), mine.end(), [&](const Guard& a, const Guard& b) {
      return users[a.leaf] > users[b.leaf];
    });
    const size_t required_guards = mine.size();
    // After the required leaves, an `or` the condition requires: one leaf of
    // each branch, its leftmost (which the condition's own evaluation asks
    // first, so that a leaf is computed here only when the condition would
    // compute it too; a rarer or cheaper one cost more than it saved). Ruling
    // out such a unit here spares its cold program: the corpus's
    // `or`-shaped rules were most of the candidates whose guards all held
    // and whose condition then failed.
    if (where != nullptr && options.literal_prefilter) {
      auto leftmost = [](const analysis::Node&) { return uint64_t{0}; };
      for (const std::vector<uint32_t>& group : expr::RequiredAnyOf(*where, kMaxAnyOf, leftmost)) {
        if (std::any_of(group.begin(), group.end(), [](uint32_t n) { return n >= kNodeLimit; })) {
          continue;
        }
        for (size_t k = 0; k < group.size(); ++k) {
          const analysis::Node& n = where->nodes[group[k]];
          mine.push_back({.leaf = n.d - 1,
                          .node = group[k],
                          .negate = n.negate,
                          .group = static_cast<uint32_t>(k == 0 ? group.size() : 0)});
        }
      }
    }
    if (mine.size() > UINT16_MAX) {  // the required leaves come first
      complete = false;
      mine.resize(std::min<size_t>(required_guards, UINT16_MAX));
    }
    UnitTests& t = unit_tests[id];
    t.guard_count = static_cast<uint16_t>(mine.size());
    t.guard_overflow = static_cast<uint32_t>(guards.size());
    for (size_t k = 0; k < mine.size(); ++k) {
      if (k < kInlineGuards) {
        t.inline_guards[k] = mine[k];
      } else {
        guards.push_back(mine[k]);
      }
    }
    t.decided = only[id] != 0 && complete;
  }
  // Units are ruled out by value (RuleOutByValue()) when some guard's
  // field has an answer cache.
  rule_out_by_value = false;
  for (const UnitTests& t : unit_tests) {
    for (uint32_t i = 0; i < t.guard_count && !rule_out_by_value; ++i) {
      const Guard& g = GuardAt(t, i);
      const expr::SharedMatcher::Home& home = matcher->home(g.leaf);
      rule_out_by_value =
          g.group == 1 && home.program != nullptr && matcher->CacheOfField(home.field) >= 0;
    }
  }
  if (rule_out_by_value) leaf_memo->EnableVerdicts(units.size());
  ResetVerdictLists();
  const size_t words = (units.size() + 63) / 64;
  ruled_out.assign(words, 0);
  dormant.assign(words, 0);
  waiting_units.assign(compiled.size(), {});
  for (uint32_t id = 0; id < units.size(); ++id) {
    const UnitTests& t = unit_tests[id];
    if (t.waits_on_rule == 0) continue;
    waiting_units[t.waits_on_rule - 1].push_back(id);
    dormant[id >> 6] |= uint64_t{1} << (id & 63);  // nothing is in flight yet
  }
}

bool Engine::Impl::GuardHolds(const Guard& g, const UnitTests& unit, const io::Record& record) {
  // In the bool query a leaf is two-valued (null is false), and a negated
  // leaf (!=, not in, == null) is must_not of it.
  auto holds = [&](analysis::Tri t) {
    return g.negate ? t != analysis::Tri::kTrue : t == analysis::Tri::kTrue;
  };
  if (leaf_memo->Known(g.leaf)) return holds(leaf_memo->Answer(g.leaf));
  // Not yet answered: computed at the leaf's home (expr/shared_leaves.hpp),
  // so that the unit's own program stays untouched until a guard lets it
  // through.
  if (matcher->home(g.leaf).program != nullptr) {
    return holds(expr::UnknownLeafAnswer(*leaf_memo, g.leaf, record));
  }
  return expr::ConjunctHolds(*unit.where, g.node, record);
}

void Engine::Impl::RuleOutByValue(uint32_t id, uint32_t leaf, const io::Record& record) {
  if (!rule_out_by_value) return;
  const expr::SharedMatcher::Home& home = matcher->home(leaf);
  // Without a home the leaf was answered in the unit's own program: still
  // a function of the field's value, but not worth the lookup.
  if (home.program == nullptr) return;
  const int32_t cache = matcher->CacheOfField(home.field);
  if (cache < 0) return;
  std::optional<expr::LeafMemo::VerdictRow> verdicts = leaf_memo->Verdicts(cache, record);
  if (!verdicts) return;
  verdicts->Set(id);
  ++stats.verdicts_kept;
  uint8_t& listed = verdict_listed[size_t{event_table} * matcher->summary().cached_fields + cache];
  if (listed == 0) {
    listed = 1;
    verdict_caches[event_table].push_back(cache);
  }
}

void Engine::Impl::RuleOutGroupByValue(uint32_t id, uint32_t first, const UnitTests& unit,
                                       const io::Record& record) {
  // An any-of group whose members all test one field failed for its value
  // as a single guard would.
  const expr::SharedMatcher::Home& home = matcher->home(GuardAt(unit, first).leaf);
  for (uint32_t k = first + 1; k < first + GuardAt(unit, first).group; ++k) {
    const expr::SharedMatcher::Home& other = matcher->home(GuardAt(unit, k).leaf);
    if (other.program == nullptr || other.field != home.field) return;
  }
  RuleOutByValue(id, GuardAt(unit, first).leaf, record);
}

const uint64_t* Engine::Impl::RuledOut(const io::Record& record, bool waiting) {
  if (waiting) {
    std::copy(dormant.begin(), dormant.end(), ruled_out.begin());
  } else {
    std::fill(ruled_out.begin(), ruled_out.end(), 0);
  }
  if (!rule_out_by_value) return ruled_out.data();
  for (int32_t cache : verdict_caches[event_table]) {
    if (std::optional<expr::LeafMemo::VerdictRow> verdicts = leaf_memo->Verdicts(cache, record)) {
      verdicts->OrInto(ruled_out.data());
    }
  }
  return ruled_out.data();
}

void Engine::Impl::ResetVerdictLists() {
  if (!rule_out_by_value) return;
  const size_t tables = dispatcher.table_count() + 1;  // and "several"
  verdict_caches.assign(tables, {});
  verdict_listed.assign(tables * matcher->summary().cached_fields, 0);
}

bool Engine::Impl::Guarded(uint32_t id, const UnitTests& unit, const io::Record& record) {
  for (uint32_t i = 0; i < unit.guard_count;) {
    const Guard& g = GuardAt(unit, i);
    if (g.group == 1) {
      if (!GuardHolds(g, unit, record)) {
        RuleOutByValue(id, g.leaf, record);
        return false;
      }
      ++i;
      continue;
    }
    const uint32_t end = i + g.group;
    for (; i < end; ++i) {
      if (GuardHolds(GuardAt(unit, i), unit, record)) break;
    }
    if (i == end) {  // no member holds
      RuleOutGroupByValue(id, end - g.group, unit, record);
      return false;
    }
    i = end;
  }
  return true;
}

void Engine::Impl::RuleFinished(uint32_t r) {
  const CompiledRule& rule = *compiled[r];
  rule_done[r] = rule.sequence ? rule.sequence->done() : !rule.sample && rule.event_pipes.done();
}

void Engine::Impl::AdvanceOperators(int64_t ts, bool force) {
  // Expiry and trailing-missing decisions need only coarse time: advancing
  // every operator on every event would cost O(rules) per event.
  if (!force && ts < operator_watermark + 100) return;
  if (ts <= operator_watermark) return;
  operator_watermark = ts;
  // In rule order, as every rule's was before idle ones were skipped: the
  // alerts they release come out in the same order.
  size_t kept = 0;
  for (uint32_t r : advancing_rules) {
    CompiledRule& rule = *compiled[r];
    RuleSink sink(this, r);
    rule.sequence->AdvanceWatermark(ts, sink);
    CountPartials(r);
    RuleFinished(r);
    if (rule.sequence->Idle()) {
      rule.advancing = false;
    } else {
      advancing_rules[kept++] = r;
    }
  }
  advancing_rules.resize(kept);
}

void Engine::Impl::Advancing(uint32_t r) {
  CompiledRule& rule = *compiled[r];
  if (rule.advancing || rule.sequence->Idle()) return;
  rule.advancing = true;
  advancing_rules.insert(std::upper_bound(advancing_rules.begin(), advancing_rules.end(), r), r);
}

void Engine::Impl::KeepInFlight(uint32_t r) {
  const runtime::SequenceCounters& c = compiled[r]->sequence->counters();
  const uint8_t in_flight =
      static_cast<uint8_t>((c.partials_live > 0 ? kLivePartials : 0) |
                           (c.candidates_pending > 0 ? kPendingCandidates : 0));
  if (in_flight == rule_in_flight[r]) return;
  rule_in_flight[r] = in_flight;
  for (uint32_t id : waiting_units[r]) {
    const uint64_t bit = uint64_t{1} << (id & 63);
    if ((in_flight & unit_tests[id].waits_for) == 0) {
      dormant[id >> 6] |= bit;
    } else {
      dormant[id >> 6] &= ~bit;
    }
  }
}

void Engine::Impl::CountPartials(uint32_t r) {
  // A sample's partials are its join keys waiting for their filters.
  CompiledRule& rule = *compiled[r];
  const uint64_t live = rule.sequence ? rule.sequence->counters().partials_live
                                      : rule.sample->counters().keys_live;
  partials_total = partials_total - rule.live_seen + live;
  rule.live_seen = live;
  if (partials_total > options.max_partials_total) {
    const uint64_t excess = partials_total - options.max_partials_total;
    const uint64_t evicted = rule.sequence ? rule.sequence->EvictOldest(excess)
                                           : rule.sample->EvictOldest(excess);
    stats.partials_evicted_total_cap += evicted;
    rule.live_seen -= evicted;
    partials_total -= evicted;
  }
  if (rule.sequence) KeepInFlight(r);
}

void Engine::Impl::EventAlert(uint32_t r, std::string&& text) {
  Alert alert;
  alert.rule_index = r;
  alert.rule = &rules[r];
  alert.events.push_back({.json = std::move(text), .missing = false});
  ++compiled[r]->alerts;
  Deliver(std::move(alert));
}

void Engine::Impl::EventQueryMatched(uint32_t r, std::string_view text) {
  compiled[r]->event_pipes.Offer(
      std::string(text), [&](std::string&& alert_text) { EventAlert(r, std::move(alert_text)); });
  RuleFinished(r);
}

void Engine::Impl::FindUnits(const io::Record& record, bool waiting, std::vector<uint32_t>& out) {
  // Dispatch: the units whose category the event has (exact, as
  // `category_field == "process"`), plus `any` units, narrowed by their
  // literal anchors (ruleset/dispatch.hpp), in unit order (= rule order, then
  // stage order), less the units ruled out by the event's values or (with
  // `waiting`) waiting for their sequence (RuledOut()). The index does the
  // category test, so only the where clause is evaluated. Shared leaves are
  // answered once for the event (off with the prefilter: then every unit is
  // evaluated on its own, the reference).
  event_table = dispatcher.MarkCandidates(record, category_field);
  dispatcher.TakeCandidates(candidate_units,
                            options.literal_prefilter ? RuledOut(record, waiting) : nullptr);
  out.clear();
  for (uint32_t id : candidate_units) {
    const UnitTests& u = unit_tests[id];
    // (A later stage's hit can only extend a live partial, or for a missing
    // stage rule one out: without one the unit is `dormant`, not here.)
    // A required leaf that does not hold rules the unit out before its
    // (cold) program is touched; every leaf's answer is kept for the event.
    if (!Guarded(id, u, record)) continue;
    if (rule_done[u.rule] != 0) continue;  // a `head` that has its events
    if (!u.decided && !expr::Matches(*u.where, record)) continue;
    out.push_back(id);
  }
}

void Engine::Impl::MatchUnits(const io::Record& record, ruleset::MatchedUnits& out) {
  out.timestamp.reset();
  if (timestamp_field) out.timestamp = io::TimestampMillis(record.Get(*timestamp_field));
  std::optional<expr::EventScope> leaf_scope;
  if (options.literal_prefilter) leaf_scope.emplace(*leaf_memo, record);
  FindUnits(record, /*waiting=*/false, out.units);
}

void Engine::Impl::Process(const io::Record& record, std::string_view json, const Ordinal& ordinal,
                           const Event* event, const std::vector<uint32_t>* matched) {
  std::string rendered;  // a builder event's JSON, made on first need
  auto text = [&]() -> std::string_view {
    if (render != nullptr || event != nullptr) {  // rendered on first need
      if (rendered.empty()) rendered = render != nullptr ? (*render)() : event->ToJson();
      return rendered;
    }
    return json;
  };
  ++stats.events_processed;
  // The units the event meets; with `matched` they were found on another
  // thread, and those waiting for their sequence are left out here.
  std::optional<expr::EventScope> leaf_scope;
  const std::vector<uint32_t>* units = matched;
  if (matched == nullptr) {
    if (options.literal_prefilter) leaf_scope.emplace(*leaf_memo, record);
    FindUnits(record, /*waiting=*/true, met_units);
    units = &met_units;
  }

  EventHandle handle;  // made once, only if some operator keeps the event
  auto retain = [&]() -> const EventHandle& {
    if (!handle) {
      handle = std::make_shared<const runtime::RetainedEvent>(
          runtime::RetainedEvent{ordinal, std::string(text())});
    }
    return handle;
  };

  touched_rules.clear();
  for (uint32_t id : *units) {
    const UnitTests& u = unit_tests[id];
    if (matched != nullptr) {
      if ((dormant[id >> 6] >> (id & 63)) & 1) continue;
      if (!unit_runs.empty() && !unit_runs[id]) continue;  // another shard's
      if (rule_done[u.rule] != 0) continue;
    }
    CompiledRule& rule = *compiled[u.rule];
    if (u.role == Unit::Role::kEvent) {
      EventQueryMatched(u.rule, text());
      continue;
    }
    const KeyPlan& plan = u.role == Unit::Role::kUntil ? rule.until_keys : rule.stage_keys[u.stage];
    std::vector<JoinKey>& keys = key_list;
    if (!ExpandKeys(plan, record, key_positions, key_scratch, keys)) continue;
    if (!rule.touched) {
      rule.touched = true;
      touched_rules.push_back(u.rule);
    }
    if (u.role == Unit::Role::kUntil) {
      for (auto& k : keys) rule.until_hits.push_back(std::move(k));
    } else {
      if (rule.hit_count == rule.hits.size()) rule.hits.emplace_back();
      runtime::StageHit& hit = rule.hits[rule.hit_count++];
      hit.stage = u.stage;
      hit.keys.swap(keys);  // the scratch takes the hit's old storage
    }
  }

  for (uint32_t r : touched_rules) {
    CompiledRule& rule = *compiled[r];
    rule.touched = false;
    if (rule.sequence) {
      RuleSink sink(this, r);
      // An idle sequence is not advanced as time passes (AdvanceOperators):
      // its clock is brought to the operators' time first, as if it had
      // been. Otherwise a late event (processed anyway) would find it
      // behind, and its partials would expire later than after a restart,
      // whose snapshot carries the operators' time (found by fuzz_engine:
      // evictions at a total cap differed).
      if (!rule.advancing) rule.sequence->AdvanceWatermark(operator_watermark, sink);
      rule.sequence->OnEvent(retain(), {rule.hits.data(), rule.hit_count}, rule.until_hits, sink);
      CountPartials(r);
      RuleFinished(r);
      Advancing(r);
    } else if (rule.sample) {
      RuleSink sink(this, r);
      rule.sample->OnEvent(retain(), {rule.hits.data(), rule.hit_count}, sink);
      CountPartials(r);
    }
    for (size_t h = 0; h < rule.hit_count; ++h) rule.hits[h].keys.clear();
    rule.hit_count = 0;
    rule.until_hits.clear();
  }
  AdvanceOperators(ordinal.timestamp_ms, false);
}

absl::Status Engine::Impl::Ingest(io::Record& record, std::string_view json, const Event* event,
                                  ruleset::MatchedUnits* matched) {
  // Time and tiebreaker give the event its place in the order.
  int64_t ts = 0;
  if (timestamp_field) {
    std::optional<int64_t> t =
        matched != nullptr ? matched->timestamp : io::TimestampMillis(record.Get(*timestamp_field));
    if (!t) {
      ++stats.events_no_timestamp;
      return absl::InvalidArgumentError(
          absl::StrCat("no usable timestamp in field ", options.timestamp_field));
    }
    ts = *t;
    // Times are kept to years 0000..9999 (what ISO 8601 dates spell), so
    // that no difference or sum of times and maxspans can overflow.
    constexpr int64_t kMinEventMs = -62'167'219'200'000;  // 0000-01-01T00:00:00Z
    constexpr int64_t kMaxEventMs = 253'402'300'799'999;  // 9999-12-31T23:59:59.999Z
    if (ts < kMinEventMs || ts > kMaxEventMs) {
      ++stats.events_time_out_of_range;
      return absl::OutOfRangeError(absl::StrCat("timestamp ", ts, " ms in field ",
                                                options.timestamp_field,
                                                " is outside the years 0000-9999"));
    }
    // The clock is read only for an event that may be too far ahead of the
    // last reading: the clock does not go back, so an event within the
    // limit of an earlier reading is within it of now (a clock read per
    // event was 2-3% of the time).
    if (!options.batch && options.max_future_ms > 0 && ts - clock_ms > options.max_future_ms) {
      clock_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
      const int64_t now = clock_ms;
      if (ts - now > options.max_future_ms) {
        ++stats.events_time_out_of_range;
        return absl::OutOfRangeError(absl::StrCat(
            "timestamp ", ts, " ms in field ", options.timestamp_field, " is ", ts - now,
            " ms ahead of the system clock (more than max_future_ms = ", options.max_future_ms,
            ")"));
      }
    }
  }
  Ordinal ordinal;
  ordinal.timestamp_ms = ts;
  if (tiebreaker_field) {
    auto values = record.Get(*tiebreaker_field);
    if (!values.empty()) ordinal.tiebreaker = ToKeyValue(values.front());
  }
  ordinal.arrival = arrival++;

  const bool direct = !options.batch && options.allowed_lateness_ms == 0;
  if (direct) {
    // No reordering wanted: process in arrival order; an event older than
    // one already processed is late.
    if (ts < released_watermark) {
      ++stats.events_late;
      if (options.late_policy == LatePolicy::kDrop) return absl::OkStatus();
    }
    released_watermark = std::max(released_watermark, ts);
    Process(record, json, ordinal, event, matched != nullptr ? &matched->units : nullptr);
    return absl::OkStatus();
  }
  // The reorder stage keeps the text: a builder event is rendered now.
  Pending pending{std::move(record),
                  render != nullptr  ? (*render)()
                  : event != nullptr ? event->ToJson()
                                     : std::string(json),
                  {}};
  if (matched != nullptr) pending.matched = std::move(matched->units);
  render = nullptr;  // the events the reorder stage releases have their text
  reorder->Push(ts, std::move(ordinal.tiebreaker), std::move(pending),
                [&](const Ordinal& o, Pending&& p, bool /*late*/) {
                  released_watermark = std::max(released_watermark, o.timestamp_ms);
                  Process(p.record, p.json, o, nullptr,
                          units_matched_elsewhere ? &p.matched : nullptr);
                });
  return absl::OkStatus();
}

absl::Status Engine::Impl::Admit(std::string_view json) {
  ++stats.events_in;
  if (json.size() <= options.max_event_bytes) return absl::OkStatus();
  ++stats.events_malformed;
  return absl::ResourceExhaustedError(absl::StrCat(
      "event of ", json.size(), " bytes is over the limit of ", options.max_event_bytes));
}

absl::Status Engine::Impl::PushText(std::string_view json, bool padded) {
  if (!normalizer) {
    absl::Status status = ProjectText(json, padded, scratch_record);
    return status.ok() ? Ingest(scratch_record, json, nullptr) : status;
  }
  absl::Status status = Admit(json);
  if (!status.ok()) return status;
  // Another source's record: to ECS first, keeping its text as ECS's
  // event.original so that the alert still shows what came in. Process
  // starts of stateless sources are projected straight into the record;
  // their whole ECS event is built only if an alert or a partial needs it.
  bool projected = false;
  status = normalizer->NormalizeInto(json, fields,
                                     {.max_values = projector->limits().max_values,
                                      .max_string_bytes = projector->limits().max_string_bytes,
                                      .uncut_fields = &projector->limits().uncut_fields,
                                      .strings_truncated = &normalizer_strings_truncated},
                                     scratch_record, scratch_event, projected);
  if (!status.ok()) {
    ++stats.events_malformed;
    return status;
  }
  if (projected) {
    const std::function<std::string()> text = [&] {
      normalizer->LastEvent(scratch_event);
      scratch_event.Set("event.original", std::string(json));
      return scratch_event.ToJson();
    };
    render = &text;
    status = Ingest(scratch_record, {}, nullptr);
    render = nullptr;
    return status;
  }
  scratch_event.Set("event.original", std::string(json));
  status = projector->Project(scratch_event, scratch_record);
  if (!status.ok()) {
    ++stats.events_malformed;
    return status;
  }
  return Ingest(scratch_record, {}, &scratch_event);
}

absl::Status Engine::Impl::ProjectText(std::string_view json, bool padded, io::Record& record) {
  absl::Status status = Admit(json);
  if (!status.ok()) return status;
  status = padded ? projector->ProjectPadded(json, record) : projector->Project(json, record);
  if (!status.ok()) ++stats.events_malformed;
  return status;
}

void Engine::Impl::PushTexts(std::span<const std::string_view> jsons,
                             std::span<absl::Status> statuses) {
  if (normalizer) {  // a source's records are normalized one at a time
    for (size_t i = 0; i < jsons.size(); ++i) statuses[i] = PushText(jsons[i], true);
    return;
  }
  if (batch_records.size() < jsons.size()) batch_records.resize(jsons.size());
  for (size_t i = 0; i < jsons.size(); ++i) {
    statuses[i] = ProjectText(jsons[i], /*padded=*/true, batch_records[i]);
  }
  for (size_t i = 0; i < jsons.size(); ++i) {
    if (statuses[i].ok()) statuses[i] = Ingest(batch_records[i], jsons[i], nullptr);
  }
}

void Engine::Impl::FlushAll() {
  if (reorder) {
    reorder->Flush([&](const Ordinal& o, Pending&& p, bool /*late*/) {
      released_watermark = std::max(released_watermark, o.timestamp_ms);
      Process(p.record, p.json, o, nullptr, units_matched_elsewhere ? &p.matched : nullptr);
    });
  }
  for (size_t r = 0; r < compiled.size(); ++r) {
    if (!compiled[r]) continue;
    CompiledRule& rule = *compiled[r];
    const uint32_t index = static_cast<uint32_t>(r);
    if (rule.sequence) {
      RuleSink sink(this, index);
      rule.sequence->Flush(sink);
      CountPartials(index);
    } else if (rule.sample) {
      RuleSink sink(this, index);
      rule.sample->Flush(sink);
      CountPartials(index);
    } else {
      rule.event_pipes.Flush([&](std::string&& text) { EventAlert(index, std::move(text)); });
    }
    RuleFinished(index);
  }
}

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(std::vector<Rule> rules,
                                                       EngineOptions options) {
  if (options.category_field.empty()) {
    return absl::InvalidArgumentError("the category field must not be empty");
  }
  if (options.allowed_lateness_ms < 0) {
    return absl::InvalidArgumentError("allowed lateness must not be negative");
  }
  if (options.max_partials_per_rule == 0) {
    return absl::InvalidArgumentError("max partials must be at least 1");
  }
  if (options.max_partials_total == 0 || options.max_event_values == 0 ||
      options.max_string_bytes == 0 || options.max_join_keys_per_event == 0) {
    return absl::InvalidArgumentError(
        "max_partials_total, max_event_values, max_string_bytes and max_join_keys_per_event must "
        "be at least 1");
  }
  if (options.max_json_depth < 1 || options.max_json_depth > io::JsonProjector::kMaxDepthLimit) {
    return absl::InvalidArgumentError(absl::StrCat("max_json_depth must be in 1..",
                                                   io::JsonProjector::kMaxDepthLimit));
  }
  if (options.max_future_ms < 0) {
    return absl::InvalidArgumentError("max_future_ms must not be negative (0: no check)");
  }
  if (options.threads < 1 || options.threads > 256) {
    return absl::InvalidArgumentError("threads must be in 1..256");
  }
  if (options.threads > 1) {
    // This engine compiles the rules (for rules(), rejected_rules() and the
    // rules' shapes) and routes; the shards do the work.
    EngineOptions single = options;
    single.threads = 1;
    auto engine = Create(rules, single);
    if (!engine.ok()) return engine.status();
    Impl* top = (*engine)->impl_.get();
    auto runner = ruleset::ParallelRunner::Create(top->rules, options, **engine);
    if (!runner.ok()) return runner.status();
    top->options.threads = options.threads;
    top->parallel = std::move(*runner);
    top->parallel->SetSinks(
        &top->rules,
        [top](Alert&& alert) {
          if (top->callback) {
            top->callback(alert);
          } else if (top->queued.size() < top->options.max_alerts_queued) {
            top->queued.push_back(std::move(alert));
          } else {
            ++top->stats.alerts_dropped;
          }
        },
        [top](uint64_t tag, const absl::Status& error) {
          if (top->error_callback) top->error_callback(tag, error);
        });
    return engine;
  }
  auto impl = std::make_unique<Impl>();
  if (options.source != "ecs") {
    auto normalizer = SourceNormalizer::Create(options.source);
    if (!normalizer.ok()) return normalizer.status();
    impl->normalizer = std::move(*normalizer);
  }
  impl->options = std::move(options);
  impl->dispatcher = ruleset::Dispatcher(impl->options.literal_prefilter);
  impl->rules = std::move(rules);
  for (size_t i = 0; i < impl->rules.size(); ++i) {
    if (impl->rules[i].name.empty()) impl->rules[i].name = absl::StrCat("rule ", i + 1);
  }
  impl->compiled.resize(impl->rules.size());
  impl->stats.rules.resize(impl->rules.size());
  const EngineOptions& o = impl->options;
  impl->category_field = impl->fields.Intern(o.category_field);
  if (!o.timestamp_field.empty()) impl->timestamp_field = impl->fields.Intern(o.timestamp_field);
  if (!o.tiebreaker_field.empty()) impl->tiebreaker_field = impl->fields.Intern(o.tiebreaker_field);
  for (uint32_t i = 0; i < impl->rules.size(); ++i) {
    (void)impl->CompileRule(i);
  }
  std::vector<const analysis::Program*> programs;
  for (const Unit& u : impl->units) programs.push_back(u.query.where.program.get());
  impl->matcher =
      expr::SharedMatcher::Build(impl->shared_leaves, o.multi_pattern, o.cache_answers, programs);
  impl->leaf_memo = std::make_unique<expr::LeafMemo>(*impl->matcher);
  impl->BuildGuards();
  io::JsonProjector::Limits limits{.max_depth = o.max_json_depth,
                                   .max_values = o.max_event_values,
                                   .max_string_bytes = o.max_string_bytes,
                                   .uncut_fields = {}};
  // The event's time, tiebreaker and category are read whole (found by
  // fuzz_engine: a cut "2023-11-14T22:13:20.5Z" is "2023", another time).
  limits.uncut_fields.push_back(impl->category_field);
  for (const auto& f : {impl->timestamp_field, impl->tiebreaker_field}) {
    if (f) limits.uncut_fields.push_back(*f);
  }
  impl->projector = std::make_unique<io::JsonProjector>(impl->fields, std::move(limits));
  auto limit_keys = [&](KeyPlan& plan) {
    plan.max_keys = o.max_join_keys_per_event;
    plan.over_limit = &impl->stats.join_keys_over_limit;
  };
  for (auto& rule : impl->compiled) {
    if (!rule) continue;
    limit_keys(rule->until_keys);
    for (KeyPlan& plan : rule->stage_keys) limit_keys(plan);
  }
  if (o.batch || o.allowed_lateness_ms > 0) {
    const runtime::LatePolicy policy = o.late_policy == LatePolicy::kDrop
                                           ? runtime::LatePolicy::kDrop
                                           : runtime::LatePolicy::kProcess;
    runtime::ReorderOptions ropts =
        o.batch ? runtime::ReorderOptions::Batch()
                : runtime::ReorderOptions::Streaming(o.allowed_lateness_ms, policy);
    impl->reorder = std::make_unique<runtime::ReorderBuffer<Pending>>(ropts);
  }
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

const std::vector<Rule>& Engine::rules() const { return impl_->rules; }
const std::vector<RejectedRule>& Engine::rejected_rules() const { return impl_->rejected; }

RuleFeatures Engine::features(size_t rule) const {
  RuleFeatures f;
  if (rule >= impl_->rules.size()) return f;
  syntax::ParseOutcome parsed = syntax::Parse(impl_->rules[rule].query);
  if (!parsed.ok()) return f;
  const ast::Query& q = *parsed.query;
  f.parsed = true;
  f.pipes = !q.pipes.empty();
  auto stages = [&](const std::vector<ast::Expr>& by, const std::vector<ast::Stage>& list) {
    f.stages = list.size();
    f.join_keys = !by.empty();
    for (const ast::Stage& st : list) {
      f.join_keys = f.join_keys || !st.by.empty();
      f.missing_events = f.missing_events || st.missing;
      f.runs = f.runs || st.runs > 1;
    }
  };
  switch (q.kind) {
    case ast::QueryKind::kEvent:
      f.kind = RuleFeatures::Kind::kEvent;
      f.stages = 1;
      break;
    case ast::QueryKind::kSequence:
      f.kind = RuleFeatures::Kind::kSequence;
      stages(q.sequence.by, q.sequence.stages);
      f.maxspan = q.sequence.maxspan.has_value();
      f.until = q.sequence.until.has_value();
      break;
    case ast::QueryKind::kSample:
      f.kind = RuleFeatures::Kind::kSample;
      stages(q.sample.by, q.sample.stages);
      break;
  }
  return f;
}

void Engine::SetAlertCallback(AlertCallback callback) { impl_->callback = std::move(callback); }

std::vector<Alert> Engine::TakeAlerts() { return std::exchange(impl_->queued, {}); }

void Engine::SetErrorCallback(ErrorCallback callback) {
  impl_->error_callback = std::move(callback);
}

absl::Status Engine::PushJson(std::string_view json) {
  if (impl_->parallel) {
    impl_->parallel->Push(json, impl_->pushed++);
    return absl::OkStatus();
  }
  ++impl_->pushed;
  return impl_->PushText(json, false);
}

absl::Status Engine::PushJsonPadded(std::string_view json, uint64_t tag) {
  if (impl_->parallel) {
    ++impl_->pushed;
    impl_->parallel->Push(json, tag);
    return absl::OkStatus();
  }
  return PushJsonPadded(json);
}

void Engine::PushJsonPadded(std::span<const std::string_view> jsons, std::span<const uint64_t> tags,
                            std::span<absl::Status> statuses) {
  if (impl_->parallel) {
    for (size_t i = 0; i < jsons.size(); ++i) statuses[i] = PushJsonPadded(jsons[i], tags[i]);
    return;
  }
  impl_->pushed += jsons.size();
  impl_->PushTexts(jsons, statuses);
}

absl::Status Engine::PushJsonPadded(std::string_view json) {
  static_assert(kJsonPadding >= io::JsonProjector::kPadding);
  if (impl_->parallel) {
    impl_->parallel->Push(json, impl_->pushed++);
    return absl::OkStatus();
  }
  ++impl_->pushed;
  return impl_->PushText(json, true);
}

absl::Status Engine::PushRecord(io::Record& record, const std::function<std::string()>& render) {
  if (impl_->parallel) {
    return absl::FailedPreconditionError("PushRecord() is not available with threads > 1");
  }
  ++impl_->pushed;
  ++impl_->stats.events_in;
  impl_->render = &render;
  absl::Status status = impl_->Ingest(record, {}, nullptr);
  impl_->render = nullptr;
  return status;
}

const io::FieldRegistry& Engine::field_registry() const { return impl_->fields; }

absl::Status Engine::Push(const Event& event) {
  Impl& e = *impl_;
  if (e.parallel) {
    // The shards take text: a chunk outlives the caller's event.
    e.parallel->Push(event.ToJson(), e.pushed++);
    return absl::OkStatus();
  }
  ++e.pushed;
  ++e.stats.events_in;
  io::Record& record = e.scratch_record;
  absl::Status status = e.projector->Project(event, record);
  if (!status.ok()) {
    ++e.stats.events_malformed;
    return status;
  }
  // The text is rendered only if the event ends up in an alert or a partial.
  return e.Ingest(record, {}, &event);
}

void Engine::Drain() {
  if (impl_->parallel) impl_->parallel->RunChunk();
}

void Engine::Flush() {
  if (impl_->parallel) {
    impl_->parallel->Flush();
    return;
  }
  impl_->FlushAll();
  impl_->AdvanceOperators(impl_->released_watermark, true);
}

EngineStats Engine::stats() const {
  if (impl_->parallel) {
    EngineStats s = impl_->parallel->Stats();
    s.alerts_dropped += impl_->stats.alerts_dropped;
    s.rules.resize(impl_->rules.size());
    return s;
  }
  EngineStats s = impl_->stats;
  const expr::LeafMemo::CacheCounts cache = impl_->leaf_memo->cache_counts();
  s.answer_cache = {.found = cache.values_found,
                    .added = cache.values_added,
                    .first_seen = cache.values_first_seen,
                    .skipped = cache.values_skipped};
  if (impl_->reorder) s.events_late += impl_->reorder->counters().late;
  const io::JsonProjector::Counters& limits = impl_->projector->counters();
  const io::JsonProjector::Counters& restored = impl_->restored_limits;
  s.events_too_deep = limits.too_deep + restored.too_deep;
  s.events_too_many_values = limits.too_many_values + restored.too_many_values;
  s.strings_truncated = limits.strings_truncated + restored.strings_truncated +
                        impl_->normalizer_strings_truncated;
  s.sources = impl_->SourceTotals();
  s.partials_live = s.partials_expired = s.partials_evicted = 0;
  for (size_t r = 0; r < impl_->compiled.size(); ++r) {
    RuleStats& rs = s.rules[r];
    if (!impl_->compiled[r]) continue;
    const CompiledRule& rule = *impl_->compiled[r];
    rs.alerts = rule.alerts;
    if (rule.sequence) {
      const auto& c = rule.sequence->counters();
      rs.partials_live = c.partials_live;
      rs.partials_created = c.partials_created;
      rs.partials_completed = c.partials_completed;
      rs.partials_expired = c.partials_expired;
      rs.partials_evicted = c.partials_evicted;
    } else if (rule.sample) {
      // A sample's partials are its join keys waiting for their filters.
      const auto& c = rule.sample->counters();
      rs.partials_live = c.keys_live;
      rs.partials_evicted = c.keys_evicted;
    }
    s.partials_live += rs.partials_live;
    s.partials_expired += rs.partials_expired;
    s.partials_evicted += rs.partials_evicted;
  }
  return s;
}

// ----- Checkpoint and restore -----------------------------------------------
//
// A snapshot is
//   "LIBEQL-S"  magic, 8 bytes
//   version     4 bytes little-endian (Engine::kSnapshotVersion)
//   length      8 bytes little-endian: the payload's size
//   payload     runtime/snapshot.hpp's encoding (event table, then the body)
//   crc32       4 bytes little-endian: zlib's CRC-32 of every byte before it
// The body is the fingerprint (rules and state-shaping options), then the
// state: one engine's, or with threads each shard's.

namespace {

constexpr std::string_view kSnapshotMagic = "LIBEQL-S";
constexpr size_t kSnapshotHeaderBytes = 8 + 4 + 8;
constexpr size_t kSnapshotTrailerBytes = 4;

// A stable hash of a rule's query (absl::Hash is seeded per process).
uint64_t Fnv1a(std::string_view text) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

void PutLittleEndian(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetLittleEndian(std::string_view in, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) {
    v |= static_cast<uint64_t>(static_cast<unsigned char>(in[at + i])) << (8 * i);
  }
  return v;
}

uint32_t Crc32(std::string_view bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes lengths as uInt: feed large snapshots in pieces.
  while (!bytes.empty()) {
    const size_t n = std::min<size_t>(bytes.size(), 1u << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(n));
    bytes.remove_prefix(n);
  }
  return static_cast<uint32_t>(crc);
}

// The engine's own counters, in a fixed order: the snapshot's layout. (The
// partial counters are the operators'; the limit counters the projector's.)
std::vector<uint64_t*> EngineCounterFields(EngineStats& s) {
  return {&s.events_in,           &s.events_malformed,
          &s.events_no_timestamp, &s.events_late,
          &s.events_processed,    &s.alerts,
          &s.events_time_out_of_range, &s.join_keys_over_limit,
          &s.partials_evicted_total_cap, &s.alerts_dropped};
}

}  // namespace

std::vector<EngineStats::SourceCounts> Engine::Impl::SourceTotals() const {
  std::vector<EngineStats::SourceCounts> totals;
  if (normalizer) {
    for (const auto& [name, c] : normalizer->Stats()) {
      totals.push_back({name, c.records, c.normalized, c.passed_through, c.unrecognized});
    }
  }
  for (const EngineStats::SourceCounts& r : restored_sources) {
    auto it = std::find_if(totals.begin(), totals.end(),
                           [&](const EngineStats::SourceCounts& c) { return c.source == r.source; });
    if (it == totals.end()) it = totals.insert(totals.end(), {r.source});
    it->records += r.records;
    it->normalized += r.normalized;
    it->passed_through += r.passed_through;
    it->unrecognized += r.unrecognized;
  }
  return totals;
}

void Engine::Impl::SaveFingerprint(runtime::SnapshotWriter& w) const {
  w.U64(rules.size());
  for (size_t r = 0; r < rules.size(); ++r) {
    w.U64(Fnv1a(rules[r].query));
    w.Bool(compiled[r] != nullptr);
  }
  w.Bytes(options.category_field);
  w.Bytes(options.timestamp_field);
  w.Bytes(options.tiebreaker_field);
  w.Bool(options.batch);
  w.I64(options.allowed_lateness_ms);
  w.U64(static_cast<uint64_t>(options.late_policy));
  w.Bytes(options.source);
  w.U64(static_cast<uint64_t>(options.threads));
  w.Bytes(parallel ? parallel->partition_field() : std::string());
}

absl::Status Engine::Impl::CheckFingerprint(runtime::SnapshotReader& r) const {
  uint64_t count = 0;
  if (!r.Count(count, 2)) return r.status();
  if (count != rules.size()) {
    return absl::FailedPreconditionError(absl::StrCat("the snapshot was made with ", count,
                                                      " rules; this engine has ", rules.size()));
  }
  for (size_t i = 0; i < rules.size(); ++i) {
    uint64_t hash = 0;
    bool was_compiled = false;
    if (!r.U64(hash) || !r.Bool(was_compiled)) return r.status();
    if (hash != Fnv1a(rules[i].query) || was_compiled != (compiled[i] != nullptr)) {
      return absl::FailedPreconditionError(
          absl::StrCat("rule ", i + 1, " (\"", rules[i].name,
                       "\") is not the query the snapshot was made with; a snapshot restores "
                       "only into the same rules, in the same order"));
    }
  }
  std::string category, timestamp, tiebreaker, source, partition;
  bool batch = false;
  int64_t lateness = 0;
  uint64_t late_policy = 0, threads = 0;
  if (!r.Bytes(category) || !r.Bytes(timestamp) || !r.Bytes(tiebreaker) || !r.Bool(batch) ||
      !r.I64(lateness) || !r.U64(late_policy) || !r.Bytes(source) || !r.U64(threads) ||
      !r.Bytes(partition)) {
    return r.status();
  }
  auto differs = [](std::string_view what, const auto& theirs, const auto& ours) {
    return absl::FailedPreconditionError(absl::StrCat("the snapshot was made with ", std::string(what), " ",
                                                      theirs, "; this engine has ", ours));
  };
  auto quoted = [](std::string_view s) { return absl::StrCat("\"", std::string(s), "\""); };
  if (category != options.category_field) {
    return differs("category field", quoted(category), quoted(options.category_field));
  }
  if (timestamp != options.timestamp_field) {
    return differs("timestamp field", quoted(timestamp), quoted(options.timestamp_field));
  }
  if (tiebreaker != options.tiebreaker_field) {
    return differs("tiebreaker field", quoted(tiebreaker), quoted(options.tiebreaker_field));
  }
  if (batch != options.batch) {
    return differs("batch mode", batch ? "on" : "off", options.batch ? "on" : "off");
  }
  if (lateness != options.allowed_lateness_ms) {
    return differs("allowed lateness", absl::StrCat(lateness, " ms"),
                   absl::StrCat(options.allowed_lateness_ms, " ms"));
  }
  if (late_policy != static_cast<uint64_t>(options.late_policy)) {
    return differs("late policy", late_policy == 0 ? "drop" : "process",
                   options.late_policy == LatePolicy::kDrop ? "drop" : "process");
  }
  if (source != options.source) return differs("source", quoted(source), quoted(options.source));
  if (threads != static_cast<uint64_t>(options.threads)) {
    return differs("threads", threads, options.threads);
  }
  const std::string ours = parallel ? parallel->partition_field() : std::string();
  if (partition != ours) return differs("partition field", quoted(partition), quoted(ours));
  return absl::OkStatus();
}

void Engine::Impl::SaveState(runtime::SnapshotWriter& w) const {
  w.U64(arrival);
  w.U64(pushed);
  w.I64(released_watermark);
  w.I64(operator_watermark);
  w.U64(normalizer_strings_truncated);
  EngineStats counters = stats;
  for (uint64_t* c : EngineCounterFields(counters)) w.U64(*c);
  const io::JsonProjector::Counters& limits = projector->counters();
  w.U64(limits.too_deep + restored_limits.too_deep);
  w.U64(limits.too_many_values + restored_limits.too_many_values);
  w.U64(limits.strings_truncated + restored_limits.strings_truncated);
  const std::vector<EngineStats::SourceCounts> sources = SourceTotals();
  w.U64(sources.size());
  for (const EngineStats::SourceCounts& c : sources) {
    w.Bytes(c.source);
    for (uint64_t n : {c.records, c.normalized, c.passed_through, c.unrecognized}) w.U64(n);
  }
  // What the normalizer remembers across records (4688's parents).
  w.Bytes(normalizer ? normalizer->SaveState() : std::string());
  w.U64(compiled.size());
  for (const auto& rule : compiled) {
    w.Bool(rule != nullptr);
    if (!rule) continue;
    w.U64(rule->alerts);
    w.U64(rule->live_seen);
    if (rule->sequence) {
      rule->sequence->Save(w, operator_watermark);
    } else if (rule->sample) {
      rule->sample->Save(w);
    } else {
      rule->event_pipes.Save(
          w, [](runtime::SnapshotWriter& out, const std::string& text) { out.Bytes(text); });
    }
  }
  w.U64(partials_total);
  w.Bool(reorder != nullptr);
  if (reorder) {
    reorder->Save(w, [](runtime::SnapshotWriter& out, const Pending& p) { out.Bytes(p.json); });
  }
}

bool Engine::Impl::LoadState(runtime::SnapshotReader& r) {
  if (!r.U64(arrival) || !r.U64(pushed) || !r.I64(released_watermark) ||
      !r.I64(operator_watermark) || !r.U64(normalizer_strings_truncated)) {
    return false;
  }
  for (uint64_t* c : EngineCounterFields(stats)) {
    if (!r.U64(*c)) return false;
  }
  io::JsonProjector::Counters limits;
  uint64_t count = 0;
  if (!r.U64(limits.too_deep) || !r.U64(limits.too_many_values) ||
      !r.U64(limits.strings_truncated) || !r.Count(count, 5)) {
    return false;
  }
  restored_sources.clear();
  for (uint64_t i = 0; i < count; ++i) {
    EngineStats::SourceCounts c;
    if (!r.Bytes(c.source) || !r.U64(c.records) || !r.U64(c.normalized) ||
        !r.U64(c.passed_through) || !r.U64(c.unrecognized)) {
      return false;
    }
    restored_sources.push_back(std::move(c));
  }
  std::string normalizer_state;
  if (!r.Bytes(normalizer_state)) return false;
  if (normalizer) {
    if (!normalizer->LoadState(normalizer_state).ok()) {
      return r.Fail("the normalizer's state (it does not load)");
    }
  } else if (!normalizer_state.empty()) {
    return r.Fail("the normalizer's state (this engine has none)");
  }
  if (!r.U64(count)) return false;
  if (count != compiled.size()) return r.Fail("the rules' states (another number of rules)");
  for (auto& rule : compiled) {
    bool present = false;
    if (!r.Bool(present)) return false;
    if (present != (rule != nullptr)) return r.Fail("a rule's state (compiled differently)");
    if (!rule) continue;
    if (!r.U64(rule->alerts) || !r.U64(rule->live_seen)) return false;
    bool ok = true;
    if (rule->sequence) {
      ok = rule->sequence->Load(r);
    } else if (rule->sample) {
      ok = rule->sample->Load(r);
    } else {
      ok = rule->event_pipes.Load(
          r, [](runtime::SnapshotReader& in, std::string& text) { return in.Bytes(text); });
    }
    if (!ok) return false;
  }
  advancing_rules.clear();
  for (uint32_t rule : sequence_rules) {
    compiled[rule]->advancing = false;
    Advancing(rule);
    KeepInFlight(rule);
  }
  for (uint32_t rule = 0; rule < compiled.size(); ++rule) {
    if (compiled[rule]) RuleFinished(rule);
  }
  bool has_reorder = false;
  if (!r.U64(partials_total) || !r.Bool(has_reorder)) return false;
  if (has_reorder != (reorder != nullptr)) return r.Fail("the reorder stage (another mode)");
  if (reorder && !reorder->Load(r, [&](runtime::SnapshotReader& in, const Ordinal&, Pending& p) {
        if (!in.Bytes(p.json)) return false;
        // The record is projected again from the text; the projector's
        // counters of this second pass are not counted (see below).
        if (!projector->Project(p.json, p.record).ok()) {
          return in.Fail("an event held for reordering (it does not parse)");
        }
        if (units_matched_elsewhere) {
          // The units it meets are a function of the record: found again.
          ruleset::MatchedUnits found;
          MatchUnits(p.record, found);
          p.matched = std::move(found.units);
        }
        return true;
      })) {
    return false;
  }
  // The projector counted the held events again: report what the snapshot says.
  const io::JsonProjector::Counters& again = projector->counters();
  auto minus = [](uint64_t a, uint64_t b) { return a > b ? a - b : 0; };
  restored_limits.too_deep = minus(limits.too_deep, again.too_deep);
  restored_limits.too_many_values = minus(limits.too_many_values, again.too_many_values);
  restored_limits.strings_truncated = minus(limits.strings_truncated, again.strings_truncated);
  return true;
}

void Engine::Impl::SaveQueued(runtime::SnapshotWriter& w) const {
  w.U64(queued.size());
  for (const Alert& a : queued) {
    w.U64(a.rule_index);
    w.Bool(a.correlation);
    w.U64(a.join_keys.size());
    for (const std::string& k : a.join_keys) w.Bytes(k);
    w.U64(a.events.size());
    for (const AlertEvent& e : a.events) {
      w.Bool(e.missing);
      w.Bytes(e.json);
    }
  }
}

bool Engine::Impl::LoadQueued(runtime::SnapshotReader& r) {
  uint64_t count = 0;
  if (!r.Count(count, 4)) return false;
  queued.clear();
  for (uint64_t i = 0; i < count; ++i) {
    Alert a;
    uint64_t rule = 0, n = 0;
    if (!r.Bounded(rule, rules.empty() ? 0 : rules.size() - 1, "a queued alert (no such rule)") ||
        rules.empty() || !r.Bool(a.correlation) || !r.Count(n)) {
      return r.ok() ? r.Fail("a queued alert (no rules)") : false;
    }
    a.rule_index = rule;
    a.rule = &rules[rule];
    a.join_keys.resize(n);
    for (std::string& k : a.join_keys) {
      if (!r.Bytes(k)) return false;
    }
    if (!r.Count(n, 2)) return false;
    a.events.resize(n);
    for (AlertEvent& e : a.events) {
      if (!r.Bool(e.missing) || !r.Bytes(e.json)) return false;
    }
    queued.push_back(std::move(a));
  }
  return true;
}

absl::StatusOr<std::string> Engine::Checkpoint() {
  Impl& e = *impl_;
  runtime::SnapshotWriter w;
  e.SaveFingerprint(w);
  if (e.parallel) {
    e.parallel->Save(w);  // runs the buffered events first: alerts may arrive here
    w.U64(e.pushed);
    w.U64(e.stats.alerts_dropped);
  } else {
    e.SaveState(w);
  }
  e.SaveQueued(w);
  const std::string payload = w.Finish();
  std::string out;
  out.reserve(kSnapshotHeaderBytes + payload.size() + kSnapshotTrailerBytes);
  out += kSnapshotMagic;
  PutLittleEndian(out, kSnapshotVersion, 4);
  PutLittleEndian(out, payload.size(), 8);
  out += payload;
  PutLittleEndian(out, Crc32(out), 4);
  return out;
}

absl::Status Engine::Restore(std::string_view snapshot) {
  if (snapshot.size() < kSnapshotHeaderBytes + kSnapshotTrailerBytes ||
      snapshot.substr(0, kSnapshotMagic.size()) != kSnapshotMagic) {
    return absl::InvalidArgumentError("not a libeql snapshot (it does not start with LIBEQL-S)");
  }
  const uint64_t version = GetLittleEndian(snapshot, 8, 4);
  if (version != kSnapshotVersion) {
    return absl::InvalidArgumentError(absl::StrCat("snapshot format version ", version,
                                                   " is not supported (this libeql reads version ",
                                                   kSnapshotVersion, ")"));
  }
  const uint64_t length = GetLittleEndian(snapshot, 12, 8);
  const size_t available = snapshot.size() - kSnapshotHeaderBytes - kSnapshotTrailerBytes;
  if (length != available) {
    return absl::DataLossError(absl::StrCat("snapshot is corrupt: it says ", length,
                                            " bytes of state, and holds ", available,
                                            length > available ? " (truncated?)" : ""));
  }
  const size_t body_end = kSnapshotHeaderBytes + length;
  const uint64_t stored_crc = GetLittleEndian(snapshot, body_end, 4);
  if (stored_crc != Crc32(snapshot.substr(0, body_end))) {
    return absl::DataLossError("snapshot is corrupt: checksum mismatch");
  }
  runtime::SnapshotReader r(snapshot.substr(kSnapshotHeaderBytes, length));
  if (!r.Start()) return r.status();
  if (absl::Status s = impl_->CheckFingerprint(r); !s.ok()) return s;

  // The state goes into a fresh engine, which replaces this one's only if
  // the whole snapshot loads: on error this engine is unchanged.
  auto fresh = Create(impl_->rules, impl_->options);
  if (!fresh.ok()) return fresh.status();
  Impl& f = *(*fresh)->impl_;
  // Alerts point at the rules: keep this engine's (alerts delivered before
  // the restore stay valid), and make the fresh engine point at them too.
  std::swap(f.rules, impl_->rules);
  bool ok = false;
  if (f.parallel) {
    ok = f.parallel->Load(r) && r.U64(f.pushed) && r.U64(f.stats.alerts_dropped) &&
         f.LoadQueued(r);
  } else {
    ok = f.LoadState(r) && f.LoadQueued(r);
  }
  if (ok && !r.at_end()) ok = r.Fail("the end of the state (bytes follow it)");
  if (!ok) {
    std::swap(f.rules, impl_->rules);
    return r.status();
  }
  f.callback = std::move(impl_->callback);
  f.error_callback = std::move(impl_->error_callback);
  std::swap(impl_, (*fresh)->impl_);
  return absl::OkStatus();
}

std::vector<std::string> EngineStats::LimitReport() const {
  std::vector<std::string> lines;
  auto say = [&](uint64_t n, const char* what) {
    if (n > 0) lines.push_back(absl::StrCat(n, " ", what));
  };
  say(events_too_deep,
      "events were nested deeper than max_json_depth and were rejected (--max-json-depth)");
  say(events_too_many_values,
      "events had more values in the rules' fields than max_event_values and were rejected "
      "(--max-event-values)");
  say(events_time_out_of_range,
      "events had a timestamp outside the years 0000-9999 or further ahead of the system clock "
      "than max_future_ms, and were rejected (--max-future)");
  say(strings_truncated,
      "strings were longer than max_string_bytes; the rules compared their first "
      "max_string_bytes bytes (--max-string-bytes)");
  say(join_keys_over_limit,
      "stage matches were dropped: their multi-valued `by` fields expanded to more than "
      "max_join_keys_per_event join keys (--max-join-keys)");
  say(partials_evicted - partials_evicted_total_cap,
      "partial sequences were evicted at the cap per rule (--max-partials)");
  say(partials_evicted_total_cap,
      "partial sequences were evicted at the cap over all rules (--max-partials-total)");
  say(alerts_dropped,
      "alerts were dropped: more than max_alerts_queued were waiting for TakeAlerts()");
  return lines;
}

}  // namespace eql

// ----- ShardAccess: what the parallel runner needs of a shard ---------------

namespace eql::ruleset {

absl::Status ShardAccess::Prepare(Engine& shard, std::string_view json, PreparedEvent& out) {
  Engine::Impl& e = *shard.impl_;
  out.has_normalized = false;
  if (!e.normalizer) return e.ProjectText(json, /*padded=*/true, out.record);
  absl::Status status = e.Admit(json);
  if (!status.ok()) return status;
  // The whole ECS event is made here: it must outlive the normalizer's
  // next record, as the shard runs the rules on it later.
  status = e.normalizer->Normalize(json, out.normalized);
  if (status.ok()) {
    out.normalized.Set("event.original", std::string(json));
    status = e.projector->Project(out.normalized, out.record);
    out.has_normalized = true;
  }
  if (!status.ok()) ++e.stats.events_malformed;
  return status;
}

absl::Status ShardAccess::Ingest(Engine& shard, PreparedEvent& event, std::string_view json) {
  Engine::Impl& e = *shard.impl_;
  MatchedUnits* matched = e.units_matched_elsewhere ? &event.matched : nullptr;
  return event.has_normalized ? e.Ingest(event.record, {}, &event.normalized, matched)
                              : e.Ingest(event.record, json, nullptr, matched);
}

void ShardAccess::MatchUnits(Engine& matcher, PreparedEvent& event) {
  matcher.impl_->MatchUnits(event.record, event.matched);
}

void ShardAccess::TakeMatchedUnits(Engine& shard) { shard.impl_->units_matched_elsewhere = true; }

void ShardAccess::Restrict(Engine& shard, const std::vector<bool>& active, bool match_all) {
  Engine::Impl& e = *shard.impl_;
  auto on = [&](uint32_t rule) { return rule < active.size() && active[rule]; };
  e.unit_runs.assign(e.units.size(), 0);
  for (uint32_t id = 0; id < e.units.size(); ++id) e.unit_runs[id] = on(e.units[id].rule) ? 1 : 0;
  if (!match_all) {
    e.dispatcher = Dispatcher(e.options.literal_prefilter);
    for (uint32_t id = 0; id < e.units.size(); ++id) {
      const Unit& u = e.units[id];
      if (on(u.rule)) {
        e.dispatcher.Add(id, u.query.is_any, u.query.category, u.query.where.program.get(),
                         e.fields);
      }
    }
    e.ResetVerdictLists();  // the tables' ids are the new dispatcher's
  }
  std::erase_if(e.sequence_rules, [&](uint32_t r) { return !on(r); });
  std::erase_if(e.sample_rules, [&](uint32_t r) { return !on(r); });
}

RuleKeyShape ShardAccess::KeyShape(const Engine& engine, size_t rule) {
  RuleKeyShape shape;
  const auto& compiled = engine.impl_->compiled;
  if (rule >= compiled.size() || !compiled[rule]) return shape;
  const CompiledRule& r = *compiled[rule];
  shape.correlation = r.kind != ast::QueryKind::kEvent;
  auto add = [&](const KeyPlan& plan) {
    std::vector<std::optional<io::FieldId>> fields;
    for (const analysis::CompiledKey& k : plan.keys) {
      fields.push_back(k.is_field ? std::optional<io::FieldId>(k.field) : std::nullopt);
    }
    shape.stages.push_back(std::move(fields));
  };
  for (const KeyPlan& plan : r.stage_keys) add(plan);
  if (!r.until_keys.keys.empty()) add(r.until_keys);
  return shape;
}

bool ShardAccess::Compiled(const Engine& engine, size_t rule) {
  const auto& compiled = engine.impl_->compiled;
  return rule < compiled.size() && compiled[rule] != nullptr;
}

const io::FieldRegistry& ShardAccess::Fields(const Engine& engine) { return engine.impl_->fields; }

bool ShardAccess::Reorders(const Engine& engine) { return engine.impl_->reorder != nullptr; }

bool ShardAccess::StatefulSource(const Engine& engine) {
  return engine.impl_->normalizer != nullptr && engine.impl_->normalizer->stateful();
}

void ShardAccess::Save(const Engine& shard, runtime::SnapshotWriter& w) {
  shard.impl_->SaveState(w);
  shard.impl_->SaveQueued(w);
}

bool ShardAccess::Load(Engine& shard, runtime::SnapshotReader& r) {
  return shard.impl_->LoadState(r) && shard.impl_->LoadQueued(r);
}

}  // namespace eql::ruleset
