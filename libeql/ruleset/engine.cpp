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
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "analysis/compile.hpp"
#include "eql/sources.hpp"
#include "expr/eval.hpp"
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
#include "ruleset/dispatch.hpp"
#include "syntax/parse.hpp"

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
};

// A unit is what the dispatcher evaluates: one condition with a category.
struct Unit {
  uint32_t rule = 0;
  enum class Role : uint8_t { kEvent, kStage, kUntil } role = Role::kEvent;
  uint32_t stage = 0;  // written stage index for kStage
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
  // Per-event scratch: the hits collected by the dispatcher.
  std::vector<runtime::StageHit> hits;
  std::vector<JoinKey> until_hits;
  bool touched = false;
};

// A reorder-buffer entry: what is kept of an event until its turn.
struct Pending {
  io::Record record;
  std::string json;
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
  std::vector<uint32_t> sequence_rules;
  std::vector<uint32_t> sample_rules;

  io::FieldRegistry fields;
  std::optional<io::FieldId> timestamp_field;
  std::optional<io::FieldId> tiebreaker_field;
  io::FieldId category_field = 0;
  std::unique_ptr<io::JsonProjector> projector;
  io::Record scratch_record;
  std::unique_ptr<SourceNormalizer> normalizer;  // null for "ecs"
  Event scratch_event;                           // a normalized record

  std::unique_ptr<runtime::ReorderBuffer<Pending>> reorder;
  uint64_t arrival = 0;
  int64_t released_watermark = INT64_MIN;  // highest time released so far
  int64_t operator_watermark = INT64_MIN;  // last AdvanceWatermark given

  AlertCallback callback;
  std::vector<Alert> queued;
  EngineStats stats;

  // Per-event scratch.
  std::vector<uint32_t> candidate_units;
  std::vector<uint32_t> touched_rules;
  std::vector<std::vector<KeyValue>> key_positions;
  std::vector<io::Scalar> key_scratch;

  void Deliver(Alert&& alert) {
    ++stats.alerts;
    if (callback) {
      callback(alert);
    } else {
      queued.push_back(std::move(alert));
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
  // `json` is the event's text; for a builder event (`event` set) it is
  // empty and rendered only if an alert or a partial needs it.
  absl::Status Ingest(io::Record& record, std::string_view json, const Event* event);
  void Process(const io::Record& record, std::string_view json, const Ordinal& ordinal,
               const Event* event = nullptr);
  void AdvanceOperators(int64_t ts, bool force);
  void FlushAll();
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

void Engine::Impl::AdvanceOperators(int64_t ts, bool force) {
  // Expiry and trailing-missing decisions need only coarse time: advancing
  // every operator on every event would cost O(rules) per event.
  if (!force && ts < operator_watermark + 100) return;
  if (ts <= operator_watermark) return;
  operator_watermark = ts;
  for (uint32_t r : sequence_rules) {
    CompiledRule& rule = *compiled[r];
    RuleSink sink(this, r);
    rule.sequence->AdvanceWatermark(ts, sink);
  }
}

void Engine::Impl::Process(const io::Record& record, std::string_view json, const Ordinal& ordinal,
                           const Event* event) {
  std::string rendered;  // a builder event's JSON, made on first need
  auto text = [&]() -> std::string_view {
    if (event != nullptr && rendered.empty()) rendered = event->ToJson();
    return event != nullptr ? std::string_view(rendered) : json;
  };
  ++stats.events_processed;
  // Dispatch: the units whose category the event has (exact, as
  // `category_field == "process"`), plus `any` units, narrowed by their
  // literal anchors (ruleset/dispatch.hpp), in unit order (= rule order, then
  // stage order). The index does the category test, so only the where
  // clause is evaluated.
  dispatcher.Candidates(record, category_field, candidate_units);

  EventHandle handle;  // made once, only if some operator keeps the event
  auto retain = [&]() -> const EventHandle& {
    if (!handle) {
      handle = std::make_shared<const runtime::RetainedEvent>(
          runtime::RetainedEvent{ordinal, std::string(text())});
    }
    return handle;
  };

  touched_rules.clear();
  for (uint32_t id : candidate_units) {
    const Unit& u = units[id];
    CompiledRule& rule = *compiled[u.rule];
    if (u.role == Unit::Role::kEvent) {
      if (rule.event_pipes.done()) continue;
      if (!expr::Matches(u.query.where, record)) continue;
      rule.event_pipes.Offer(std::string(text()), [&](std::string&& alert_text) {
        Alert alert;
        alert.rule_index = u.rule;
        alert.rule = &rules[u.rule];
        alert.events.push_back({.json = std::move(alert_text), .missing = false});
        ++rule.alerts;
        Deliver(std::move(alert));
      });
      continue;
    }
    if (rule.sequence && rule.sequence->done()) continue;
    if (!expr::Matches(u.query.where, record)) continue;
    const KeyPlan& plan = u.role == Unit::Role::kUntil ? rule.until_keys : rule.stage_keys[u.stage];
    std::vector<JoinKey> keys;
    if (!ExpandKeys(plan, record, key_positions, key_scratch, keys)) continue;
    if (!rule.touched) {
      rule.touched = true;
      touched_rules.push_back(u.rule);
    }
    if (u.role == Unit::Role::kUntil) {
      for (auto& k : keys) rule.until_hits.push_back(std::move(k));
    } else {
      rule.hits.push_back({u.stage, std::move(keys)});
    }
  }

  for (uint32_t r : touched_rules) {
    CompiledRule& rule = *compiled[r];
    rule.touched = false;
    if (rule.sequence) {
      RuleSink sink(this, r);
      rule.sequence->OnEvent(retain(), rule.hits, rule.until_hits, sink);
    } else if (rule.sample) {
      RuleSink sink(this, r);
      rule.sample->OnEvent(retain(), rule.hits, sink);
    }
    rule.hits.clear();
    rule.until_hits.clear();
  }
  AdvanceOperators(ordinal.timestamp_ms, false);
}

absl::Status Engine::Impl::Ingest(io::Record& record, std::string_view json, const Event* event) {
  // Time and tiebreaker give the event its place in the order.
  int64_t ts = 0;
  if (timestamp_field) {
    std::optional<int64_t> t = io::TimestampMillis(record.Get(*timestamp_field));
    if (!t) {
      ++stats.events_no_timestamp;
      return absl::InvalidArgumentError(
          absl::StrCat("no usable timestamp in field ", options.timestamp_field));
    }
    ts = *t;
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
    Process(record, json, ordinal, event);
    return absl::OkStatus();
  }
  // The reorder stage keeps the text: a builder event is rendered now.
  Pending pending{std::move(record), event != nullptr ? event->ToJson() : std::string(json)};
  reorder->Push(ts, std::move(ordinal.tiebreaker), std::move(pending),
                [&](const Ordinal& o, Pending&& p, bool /*late*/) {
                  released_watermark = std::max(released_watermark, o.timestamp_ms);
                  Process(p.record, p.json, o);
                });
  return absl::OkStatus();
}

absl::Status Engine::Impl::PushText(std::string_view json, bool padded) {
  ++stats.events_in;
  if (json.size() > options.max_event_bytes) {
    ++stats.events_malformed;
    return absl::ResourceExhaustedError(absl::StrCat(
        "event of ", json.size(), " bytes is over the limit of ", options.max_event_bytes));
  }
  if (normalizer) {
    // Another source's record: to ECS first, keeping its text as ECS's
    // event.original so that the alert still shows what came in.
    absl::Status status = normalizer->Normalize(json, scratch_event);
    if (!status.ok()) {
      ++stats.events_malformed;
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
  absl::Status status = padded ? projector->ProjectPadded(json, scratch_record)
                               : projector->Project(json, scratch_record);
  if (!status.ok()) {
    ++stats.events_malformed;
    return status;
  }
  return Ingest(scratch_record, json, nullptr);
}

void Engine::Impl::FlushAll() {
  if (reorder) {
    reorder->Flush([&](const Ordinal& o, Pending&& p, bool /*late*/) {
      released_watermark = std::max(released_watermark, o.timestamp_ms);
      Process(p.record, p.json, o);
    });
  }
  for (size_t r = 0; r < compiled.size(); ++r) {
    if (!compiled[r]) continue;
    CompiledRule& rule = *compiled[r];
    const uint32_t index = static_cast<uint32_t>(r);
    if (rule.sequence) {
      RuleSink sink(this, index);
      rule.sequence->Flush(sink);
    } else if (rule.sample) {
      RuleSink sink(this, index);
      rule.sample->Flush(sink);
    } else {
      rule.event_pipes.Flush([&](std::string&& text) {
        Alert alert;
        alert.rule_index = index;
        alert.rule = &rules[index];
        alert.events.push_back({.json = std::move(text), .missing = false});
        ++rule.alerts;
        Deliver(std::move(alert));
      });
    }
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
  impl->projector = std::make_unique<io::JsonProjector>(impl->fields);
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

void Engine::SetAlertCallback(AlertCallback callback) { impl_->callback = std::move(callback); }

std::vector<Alert> Engine::TakeAlerts() { return std::exchange(impl_->queued, {}); }

absl::Status Engine::PushJson(std::string_view json) { return impl_->PushText(json, false); }

absl::Status Engine::PushJsonPadded(std::string_view json) {
  static_assert(kJsonPadding >= io::JsonProjector::kPadding);
  return impl_->PushText(json, true);
}

absl::Status Engine::Push(const Event& event) {
  Impl& e = *impl_;
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

void Engine::Flush() {
  impl_->FlushAll();
  impl_->AdvanceOperators(impl_->released_watermark, true);
}

EngineStats Engine::stats() const {
  EngineStats s = impl_->stats;
  if (impl_->reorder) s.events_late += impl_->reorder->counters().late;
  if (impl_->normalizer) {
    for (const auto& [name, c] : impl_->normalizer->Stats()) {
      s.sources.push_back({name, c.records, c.normalized, c.passed_through, c.unrecognized});
    }
  }
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
    }
    s.partials_live += rs.partials_live;
    s.partials_expired += rs.partials_expired;
    s.partials_evicted += rs.partials_evicted;
  }
  return s;
}

}  // namespace eql
