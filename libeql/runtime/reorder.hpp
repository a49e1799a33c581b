// libeql/runtime/reorder.hpp
//
// The reorder stage between the reader and the operators. Events arrive
// roughly in time order; the buffer holds each one until no on-time event
// can come before it, then releases them in (timestamp, tiebreaker, arrival)
// order — the order the sequence operator requires (SEMANTICS §2.3).
//
// - Streaming: `allowed_lateness_ms = L`. The watermark is the largest
//   timestamp seen minus L. An event is on time if its timestamp is at or
//   above the watermark; buffered events are released once their timestamp
//   is strictly below it (so equal timestamps are still sorted by
//   tiebreaker). An event below the watermark is late: counted, and by
//   policy dropped or released at once, out of order.
// - Batch: unbounded lateness. Nothing is released before Flush(), which
//   releases everything sorted: what Elasticsearch sees in an index.
//
// The payload type is the caller's (the engine's per-event record); it only
// needs to be movable.
//
// Example:
//   ReorderBuffer<Record> buf(ReorderOptions::Streaming(2'000));
//   buf.Push(ts, KeyValue(seq), std::move(record),
//            [&](const Ordinal& o, Record&& r, bool late) { ...op->OnEvent... });
//   op->AdvanceWatermark(buf.watermark(), sink);
//   ...
//   buf.Flush(release);
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "runtime/key_value.hpp"
#include "runtime/snapshot.hpp"

namespace eql::runtime {

//! What to do with an event that arrives later than the allowed lateness.
enum class LatePolicy : uint8_t {
  kDrop,     //!< count it and drop it
  kProcess,  //!< count it and release it at once, out of order
};

struct ReorderOptions {
  //! nullopt: batch mode (unbounded lateness, release at Flush).
  std::optional<int64_t> allowed_lateness_ms = 0;
  LatePolicy late_policy = LatePolicy::kDrop;

  static ReorderOptions Batch() { return {std::nullopt, LatePolicy::kDrop}; }
  static ReorderOptions Streaming(int64_t lateness_ms, LatePolicy p = LatePolicy::kDrop) {
    return {lateness_ms, p};
  }
};

struct ReorderCounters {
  uint64_t pushed = 0;
  uint64_t released = 0;       //!< in order
  uint64_t late = 0;           //!< below the watermark on arrival
  uint64_t late_dropped = 0;   //!< late and dropped (kDrop)
  uint64_t late_released = 0;  //!< late and released out of order (kProcess)
  uint64_t buffered = 0;       //!< held now
  uint64_t max_buffered = 0;
};

// ReorderBuffer<T>
//
// A min-heap on Ordinal. Push and release are O(log n) per event.
template <typename T>
class ReorderBuffer {
 public:
  explicit ReorderBuffer(ReorderOptions options = {}) : options_(options) {}

  // ReorderBuffer::Push()
  //
  // Adds an event, numbering it with the next arrival, and releases what the
  // new watermark allows: `release(const Ordinal&, T&&, bool late)` is called
  // for each released event, in order (a late event under kProcess is
  // released at once with late = true).
  template <typename Release>
  void Push(int64_t ts_ms, KeyValue tiebreaker, T payload, Release&& release) {
    ++counters_.pushed;
    Entry e{Ordinal{ts_ms, std::move(tiebreaker), next_arrival_++}, std::move(payload)};
    const bool late = ts_ms < watermark_ || (last_released_ && e.ordinal < *last_released_);
    if (late) {
      ++counters_.late;
      if (options_.late_policy == LatePolicy::kDrop) {
        ++counters_.late_dropped;
      } else {
        ++counters_.late_released;
        release(static_cast<const Ordinal&>(e.ordinal), std::move(e.payload), true);
      }
      return;
    }
    heap_.push_back(std::move(e));
    std::push_heap(heap_.begin(), heap_.end(), Later{});
    counters_.buffered = heap_.size();
    counters_.max_buffered = std::max<uint64_t>(counters_.max_buffered, heap_.size());
    if (!options_.allowed_lateness_ms) return;  // batch: wait for Flush
    if (ts_ms > max_ts_) {
      max_ts_ = ts_ms;
      const int64_t lateness = *options_.allowed_lateness_ms;
      watermark_ = max_ts_ < std::numeric_limits<int64_t>::min() + lateness
                       ? std::numeric_limits<int64_t>::min()
                       : max_ts_ - lateness;
    }
    ReleaseWhile([&](const Entry& top) { return top.ordinal.timestamp_ms < watermark_; }, release);
  }

  // ReorderBuffer::Flush()
  //
  // End of input: releases everything held, in order. In batch mode the
  // buffer starts a fresh batch afterwards.
  template <typename Release>
  void Flush(Release&& release) {
    ReleaseWhile([](const Entry&) { return true; }, release);
    if (!options_.allowed_lateness_ms) {
      last_released_.reset();
    } else if (max_ts_ > watermark_) {
      // Everything up to max_ts_ is out: an event below it is now late.
      watermark_ = max_ts_;
    }
  }

  //! No on-time event will have a timestamp below this (min int64 before
  //! any event, and always in batch mode before Flush).
  int64_t watermark() const { return watermark_; }
  const ReorderCounters& counters() const { return counters_; }
  size_t size() const { return heap_.size(); }

  // ReorderBuffer::Save() / Load()
  //
  // Checkpoint: the held events (each payload written by
  // `save(SnapshotWriter&, const T&)`), the watermark and the counters.
  // Load() restores into a buffer of the same options; `load(SnapshotReader&,
  // const Ordinal&, T&)` rebuilds a payload.
  template <typename SavePayload>
  void Save(SnapshotWriter& w, SavePayload&& save) const {
    w.U64(next_arrival_);
    w.I64(max_ts_);
    w.I64(watermark_);
    w.Bool(last_released_.has_value());
    if (last_released_) w.Ord(*last_released_);
    for (uint64_t c : {counters_.pushed, counters_.released, counters_.late, counters_.late_dropped,
                       counters_.late_released, counters_.max_buffered}) {
      w.U64(c);
    }
    w.U64(heap_.size());
    for (const Entry& e : heap_) {  // heap order: loaded back as a heap
      w.Ord(e.ordinal);
      save(w, e.payload);
    }
  }
  template <typename LoadPayload>
  bool Load(SnapshotReader& r, LoadPayload&& load) {
    bool has_last = false;
    if (!r.U64(next_arrival_) || !r.I64(max_ts_) || !r.I64(watermark_) || !r.Bool(has_last)) {
      return false;
    }
    last_released_.reset();
    if (has_last) {
      Ordinal o;
      if (!r.Ord(o)) return false;
      last_released_ = std::move(o);
    }
    for (uint64_t* c :
         {&counters_.pushed, &counters_.released, &counters_.late, &counters_.late_dropped,
          &counters_.late_released, &counters_.max_buffered}) {
      if (!r.U64(*c)) return false;
    }
    uint64_t n = 0;
    if (!r.Count(n, 3)) return false;
    heap_.clear();
    heap_.reserve(n);
    for (uint64_t i = 0; i < n; ++i) {
      Entry e{};
      if (!r.Ord(e.ordinal) || !load(r, e.ordinal, e.payload)) return false;
      heap_.push_back(std::move(e));
    }
    if (!std::is_heap(heap_.begin(), heap_.end(), Later{})) {
      return r.Fail("the reorder buffer (entries out of order)");
    }
    counters_.buffered = heap_.size();
    return true;
  }

 private:
  struct Entry {
    Ordinal ordinal;
    T payload;
  };
  // Heap comparator: the earliest ordinal on top.
  struct Later {
    bool operator()(const Entry& a, const Entry& b) const { return b.ordinal < a.ordinal; }
  };

  template <typename Pred, typename Release>
  void ReleaseWhile(Pred&& pred, Release& release) {
    while (!heap_.empty() && pred(heap_.front())) {
      std::pop_heap(heap_.begin(), heap_.end(), Later{});
      Entry e = std::move(heap_.back());
      heap_.pop_back();
      ++counters_.released;
      last_released_ = e.ordinal;
      release(static_cast<const Ordinal&>(e.ordinal), std::move(e.payload), false);
    }
    counters_.buffered = heap_.size();
  }

  ReorderOptions options_;
  std::vector<Entry> heap_;
  uint64_t next_arrival_ = 0;
  int64_t max_ts_ = std::numeric_limits<int64_t>::min();
  int64_t watermark_ = std::numeric_limits<int64_t>::min();
  std::optional<Ordinal> last_released_;
  ReorderCounters counters_;
};

}  // namespace eql::runtime
