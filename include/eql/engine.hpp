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
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "eql/diagnostic.hpp"
#include "eql/event.hpp"

namespace eql {

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
  //! the oldest partial is evicted and counted.
  uint64_t max_partials_per_rule = 1'000'000;
  uint64_t max_partials_total = 10'000'000;
  //! Events larger than this are rejected as malformed.
  uint64_t max_event_bytes = 16 * 1024 * 1024;
  //! What the pushed JSON records are (eql/sources.hpp): "ecs" (as is),
  //! "sysmon", "winsec", "crowdstrike", "mde", "sentinelone" or "auto".
  //! Records of other sources are normalized to ECS before the rules see
  //! them; alerts then carry the ECS event, with the record's original text
  //! in `event.original`.
  std::string source = "ecs";
  //! Index rules by the literal values their conditions require (an event
  //! is then tested only against rules that can still match it). Off, every
  //! rule of the event's category is evaluated; the alerts are the same.
  //! For measurement and tests.
  bool literal_prefilter = true;
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

//! A rule that did not compile, and why.
struct RejectedRule {
  size_t rule_index = 0;
  std::vector<Diagnostic> diagnostics;
};

struct RuleStats {
  uint64_t alerts = 0;
  uint64_t partials_live = 0;
  uint64_t partials_created = 0;
  uint64_t partials_completed = 0;
  uint64_t partials_expired = 0;
  uint64_t partials_evicted = 0;
};

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
  std::vector<RuleStats> rules;   //!< one per rule given to Create()
  //! Per data source (non-"ecs" sources only): records seen, normalized
  //! process records, passed-through other records, unrecognized records.
  struct SourceCounts {
    std::string source;
    uint64_t records = 0, normalized = 0, passed_through = 0, unrecognized = 0;
  };
  std::vector<SourceCounts> sources;
};

class Engine {
 public:
  using AlertCallback = std::function<void(const Alert&)>;

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

  // Engine::Push()
  //
  // One event built with the C++ API.
  absl::Status Push(const Event& event);

  // Engine::Flush()
  //
  // End of input: releases the reorder stage, decides pending missing-event
  // stages, emits `tail` results. The engine can take events again after.
  void Flush();

  EngineStats stats() const;

 private:
  struct Impl;
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace eql
