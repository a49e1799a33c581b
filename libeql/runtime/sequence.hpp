// libeql/runtime/sequence.hpp
//
// The sequence join operator: Elasticsearch's sequence matcher
// (SequenceMatcher + TumblingWindow, SEMANTICS §2) run over a stream in one
// pass. The operator does not evaluate conditions; for each event, in order,
// the caller says which query stages matched and under which join keys, and
// whether the event is an `until` event and for which keys.
//
// Example (`sequence by host.id with maxspan=10s [a] [b]`):
//   SequenceSpec spec;
//   spec.stages = {{}, {}};
//   spec.maxspan_ms = 10'000;
//   spec.key_count = 1;
//   auto op = SequenceOperator::Create(spec);           // StatusOr
//   CollectingSink sink;
//   StageHit hit{0, {JoinKey{KeyValue("host-1")}}};
//   (*op)->OnEvent(MakeEvent(1000, KeyValue(), 1), {&hit, 1}, {}, sink);
//   ...
//   (*op)->Flush(sink);                                  // sink.alerts
//
// Order contract:
// - Events must be given in (timestamp, tiebreaker, arrival) order — put a
//   ReorderBuffer in front of a stream. An event older than one already given
//   is processed as it comes (it can only join partials it is strictly later
//   than), and counted in `events_out_of_order`.
// - Results leave in Elasticsearch's order: by the ordinal of the last
//   positive event, ties by join key (CompareKeys). This holds in streaming
//   too: a result waits behind any earlier result whose trailing missing
//   stage is undecided, so with trailing `![..]` stages results are delayed
//   by at most maxspan. In batch (all events then Flush) the output is
//   exactly what Elasticsearch returns.
// - In a stream, call AdvanceWatermark(reorder.watermark()) as the reorder
//   stage advances, so that partials expire and trailing missing stages are
//   decided even while no event reaches this operator.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/alert.hpp"
#include "runtime/key_value.hpp"
#include "runtime/pipe.hpp"
#include "runtime/snapshot.hpp"

namespace eql::runtime {

//! One stage of the query as written: `[..]` or `![..]`, and `with runs=N`.
struct SequenceStageSpec {
  bool missing = false;  //!< `![..]`: a missing-event stage
  uint32_t runs = 1;     //!< `with runs=N`, 1..100; the operator expands it
};

// SequenceSpec
//
// The shape of one sequence query. `stages` are the stages as written; the
// operator expands `runs` itself (a stage with runs=N becomes N consecutive
// stages matched by the same hits), so callers evaluate each written stage's
// condition once and report hits by its index.
struct SequenceSpec {
  std::vector<SequenceStageSpec> stages;
  std::optional<int64_t> maxspan_ms;  //!< inclusive; required with `![..]`
  bool has_until = false;
  //! Values per join key (`sequence by` keys plus the stage's own `by` keys).
  size_t key_count = 0;
  //! `| head N`, `| tail N`, in query order (`| head 4 | tail 2` is two).
  std::vector<PipeSpec> pipes;
  //! Cap on live partial sequences; at the cap the one with the oldest start
  //! is evicted and counted (`partials_evicted`). The same cap bounds the
  //! retained `until` markers and missing-stage hits (which otherwise expire
  //! with maxspan).
  uint64_t max_partials = 1'000'000;

  //! Checks the shape: at least one positive stage, runs in 1..100, a
  //! positive maxspan, maxspan present when a stage is missing.
  absl::Status Validate() const;
};

//! What the operator did; every partial that was created is accounted for:
//! created == live + completed + expired + evicted + until_killed + superseded
//! (+ those dropped when `head` finished, counted in `dropped_at_done`).
struct SequenceCounters {
  uint64_t events = 0;               //!< OnEvent calls
  uint64_t events_out_of_order = 0;  //!< older than an event already seen
  //! Hits ignored: stage index out of range or a key without key_count values.
  uint64_t hits_rejected = 0;
  uint64_t partials_live = 0;
  uint64_t partials_created = 0;
  uint64_t partials_completed = 0;  //!< reached the last positive stage
  uint64_t partials_expired = 0;    //!< maxspan passed (on advance or by time)
  uint64_t partials_evicted = 0;    //!< removed at the cap
  uint64_t partials_until_killed = 0;
  //! Replaced by a newer partial in the same (stage, key) bucket: Elasticsearch
  //! keeps only the newest (SEMANTICS §0, "latest partial wins").
  uint64_t partials_superseded = 0;
  uint64_t dropped_at_done = 0;       //!< state freed when `head N` finished
  uint64_t candidates_pending = 0;    //!< waiting for a missing-stage decision or order
  uint64_t candidates_discarded = 0;  //!< rejected by a missing-event stage
  uint64_t results = 0;               //!< passed to the pipe (before head/tail)
  uint64_t alerts = 0;                //!< delivered to the sink
  uint64_t untils_recorded = 0;
  uint64_t missing_hits_retained = 0;  //!< missing-stage hits kept for checks
  //! Forgotten at the cap (max_partials) before maxspan passed them.
  uint64_t missing_hits_evicted = 0;
};

// SequenceOperator
//
// State of one sequence query over one stream. Partials live in one
// Boost.MultiIndex container, indexed by (stage, join key) (hashed) and by
// creation order (sequenced), which with in-order events is start-time
// order: matching is a hash lookup, expiry and eviction pop the oldest in
// O(1). Memory per live partial is about 200-250 bytes plus the events it
// holds (bench/sequence).
//
// The operator owns its state rather than taking a separate state object
// (DuckDB style): one operator is one rule over one stream, and the state is
// the whole of it. Not thread-safe.
class SequenceOperator {
 public:
  static absl::StatusOr<std::unique_ptr<SequenceOperator>> Create(SequenceSpec spec);
  ~SequenceOperator();
  SequenceOperator(const SequenceOperator&) = delete;
  SequenceOperator& operator=(const SequenceOperator&) = delete;

  // SequenceOperator::OnEvent()
  //
  // One event, in order. `hits` are the written stages it matches (positive
  // or missing); `until_keys` the keys under which it matches the `until`
  // clause (empty if none). Results that become certain are sent to `out`.
  // The event's timestamp also advances the watermark.
  void OnEvent(const EventHandle& event, std::span<const StageHit> hits,
               std::span<const JoinKey> until_keys, AlertSink& out);

  // SequenceOperator::AdvanceWatermark()
  //
  // No event with a timestamp below `ts_ms` will come. Expires partials older
  // than maxspan and decides candidates whose trailing missing stage can no
  // longer be matched within maxspan.
  void AdvanceWatermark(int64_t ts_ms, AlertSink& out);

  // SequenceOperator::Flush()
  //
  // End of input: decides every pending candidate (no later events will
  // come), delivers them, then delivers `tail N`. Partials are kept, so more
  // events may follow (a later result is then ordered after these).
  void Flush(AlertSink& out);

  // SequenceOperator::EvictOldest()
  //
  // Evicts up to `n` live partials, oldest start first, counted in
  // `partials_evicted` (the engine's cap over all rules); returns how many.
  uint64_t EvictOldest(uint64_t n);

  // SequenceOperator::Save() / Load()
  //
  // Checkpoint (Engine::Checkpoint): live partials, until markers,
  // missing-stage hits, candidates waiting for a decision, head/tail state,
  // watermark and counters. Load() restores into a fresh operator created
  // from the same spec; on a corrupt or mismatching snapshot it returns false
  // with the reason in `r` (the operator must then be discarded).
  //! `watermark_floor`: the caller's watermark, saved when it is ahead of
  //! the operator's (an idle operator is not advanced, see Idle()).
  void Save(SnapshotWriter& w, int64_t watermark_floor = INT64_MIN) const;
  bool Load(SnapshotReader& r);

  //! Nothing waits for time: no live partial, until marker, missing-stage
  //! hit or undecided candidate. AdvanceWatermark() would then only move the
  //! watermark, which the next OnEvent() moves itself; so an engine with
  //! hundreds of sequence rules advances only the ones that are not idle.
  bool Idle() const;
  //! `head N` has delivered N results; further events are ignored.
  bool done() const;
  const SequenceCounters& counters() const;
  const SequenceSpec& spec() const;
  //! Number of stages after `runs` expansion (= events per alert).
  size_t expanded_stage_count() const;
  //! One-line description for EXPLAIN output.
  std::string Explain() const;

 private:
  struct State;
  explicit SequenceOperator(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace eql::runtime
