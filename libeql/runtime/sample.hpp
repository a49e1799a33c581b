// libeql/runtime/sample.hpp
//
// The sample operator: `sample by k [a] [b] ...` (SEMANTICS §1.6). Unordered
// correlation: for each join key, one event per filter, in any time order;
// no maxspan, runs or until. Like the sequence operator it does not evaluate
// conditions: it is given, per event, the filters it matches and the keys.
//
// What it returns, as Elasticsearch does (test_sample.toml):
// - per key at most `max_samples_per_key` samples (default 1);
// - a sample takes, filter by filter, the earliest event (in input order)
//   not already used by this key's samples: the events of a sample are
//   distinct (an event matching two filters fills only one), the choice is
//   the first in input order that completes the sample;
// - samples come out ordered by join key (CompareKeys: null first, strings
//   bytewise), as the composite aggregation over the keys orders them;
// - `head N` (the `size` of the request) and `tail N` apply to that order.
// Results are therefore only final at Flush(). With `eager`, a key's samples
// are emitted as soon as they can be formed from the events so far, in the
// order they complete; the chosen events can then differ from batch.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/alert.hpp"
#include "runtime/pipe.hpp"
#include "runtime/snapshot.hpp"

namespace eql::runtime {

struct SampleSpec {
  size_t stage_count = 0;  //!< filters, >= 2
  size_t key_count = 0;
  uint64_t max_samples_per_key = 1;
  std::vector<PipeSpec> pipes;
  //! Emit samples as they complete instead of at Flush (see above).
  bool eager = false;
  //! Cap on join keys held; at the cap the oldest key (first seen) is
  //! evicted and counted.
  uint64_t max_keys = 1'000'000;

  absl::Status Validate() const;
};

struct SampleCounters {
  uint64_t events = 0;
  //! Hits ignored: filter index out of range or a key without key_count values.
  uint64_t hits_rejected = 0;
  uint64_t keys_live = 0;
  uint64_t keys_evicted = 0;
  uint64_t candidates_retained = 0;  //!< events held over all keys and filters
  uint64_t samples = 0;              //!< formed (before head/tail)
  uint64_t alerts = 0;               //!< delivered
};

// SampleOperator
//
// Per key, per filter, the first few matching events: a sample needs at most
// stage_count * max_samples_per_key distinct events, so no more candidates
// than that are kept per filter. Not thread-safe.
class SampleOperator {
 public:
  static absl::StatusOr<std::unique_ptr<SampleOperator>> Create(SampleSpec spec);
  ~SampleOperator();
  SampleOperator(const SampleOperator&) = delete;
  SampleOperator& operator=(const SampleOperator&) = delete;

  //! One event and the filters it matches (`stage` = filter index).
  void OnEvent(const EventHandle& event, std::span<const StageHit> hits, AlertSink& out);
  //! End of input: forms the samples of every key in key order and delivers
  //! them through head/tail. Keys are then forgotten.
  void Flush(AlertSink& out);

  // SampleOperator::EvictOldest()
  //
  // Forgets up to `n` join keys, the longest-waiting first, counted in
  // `keys_evicted` (the engine's cap over all rules); returns how many.
  uint64_t EvictOldest(uint64_t n);

  // SampleOperator::Save() / Load()
  //
  // Checkpoint: the keys with their candidate events, eviction order,
  // head/tail state and counters. Load() restores into a fresh operator of
  // the same spec; false (reason in `r`) on a corrupt or mismatching snapshot.
  void Save(SnapshotWriter& w) const;
  bool Load(SnapshotReader& r);

  bool done() const;
  const SampleCounters& counters() const;
  std::string Explain() const;

 private:
  struct State;
  explicit SampleOperator(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace eql::runtime
