// libeql/runtime/pipe.hpp
//
// The `head N` and `tail N` pipes (SEMANTICS §1.7), applied to results that
// arrive in their final order. `head N` passes the first N and then reports
// done(), so the operator feeding it can stop working; `tail N` keeps the last
// N in a ring and hands them over at Flush().
//
// Example:
//   HeadTail<int> tail(PipeSpec::Tail(2));
//   for (int i : {1, 2, 3}) tail.Offer(i, emit);   // emits nothing yet
//   tail.Flush(emit);                              // emits 2, 3
#pragma once

#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

#include "runtime/snapshot.hpp"

namespace eql::runtime {

//! The pipe that ends a query.
struct PipeSpec {
  enum class Kind : uint8_t { kNone, kHead, kTail };
  Kind kind = Kind::kNone;
  uint64_t n = 0;

  static PipeSpec None() { return {}; }
  static PipeSpec Head(uint64_t n) { return {Kind::kHead, n}; }
  static PipeSpec Tail(uint64_t n) { return {Kind::kTail, n}; }
};

// HeadTail<T>
//
// Applies a PipeSpec to results offered in output order.
template <typename T>
class HeadTail {
 public:
  explicit HeadTail(PipeSpec spec = {}) : spec_(spec) {}

  //! True once `head N` has passed N results: later results are discarded
  //! and the producer may stop matching.
  bool done() const { return spec_.kind == PipeSpec::Kind::kHead && passed_ >= spec_.n; }

  //! Offers one result; `emit(T&&)` is called now for none/head, later (at
  //! Flush) for tail.
  template <typename Emit>
  void Offer(T&& result, Emit&& emit) {
    switch (spec_.kind) {
      case PipeSpec::Kind::kNone:
        ++passed_;
        emit(std::move(result));
        return;
      case PipeSpec::Kind::kHead:
        if (passed_ < spec_.n) {
          ++passed_;
          emit(std::move(result));
        }
        return;
      case PipeSpec::Kind::kTail:
        if (spec_.n == 0) return;
        if (kept_.size() == spec_.n) kept_.pop_front();
        kept_.push_back(std::move(result));
        return;
    }
  }

  //! End of input: emits what `tail` kept, oldest first, and empties it.
  template <typename Emit>
  void Flush(Emit&& emit) {
    while (!kept_.empty()) {
      ++passed_;
      emit(std::move(kept_.front()));
      kept_.pop_front();
    }
  }

  bool is_tail() const { return spec_.kind == PipeSpec::Kind::kTail; }

  //! Results emitted so far.
  uint64_t passed() const { return passed_; }
  //! Results held by `tail`.
  size_t held() const { return kept_.size(); }

  //! Checkpoint: the count passed and what `tail` holds, each result written
  //! by `save(SnapshotWriter&, const T&)`.
  template <typename SaveItem>
  void Save(SnapshotWriter& w, SaveItem&& save) const {
    w.U64(passed_);
    w.U64(kept_.size());
    for (const T& item : kept_) save(w, item);
  }
  //! Restore into a pipe of the same spec; `load(SnapshotReader&, T&)`.
  template <typename LoadItem>
  bool Load(SnapshotReader& r, LoadItem&& load) {
    uint64_t held = 0;
    if (!r.U64(passed_) || !r.Count(held)) return false;
    if (held > 0 && (spec_.kind != PipeSpec::Kind::kTail || held > spec_.n)) {
      return r.Fail("a tail pipe (more results than it holds)");
    }
    kept_.clear();
    for (uint64_t i = 0; i < held; ++i) {
      T item{};
      if (!load(r, item)) return false;
      kept_.push_back(std::move(item));
    }
    return true;
  }

 private:
  PipeSpec spec_;
  uint64_t passed_ = 0;
  std::deque<T> kept_;
};

// PipeChain<T>
//
// Several pipes in a row (`| head 4 | tail 2`): each stage feeds the next.
// A `tail` stage holds its results until Flush(), where it passes them on.
template <typename T>
class PipeChain {
 public:
  explicit PipeChain(std::vector<PipeSpec> specs = {}) {
    for (const PipeSpec& s : specs) {
      if (s.kind != PipeSpec::Kind::kNone) stages_.emplace_back(s);
    }
  }

  //! True when no further input can change the output: a `head` has filled
  //! up and every stage before it passes results at once. A `tail` after
  //! that head may still hold results for Flush().
  bool done() const {
    for (const auto& s : stages_) {
      if (s.done()) return true;
      if (s.is_tail()) return false;
    }
    return false;
  }

  template <typename Emit>
  void Offer(T&& result, Emit&& emit) {
    OfferAt(0, std::move(result), emit);
  }

  template <typename SaveItem>
  void Save(SnapshotWriter& w, SaveItem&& save) const {
    w.U64(stages_.size());
    for (const auto& s : stages_) s.Save(w, save);
  }
  template <typename LoadItem>
  bool Load(SnapshotReader& r, LoadItem&& load) {
    uint64_t n = 0;
    if (!r.U64(n)) return false;
    if (n != stages_.size()) return r.Fail("the pipes (another number of head/tail stages)");
    for (auto& s : stages_) {
      if (!s.Load(r, load)) return false;
    }
    return true;
  }

  //! End of input: each `tail` in turn passes what it kept downstream.
  template <typename Emit>
  void Flush(Emit&& emit) {
    for (size_t i = 0; i < stages_.size(); ++i) {
      stages_[i].Flush([&](T&& r) { OfferAt(i + 1, std::move(r), emit); });
    }
  }

 private:
  template <typename Emit>
  void OfferAt(size_t i, T&& result, Emit& emit) {
    if (i == stages_.size()) {
      emit(std::move(result));
      return;
    }
    stages_[i].Offer(std::move(result), [&](T&& r) { OfferAt(i + 1, std::move(r), emit); });
  }

  std::vector<HeadTail<T>> stages_;
};

}  // namespace eql::runtime
