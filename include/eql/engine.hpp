// File: eql/engine.hpp
//
// The engine runs a set of EQL rules over a stream of events in one pass.
// Events go in one at a time (as JSON text or built with eql::Event); alerts
// come out through a callback the moment they are certain. A rule that does
// not compile is rejected with diagnostics and the other rules still run.
//
// Example:
//   eql::EngineOptions options;
//   options.tiebreaker_field = "event.sequence";
//   auto engine = eql::Engine::Create({{.query = "process where process.name == \"node\""}},
//                                     options);
//   if (!engine.ok()) { ... engine.status() ... }
//   (*engine)->SetAlertCallback([](const eql::Alert& a) { puts(a.ToJson().c_str()); });
//   (*engine)->PushJson(R"({"@timestamp": 1, "event": {"category": "process"}, ...})");
//   (*engine)->Flush();
//
// Threading: an Engine is not thread-safe; use one per thread (or guard it).
// The callback runs on the thread that calls Push*/Flush.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "eql/diagnostic.hpp"
#include "eql/event.hpp"

namespace eql {

namespace io {
class FieldRegistry;
class Record;
}  // namespace io

//! One detection rule: the query and the metadata copied into its alerts.
struct Rule {
  std::string query;
  std::string name;      //!< defaults to "rule N" when empty
  std::string rule_id;
  std::string severity;
  double risk_score = 0;
  std::string origin;    //!< where it came from (file:line), for diagnostics
};

//! What to do with an event that arrives later than the allowed lateness.
enum class LatePolicy : uint8_t {
  kDrop,     //!< count it and drop it (default)
  kProcess,  //!< count it and process it at once, out of order
};

//! How an Engine reads events and what it may hold. The defaults read ECS
//! events as Elastic's integrations write them, streaming, with no wait for
//! out-of-order events and generous caps.
struct EngineOptions {
  std::string category_field = "event.category";
  //! Empty: events carry no time; they are ordered by arrival (sample
  //! queries need no time, as in Elasticsearch).
  std::string timestamp_field = "@timestamp";
  std::string tiebreaker_field;   //!< empty: order ties by arrival
  //! Batch mode: hold every event and process them sorted at Flush(), as
  //! Elasticsearch sees an index. Otherwise events are streamed through a
  //! reorder stage that waits `allowed_lateness_ms` for stragglers.
  bool batch = false;
  int64_t allowed_lateness_ms = 0;
  LatePolicy late_policy = LatePolicy::kDrop;
  //! Cap on live partial sequences per rule and over all rules; at the cap
  //! the oldest partial is evicted and counted. A sample's partials are its
  //! join keys still waiting for an event of some filter (a sample has no
  //! maxspan): they are capped per rule the same way. Over all rules, the rule
  //! whose new partial goes over the total evicts its own oldest, so that a
  //! flood on one rule cannot empty the others.
  uint64_t max_partials_per_rule = 1'000'000;
  uint64_t max_partials_total = 10'000'000;
  //! Events larger than this are rejected as malformed.
  uint64_t max_event_bytes = 16 * 1024 * 1024;
  //! Limits (docs/RELIABILITY.md). Each one hit is counted in EngineStats and
  //! described by EngineStats::LimitReport(); none of them is a crash.
  //! JSON nested deeper than this (objects and arrays) is rejected (1..4096).
  uint32_t max_json_depth = 256;
  //! Values one event may give the fields the rules read (each array element
  //! counts one); an event with more is rejected. Other members of the event
  //! are only parsed, bounded by max_event_bytes.
  uint64_t max_event_values = 100'000;
  //! Strings longer than this are cut to it (at a UTF-8 character boundary)
  //! before the rules compare them; the alert still carries the whole event.
  //! The timestamp, tiebreaker and category fields are never cut.
  uint64_t max_string_bytes = 1 << 20;
  //! Join keys one event may expand to in one stage (the cartesian product of
  //! multi-valued `by` fields); beyond it the event's hit on that stage is
  //! dropped and counted.
  uint64_t max_join_keys_per_event = 10'000;
  //! Alerts queued for TakeAlerts() when no callback is set; beyond it new
  //! alerts are dropped and counted.
  uint64_t max_alerts_queued = 1'000'000;
  //! Streaming only: an event stamped more than this ahead of the system
  //! clock is rejected (0: no check). Without the check one event from the
  //! far future would move the stream's time there: every partial with a
  //! maxspan would expire and every later event would be late.
  int64_t max_future_ms = 24 * 3600 * 1000;
  //! What the pushed JSON records are (eql/sources.hpp): "ecs" (as is),
  //! "sysmon", "winsec", "crowdstrike", "mde", "sentinelone" or "auto".
  //! Records of other sources are normalized to ECS before the rules see
  //! them; alerts then carry the ECS event, with the record's original text
  //! in `event.original`.
  std::string source = "ecs";
  //! Index rules by the literal values their conditions require (an event
  //! is then tested only against rules that can still match it), answer
  //! each leaf the rules share (`host.os.type == "windows"`) once per event,
  //! and skip a rule when a leaf it requires does not hold. Off, every rule
  //! of the event's category is evaluated on its own; the alerts are the
  //! same. For measurement and tests.
  bool literal_prefilter = true;
  //! Match the wildcard patterns over a field, across all the rules, in one
  //! pass: a Hyperscan literal automaton per field and case mode finds the
  //! patterns whose literal part occurs, and only those are tried (with the
  //! literal prefilter on). Off, each pattern set is tried by the simple loop
  //! (still once per event). The alerts are the same; docs/BENCHMARKS.md
  //! measures both.
  bool multi_pattern = false;
  //! Keep the answers of wildcard, regex and `in` tests across events, by
  //! the field's value (a few hundred recent values per field; a field whose
  //! values rarely repeat is bypassed): the same process name or command
  //! line is matched against the patterns once, not on every event (with
  //! the literal prefilter on). The alerts are the same; off for
  //! measurement.
  bool cache_answers = true;
  //! Threads to run the rules on (eql/engine.hpp's Engine runs them itself;
  //! the calling thread is one of them). Events are partitioned by
  //! `partition_field` (empty: chosen from the rules, see
  //! libeql/ruleset/parallel.hpp): sequences keyed on it are found exactly as
  //! with one thread; rules that cannot be split run whole on one thread.
  //! With threads > 1 events are worked on in chunks of 1024, which the
  //! other threads start on while the calling thread pushes the next chunk:
  //! a chunk's alerts and the errors of its malformed events
  //! (SetErrorCallback) come when the next chunk is full, or at Drain() or
  //! Flush().
  int threads = 1;
  std::string partition_field;
};

//! One event of an alert: its original JSON text, or a placeholder for a
//! missing-event stage of a sequence (`missing` is true, `json` empty).
struct AlertEvent {
  std::string json;
  bool missing = false;
};

//! A rule's hit. Owns all its data: it may be kept after the callback.
struct Alert {
  size_t rule_index = 0;  //!< index into the rules given to Create()
  const Rule* rule = nullptr;  //!< valid while the Engine lives
  //! Join keys of a sequence or sample, each as JSON text ("\"host-1\"",
  //! "42", "null"); empty for event queries and for sequences without `by`.
  std::vector<std::string> join_keys;
  //! True for sequence and sample alerts: their JSON always has "join_keys".
  bool correlation = false;
  std::vector<AlertEvent> events;

  // Alert::ToJson()
  //
  // The NDJSON line (no newline) of the alert format:
  // {"rule":{"name":..,"id":..,"severity":..,"risk_score":..},
  //  "join_keys":[..],"events":[{original event}|{"missing":true},..]}
  std::string ToJson() const;
};

//! What a rule's query uses (for summaries such as `eql-run --check`).
struct RuleFeatures {
  bool parsed = false;  //!< false: a syntax error (the rest is unset)
  enum class Kind : uint8_t { kEvent, kSequence, kSample } kind = Kind::kEvent;
  size_t stages = 0;             //!< 1 for an event query
  bool join_keys = false;        //!< `by` keys (shared or per stage)
  bool maxspan = false;
  bool until = false;
  bool missing_events = false;   //!< `![...]` stages
  bool runs = false;             //!< `with runs=N`
  bool pipes = false;            //!< `| head N`, `| tail N`
};

//! A rule that did not compile, and why.
struct RejectedRule {
  size_t rule_index = 0;
  std::vector<Diagnostic> diagnostics;
};

//! One rule's counters (EngineStats::rules[i] is rule i of Create()).
//! Partials are a sequence's partial matches, or a sample's join keys still
//! waiting for a filter; event queries have none.
struct RuleStats {
  uint64_t alerts = 0;
  uint64_t partials_live = 0;
  uint64_t partials_created = 0;
  uint64_t partials_completed = 0;
  uint64_t partials_expired = 0;
  uint64_t partials_evicted = 0;
};

//! The engine's counters, read with Engine::stats() (a copy: it does not
//! change afterwards). Every event pushed is counted in events_in, then
//! either reaches the rules (events_processed) or is rejected (malformed,
//! no_timestamp, time_out_of_range) or dropped as late; a late event that is
//! processed anyway (LatePolicy::kProcess) counts as late and processed.
struct EngineStats {
  uint64_t events_in = 0;         //!< events pushed
  uint64_t events_malformed = 0;  //!< rejected: bad JSON, too large, ...
  uint64_t events_no_timestamp = 0;
  uint64_t events_late = 0;       //!< arrived after the allowed lateness
  uint64_t events_processed = 0;  //!< reached the rules
  uint64_t alerts = 0;
  uint64_t partials_live = 0;
  uint64_t partials_expired = 0;
  uint64_t partials_evicted = 0;
  //! Limits hit (EngineOptions; LimitReport() says them in words).
  uint64_t events_too_deep = 0;          //!< over max_json_depth (also malformed)
  uint64_t events_too_many_values = 0;   //!< over max_event_values (also malformed)
  uint64_t events_time_out_of_range = 0; //!< before year 0 or after 9999, or
                                         //!< beyond max_future_ms
  uint64_t strings_truncated = 0;        //!< cut to max_string_bytes
  uint64_t join_keys_over_limit = 0;     //!< stage hits dropped: over max_join_keys_per_event
  uint64_t partials_evicted_total_cap = 0;  //!< of partials_evicted: at max_partials_total
  uint64_t alerts_dropped = 0;           //!< queue full (max_alerts_queued)
  //! The answer cache (EngineOptions::cache_answers), per event and field
  //! whose cached leaves were asked: its value was found, was added, was
  //! seen for the first time (a value is kept on its second sighting), or
  //! could not be cached (not all text, too long, the field bypassed).
  //! Counted since Create(); not saved with the state.
  struct AnswerCacheCounts {
    uint64_t found = 0, added = 0, first_seen = 0, skipped = 0;
  };
  AnswerCacheCounts answer_cache;
  //! Verdicts kept (with literal_prefilter and cache_answers): a unit ruled
  //! out by a guard on a field, for the event's value of the field (or its
  //! absence). From the next event with that value on, the unit is left out
  //! before its guards are read. Counted since Create(); not saved with the
  //! state.
  uint64_t verdicts_kept = 0;
  std::vector<RuleStats> rules;   //!< one per rule given to Create()
  //! Per data source (non-"ecs" sources only): records seen, normalized
  //! process records, passed-through other records, unrecognized records.
  struct SourceCounts {
    std::string source;
    uint64_t records = 0, normalized = 0, passed_through = 0, unrecognized = 0;
  };
  std::vector<SourceCounts> sources;

  // EngineStats::LimitReport()
  //
  // One line (no newline) per limit that was hit, saying how often, what was
  // lost and which option raises it; empty when none was.
  std::vector<std::string> LimitReport() const;
};

namespace ruleset {
class ShardAccess;
}

class Engine {
 public:
  using AlertCallback = std::function<void(const Alert&)>;
  //! An event rejected after its Push* call returned (threads > 1): `tag`
  //! is what was given to PushJsonPadded(json, tag), else the event's index
  //! (from 0) among the events pushed.
  using ErrorCallback = std::function<void(uint64_t tag, const absl::Status& error)>;

  // Engine::Create()
  //
  // Compiles the rules. Rules that fail are listed in rejected_rules() with
  // their diagnostics and skipped; the others run. Create() fails only when
  // the options are invalid.
  static absl::StatusOr<std::unique_ptr<Engine>> Create(std::vector<Rule> rules,
                                                        EngineOptions options = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  const std::vector<Rule>& rules() const;
  const std::vector<RejectedRule>& rejected_rules() const;
  //! What rules()[rule] uses; parsed is false when its query does not parse.
  RuleFeatures features(size_t rule) const;

  // Engine::SetAlertCallback()
  //
  // Alerts are delivered to `callback` as they become certain. Without a
  // callback they are queued and read with TakeAlerts().
  void SetAlertCallback(AlertCallback callback);
  std::vector<Alert> TakeAlerts();

  // Engine::PushJson()
  //
  // One event as a JSON object. A malformed event is counted and an error
  // status returned; the engine stays usable.
  absl::Status PushJson(std::string_view json);

  // Engine::PushJsonPadded()
  //
  // As PushJson(), without copying the text first: at least kJsonPadding
  // readable bytes (of any value) must follow `json` in memory, as they do
  // for EventReader's items.
  static constexpr size_t kJsonPadding = 64;
  absl::Status PushJsonPadded(std::string_view json);
  //! As PushJsonPadded(json), with a tag (a line number, say) that the
  //! error callback receives if the event is rejected later.
  absl::Status PushJsonPadded(std::string_view json, uint64_t tag);
  //! Several events: as PushJsonPadded(jsons[i], tags[i]) for each in order,
  //! its status in statuses[i] (the three of one size), except that all are
  //! parsed before the first is run through the rules. Taken a few dozen at
  //! a time, a rule pack's events keep the parser's code in the processor's
  //! caches while they are parsed, then the rules' code while they are run
  //! (together they do not fit in its first-level instruction cache).
  //! `jsons` must stay valid until the call returns.
  void PushJsonPadded(std::span<const std::string_view> jsons, std::span<const uint64_t> tags,
                      std::span<absl::Status> statuses);

  // Engine::SetErrorCallback()
  //
  // With threads > 1 an event is parsed after Push* returned OK; if it turns
  // out malformed, `callback` is called (on the thread that calls Push* or
  // Flush) with its tag and the error, and it is counted as malformed. With
  // one thread errors are returned by Push* and the callback is not used.
  void SetErrorCallback(ErrorCallback callback);

  // Engine::Push()
  //
  // One event built with the C++ API.
  absl::Status Push(const Event& event);

  // Engine::PushRecord()  (for language bindings; libeql/io/record.hpp)
  //
  // One event that the caller has projected itself into `record`, against
  // field_registry() (the fields the rules read, as a trie), with the
  // projectors' rules. Its text for alerts and partials comes from `render`,
  // called at most once and only if one of them needs it. The Python module
  // pushes dicts this way, converting only the members some rule reads.
  absl::Status PushRecord(io::Record& record, const std::function<std::string()>& render);
  const io::FieldRegistry& field_registry() const;

  // Engine::Drain()
  //
  // With threads > 1 events are worked on in chunks, after Push* returned:
  // Drain() runs the events pushed so far and delivers their alerts and
  // errors before it returns, without ending the stream (as Flush() does).
  // A caller whose input goes quiet calls it before it waits, so that
  // alerts are not held back for a chunk to fill (eql-run does when
  // EventReader::Ready() is false). With one thread every event is run when
  // it is pushed, and Drain() does nothing.
  void Drain();

  // Engine::Flush()
  //
  // End of input: releases the reorder stage, decides pending missing-event
  // stages, emits `tail` results. The engine can take events again after.
  void Flush();

  EngineStats stats() const;

  // Engine::Checkpoint()
  //
  // The engine's state as bytes, to survive a restart: live partial
  // sequences and sample keys, the events the reorder stage holds, pending
  // missing-event decisions, head/tail state, alerts queued for
  // TakeAlerts(), watermarks and every counter. The snapshot is framed with
  // a magic, a format version (kSnapshotVersion) and a CRC-32, and names the
  // rules and the options it was made with. Checkpoint() does not flush:
  // what is pending stays pending, so an engine restored from it and given
  // the rest of the stream raises exactly the alerts this one would have
  // raised, no more and no fewer. With threads > 1 the buffered events are
  // run first (their alerts are delivered before it returns).
  // Events are kept as their text: a snapshot's size is about that of the
  // events the state holds.
  static constexpr uint32_t kSnapshotVersion = 1;
  absl::StatusOr<std::string> Checkpoint();

  // Engine::Restore()
  //
  // Replaces the whole state of this engine with a snapshot's. The engine
  // must have been created with the same rules (the same queries, in the
  // same order) and the same options that shape state (category,
  // timestamp and tiebreaker fields, batch, allowed lateness and late
  // policy, source, threads and partition field); caps and limits may
  // differ. Errors: InvalidArgument for bytes that are not a libeql
  // snapshot or of an unsupported version, DataLoss for a corrupt one
  // (checksum, truncation), FailedPrecondition for one made with other
  // rules or options, each saying which. On error the engine is unchanged.
  // After a restore, Alert::rule pointers of earlier alerts stay valid;
  // references taken from rules(), rejected_rules() and field_registry()
  // before it must be taken again. The callbacks set are kept.
  absl::Status Restore(std::string_view snapshot);

 private:
  friend class ruleset::ShardAccess;
  struct Impl;
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace eql
