// libeql/runtime/alert.hpp
//
// What the correlation operators take in and give out: the per-event stage
// hits (computed by the caller from the query's conditions) and the results
// (a join key and one event per stage), delivered to an AlertSink.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "runtime/key_value.hpp"
#include "runtime/snapshot.hpp"

namespace eql::runtime {

// StageHit
//
// "This event matches written stage `stage` under these join keys." Used by
// the sequence and the sample operator. The caller has already expanded
// multi-valued key fields to the cartesian product of their distinct non-null
// values, removed duplicate keys, put null for an absent `?optional` key, and
// dropped the hit when a non-optional key is null. Every key has the
// operator's key_count values.
struct StageHit {
  uint32_t stage = 0;
  std::vector<JoinKey> keys;
};

//! A result: its join key and one event per stage (runs expanded for
//! sequences); a null handle for a missing-event stage.
struct JoinAlert {
  JoinKey key;
  std::vector<EventHandle> events;
};
using SequenceAlert = JoinAlert;
using SampleAlert = JoinAlert;

//! Checkpoint of a result held by an operator (a tail pipe, a pending
//! candidate). Load checks its shape: `key_count` values and `events`
//! events, null ones (missing-event stages) only if `nulls_allowed`.
inline void SaveJoinAlert(SnapshotWriter& w, const JoinAlert& a) {
  w.Join(a.key);
  w.U64(a.events.size());
  for (const EventHandle& e : a.events) w.Event(e);
}
inline bool LoadJoinAlert(SnapshotReader& r, JoinAlert& a, size_t events, size_t key_count,
                          bool nulls_allowed) {
  uint64_t n = 0;
  if (!r.Join(a.key) || !r.Count(n)) return false;
  if (a.key.size() != key_count || n != events) return r.Fail("a result (wrong shape)");
  a.events.resize(n);
  for (EventHandle& e : a.events) {
    if (!r.Event(e)) return false;
    if (e == nullptr && !nulls_allowed) return r.Fail("a result (an empty event)");
  }
  return true;
}

// AlertSink
//
// Receives results, synchronously from the operator's OnEvent /
// AdvanceWatermark / Flush, in output order.
class AlertSink {
 public:
  virtual ~AlertSink() = default;
  virtual void OnAlert(JoinAlert&& alert) = 0;
};

//! A sink that keeps everything (tests, batch callers).
class CollectingSink final : public AlertSink {
 public:
  void OnAlert(JoinAlert&& alert) override { alerts.push_back(std::move(alert)); }
  std::vector<JoinAlert> alerts;
};

//! A sink that forwards to a callable taking JoinAlert&&.
template <typename F>
class FunctionSink final : public AlertSink {
 public:
  explicit FunctionSink(F f) : f_(std::move(f)) {}
  void OnAlert(JoinAlert&& alert) override { f_(std::move(alert)); }

 private:
  F f_;
};

}  // namespace eql::runtime
