// libeql/runtime/sequence.cpp
//
// How the matcher maps onto Elasticsearch's (SEMANTICS §2.2):
// - Only positive stages make partials. A partial in bucket (j, key) has
//   filled positive stages 0..j. An event hitting positive stage j > 0 takes
//   the partial of bucket (j-1, key) if its last event is strictly earlier,
//   checks maxspan and until, and moves it to (j, key), or completes it.
// - Elasticsearch keeps a list per bucket and takes the newest element older
//   than the event, discarding it and everything before it (`trimBefore`).
//   With events in order the newest element is always older than the event,
//   so older elements can never be taken: keeping only the newest per bucket
//   is the same matcher with O(1) buckets. A partial that is replaced is
//   counted as superseded.
// - Stages are visited last to first for each event, so an event cannot
//   advance a partial that it just moved.
// - Missing stages are post-filters on candidates built from the positive
//   stages (§2.6), checked against a time-bounded history of missing-stage
//   hits per (stage, key).
#include "runtime/sequence.hpp"

#include <algorithm>
#include <deque>
#include <limits>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "boost/multi_index/hashed_index.hpp"
#include "boost/multi_index/member.hpp"
#include "boost/multi_index/sequenced_index.hpp"
#include "boost/multi_index_container.hpp"
#include "fmt/format.h"
#include "runtime/node_pool.hpp"

namespace eql::runtime {

absl::Status SequenceSpec::Validate() const {
  if (stages.empty()) return absl::InvalidArgumentError("a sequence needs at least one stage");
  bool positive = false, missing = false;
  size_t expanded = 0;
  for (const auto& s : stages) {
    if (s.runs < 1 || s.runs > 100) {
      return absl::InvalidArgumentError(
          fmt::format("runs must be between 1 and 100, got {}", s.runs));
    }
    positive |= !s.missing;
    missing |= s.missing;
    expanded += s.runs;
  }
  if (!positive) return absl::InvalidArgumentError("a sequence needs at least one positive stage");
  if (expanded < 2) {
    return absl::InvalidArgumentError("a sequence needs at least two stages");
  }
  if (maxspan_ms && *maxspan_ms <= 0) {
    return absl::InvalidArgumentError("maxspan must be a positive duration");
  }
  if (missing && !maxspan_ms) {
    return absl::InvalidArgumentError("missing-event stages require `with maxspan`");
  }
  if (max_partials == 0) return absl::InvalidArgumentError("max_partials must be positive");
  for (const PipeSpec& p : pipes) {
    if (p.kind != PipeSpec::Kind::kNone && p.n > (uint64_t{1} << 40)) {
      return absl::InvalidArgumentError("head/tail limit out of range");
    }
  }
  return absl::OkStatus();
}

namespace {

namespace bmi = boost::multi_index;

// A partial sequence: positive stages 0..pos filled.
struct Partial {
  uint32_t pos = 0;
  JoinKey key;
  int64_t start_ts = 0;
  // One per filled positive stage; two inline (most rules have two or three
  // stages) to spare a heap block per partial.
  absl::InlinedVector<EventHandle, 2> events;
};

struct BucketRef {
  uint32_t pos;
  const JoinKey* key;
};
struct BucketOf {
  using result_type = BucketRef;
  BucketRef operator()(const Partial& p) const { return {p.pos, &p.key}; }
};
struct BucketHash {
  size_t operator()(const BucketRef& b) const { return absl::HashOf(b.pos, *b.key); }
};
struct BucketEq {
  bool operator()(const BucketRef& a, const BucketRef& b) const {
    return a.pos == b.pos && *a.key == *b.key;
  }
};

struct ByBucket {};
struct ByStart {};

// The second index is the creation order. With events in order that is
// also start-time order (a partial keeps its place when it advances: it is
// modified in place, not reinserted), so the oldest partial is always at the
// front: expiry and eviction pop from there in O(1). An out-of-order event
// (late, processed anyway) can create a partial behind younger ones; it then
// expires when it reaches the front, and the maxspan check on every advance
// keeps the results right meanwhile.
using PartialSet = bmi::multi_index_container<
    Partial,
    bmi::indexed_by<bmi::hashed_unique<bmi::tag<ByBucket>, BucketOf, BucketHash, BucketEq>,
                    bmi::sequenced<bmi::tag<ByStart>>>,
    PoolAllocator<Partial>>;

// Timestamps of one missing stage's hits for one key, ascending. A vector
// with a moving head: hits are appended in time order and dropped from the
// front as the watermark passes, without a deque's per-key block.
struct HitTimes {
  std::vector<int64_t> ts;
  size_t head = 0;

  void Add(int64_t t) {
    if (ts.size() == head || ts.back() <= t) {
      ts.push_back(t);
    } else {  // out of order (late event processed): keep sorted
      ts.insert(std::upper_bound(ts.begin() + head, ts.end(), t), t);
    }
  }
  void PopFront() {
    if (++head * 2 >= ts.size()) {
      ts.erase(ts.begin(), ts.begin() + head);
      head = 0;
    }
  }
  bool empty() const { return head == ts.size(); }
  auto begin() const { return ts.begin() + head; }
  auto end() const { return ts.end(); }
};

struct MissKey {
  uint32_t stage;  // written stage index
  JoinKey key;
  friend bool operator==(const MissKey&, const MissKey&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const MissKey& k) {
    return H::combine(std::move(h), k.stage, k.key);
  }
};

enum class Decision : uint8_t { kPending, kKeep, kDrop };

// A completed positive sequence waiting for release: in output order, and
// possibly for its trailing missing stages to be decided.
struct Candidate {
  SequenceAlert alert;
  int64_t first_ts = 0;  // first positive event
  int64_t last_ts = 0;   // last positive event
  std::optional<int64_t> last_leading;
  int64_t deadline = 0;  // decide once the watermark is past this
  Decision decision = Decision::kPending;
};

constexpr int64_t kMinTs = std::numeric_limits<int64_t>::min();
constexpr int64_t kMaxTs = std::numeric_limits<int64_t>::max();

}  // namespace

struct SequenceOperator::State {
  SequenceSpec spec;
  // Runs expanded: for each expanded stage, its written stage and whether it
  // is missing; positives lists the expanded indices of positive stages.
  std::vector<uint32_t> written_of;
  std::vector<bool> missing;
  std::vector<uint32_t> positives;
  // For each written stage, the positive indices (into `positives`) it fills.
  std::vector<std::vector<uint32_t>> positive_slots;
  // Written missing stages before the first / after the last positive.
  std::vector<uint32_t> leading, trailing;
  // For each positive index j > 0: the written missing stages between
  // positive j-1 and j.
  std::vector<std::vector<uint32_t>> inner;
  bool any_missing = false;

  std::shared_ptr<NodePool> pool = std::make_shared<NodePool>();
  PartialSet partials{PartialSet::ctor_args_list(), PoolAllocator<Partial>(pool)};
  absl::flat_hash_map<JoinKey, Ordinal> untils;
  std::deque<std::pair<int64_t, JoinKey>> until_fifo;  // for pruning by time
  absl::flat_hash_map<MissKey, HitTimes> miss_hits;
  std::deque<std::pair<int64_t, MissKey>> miss_fifo;

  std::deque<Candidate> queue;  // output order
  PipeChain<SequenceAlert> pipe;
  int64_t watermark = kMinTs;
  std::optional<Ordinal> last_ordinal;
  SequenceCounters counters;

  // Scratch reused across events.
  struct PosHit {
    uint32_t j;
    const JoinKey* key;
  };
  std::vector<PosHit> pos_hits;
  std::vector<Candidate> completed;

  int64_t maxspan() const { return spec.maxspan_ms.value_or(0); }
  // watermark - maxspan, saturated: a maxspan of up to INT64_MAX ms is
  // accepted and times may be negative (before 1970).
  int64_t Horizon() const {
    return watermark < kMinTs + maxspan() ? kMinTs : watermark - maxspan();
  }

  void Init() {
    pipe = PipeChain<SequenceAlert>(spec.pipes);
    // Boost's hashed index keeps no hash in its nodes, so every node in a
    // bucket's chain is dereferenced (a cache miss) and compared. Most
    // lookups are misses (a new partial, a child without a parent); a lower
    // load factor keeps those chains short for 8 bytes per bucket.
    partials.get<ByBucket>().max_load_factor(0.5f);
    positive_slots.resize(spec.stages.size());
    for (uint32_t w = 0; w < spec.stages.size(); ++w) {
      for (uint32_t r = 0; r < spec.stages[w].runs; ++r) {
        const uint32_t e = static_cast<uint32_t>(written_of.size());
        written_of.push_back(w);
        missing.push_back(spec.stages[w].missing);
        if (!spec.stages[w].missing) {
          positive_slots[w].push_back(static_cast<uint32_t>(positives.size()));
          positives.push_back(e);
        }
      }
      any_missing |= spec.stages[w].missing;
    }
    inner.resize(positives.size());
    for (uint32_t e = 0; e < written_of.size(); ++e) {
      if (!missing[e]) continue;
      if (e < positives.front()) {
        leading.push_back(written_of[e]);
      } else if (e > positives.back()) {
        trailing.push_back(written_of[e]);
      } else {
        const auto next = std::upper_bound(positives.begin(), positives.end(), e);
        inner[next - positives.begin()].push_back(written_of[e]);
      }
    }
    for (auto* v : {&leading, &trailing}) {
      std::sort(v->begin(), v->end());
      v->erase(std::unique(v->begin(), v->end()), v->end());
    }
    for (auto& v : inner) {
      std::sort(v.begin(), v.end());
      v.erase(std::unique(v.begin(), v.end()), v.end());
    }
  }

  // --- time -----------------------------------------------------------------

  void Advance(int64_t ts) {
    if (ts <= watermark) return;
    watermark = ts;
    if (!spec.maxspan_ms) return;
    // A partial is dead once no future event (ts >= watermark) can be within
    // maxspan of its start: watermark - start > maxspan.
    auto& by_start = partials.get<ByStart>();
    const int64_t horizon = Horizon();
    while (!by_start.empty() && by_start.front().start_ts < horizon) {
      by_start.pop_front();
      ++counters.partials_expired;
    }
    // An until at u only matters to partials whose last event is <= u; those
    // started at or before u and are dead once u < watermark - maxspan.
    while (!until_fifo.empty() && until_fifo.front().first < horizon) {
      auto it = untils.find(until_fifo.front().second);
      if (it != untils.end() && it->second.timestamp_ms == until_fifo.front().first) {
        untils.erase(it);
      }
      until_fifo.pop_front();
    }
  }

  // Missing-stage hits older than watermark - maxspan can no longer change
  // a decision once the candidates due by the watermark have been decided
  // (Release): inner hits lie after a live partial's first event (>= the
  // horizon); a candidate still pending started after the horizon and only
  // looks for trailing hits after its last event; and a leading hit more than
  // maxspan before a future candidate's last event keeps it, exactly as no
  // hit would. Pruning before Release would lose the trailing hits of a
  // candidate decided by a large jump of the watermark.
  void PruneMissing() {
    if (!spec.maxspan_ms) return;
    const int64_t horizon = Horizon();
    while (!miss_fifo.empty() && miss_fifo.front().first < horizon) PopOldestMissing();
  }

  // Forgets the oldest retained missing-stage hit (the oldest of its key).
  void PopOldestMissing() {
    auto it = miss_hits.find(miss_fifo.front().second);
    if (it != miss_hits.end()) {
      it->second.PopFront();
      if (it->second.empty()) miss_hits.erase(it);
    }
    miss_fifo.pop_front();
    --counters.missing_hits_retained;
  }

  // --- missing-event checks (SEMANTICS §2.6) ----------------------------------

  const HitTimes* Hits(uint32_t stage, const JoinKey& key) const {
    // A lookup key copy is needed: MissKey owns its JoinKey. Missing stages
    // are rare and this runs once per candidate per missing stage.
    auto it = miss_hits.find(MissKey{stage, key});
    return it == miss_hits.end() ? nullptr : &it->second;
  }

  // Any hit of `stage` for `key` with lo < ts < hi (millis, strict).
  bool AnyBetween(uint32_t stage, const JoinKey& key, int64_t lo, int64_t hi) const {
    const HitTimes* h = Hits(stage, key);
    if (h == nullptr || lo == kMaxTs) return false;
    auto it = std::upper_bound(h->begin(), h->end(), lo);
    return it != h->end() && *it < hi;
  }
  std::optional<int64_t> LatestBefore(uint32_t stage, const JoinKey& key, int64_t t) const {
    const HitTimes* h = Hits(stage, key);
    if (h == nullptr) return std::nullopt;
    auto it = std::lower_bound(h->begin(), h->end(), t);
    if (it == h->begin()) return std::nullopt;
    return *std::prev(it);
  }
  std::optional<int64_t> EarliestAfter(uint32_t stage, const JoinKey& key, int64_t t) const {
    const HitTimes* h = Hits(stage, key);
    if (h == nullptr) return std::nullopt;
    auto it = std::upper_bound(h->begin(), h->end(), t);
    if (it == h->end()) return std::nullopt;
    return *it;
  }

  // Called when the positive stages complete. Everything strictly before the
  // last positive's timestamp has been seen, so inner and leading checks are
  // final; trailing ones wait for the watermark.
  void PrepareCandidate(Candidate& c) {
    c.decision = Decision::kKeep;
    if (!any_missing) return;
    const JoinKey& key = c.alert.key;
    for (size_t j = 1; j < positives.size(); ++j) {
      const int64_t lo = c.alert.events[positives[j - 1]]->ordinal.timestamp_ms;
      const int64_t hi = c.alert.events[positives[j]]->ordinal.timestamp_ms;
      for (uint32_t w : inner[j]) {
        if (AnyBetween(w, key, lo, hi)) {
          c.decision = Decision::kDrop;
          return;
        }
      }
    }
    for (uint32_t w : leading) {
      if (auto t = LatestBefore(w, key, c.first_ts)) {
        c.last_leading = std::max(c.last_leading.value_or(kMinTs), *t);
      }
    }
    const int64_t span = maxspan();
    if (trailing.empty()) {
      if (!leading.empty() && c.last_leading && c.last_ts - *c.last_leading <= span) {
        c.decision = Decision::kDrop;
      }
      return;
    }
    if (!leading.empty() && !c.last_leading) return;  // kept whatever trails
    // Dropped only if a trailing hit comes within maxspan of the reference:
    // the last leading hit when there are leading stages, else the first
    // positive. Decide once the watermark is past reference + maxspan.
    const int64_t ref = leading.empty() ? c.first_ts : *c.last_leading;
    c.deadline = ref > kMaxTs - span ? kMaxTs : ref + span;
    c.decision = Decision::kPending;
  }

  void DecideTrailing(Candidate& c) {
    std::optional<int64_t> first_trailing;
    for (uint32_t w : trailing) {
      if (auto t = EarliestAfter(w, c.alert.key, c.last_ts)) {
        first_trailing = std::min(first_trailing.value_or(kMaxTs), *t);
      }
    }
    const int64_t ref = leading.empty() ? c.first_ts : *c.last_leading;
    c.decision =
        first_trailing && *first_trailing - ref <= maxspan() ? Decision::kDrop : Decision::kKeep;
  }

  // Releases candidates from the front of the queue while they are decided.
  // `final_flush`: no more events, so pending ones are decided now.
  void Release(AlertSink& out, bool final_flush) {
    while (!queue.empty()) {
      Candidate& c = queue.front();
      if (c.decision == Decision::kPending) {
        if (!final_flush && !(watermark > c.deadline)) break;
        DecideTrailing(c);
      }
      if (c.decision == Decision::kKeep && !pipe.done()) {
        ++counters.results;
        pipe.Offer(std::move(c.alert), [&](SequenceAlert&& a) {
          ++counters.alerts;
          out.OnAlert(std::move(a));
        });
      } else if (c.decision == Decision::kDrop) {
        ++counters.candidates_discarded;
      }
      queue.pop_front();
    }
    counters.candidates_pending = queue.size();
    if (pipe.done()) DropAll();
  }

  // `head N` is satisfied: free the state, the operator goes quiet.
  void DropAll() {
    counters.dropped_at_done += partials.size();
    partials.clear();
    untils.clear();
    until_fifo.clear();
    miss_hits.clear();
    miss_fifo.clear();
    counters.missing_hits_retained = 0;
    queue.clear();
    counters.candidates_pending = 0;
    counters.partials_live = 0;
  }

  // --- matching ---------------------------------------------------------------

  void Complete(Partial&& p, const EventHandle& ev) {
    ++counters.partials_completed;
    Candidate c;
    c.alert.key = std::move(p.key);
    c.alert.events.resize(written_of.size());
    for (size_t j = 0; j < p.events.size(); ++j) {
      c.alert.events[positives[j]] = std::move(p.events[j]);
    }
    c.alert.events[positives.back()] = ev;
    c.first_ts = c.alert.events[positives.front()]->ordinal.timestamp_ms;
    c.last_ts = ev->ordinal.timestamp_ms;
    completed.push_back(std::move(c));
  }

  void MakeRoom() {
    auto& by_start = partials.get<ByStart>();
    while (partials.size() >= spec.max_partials && !by_start.empty()) {
      by_start.pop_front();
      ++counters.partials_evicted;
    }
  }

  // Removes the occupant of bucket (pos, key), if any: a newer partial
  // replaces it (the older one could never be taken again).
  void Supersede(uint32_t pos, const JoinKey& key) {
    auto& by_bucket = partials.get<ByBucket>();
    auto it = by_bucket.find(BucketRef{pos, &key});
    if (it == by_bucket.end()) return;
    by_bucket.erase(it);
    ++counters.partials_superseded;
  }

  bool UntilBlocks(const JoinKey& key, const Ordinal& last, const Ordinal& now) const {
    if (untils.empty()) return false;
    auto it = untils.find(key);
    if (it == untils.end()) return false;
    // The latest until strictly before `now`, inside [last, now] inclusive.
    return it->second < now && !(it->second < last);
  }

  void HitPositive(uint32_t j, const JoinKey& key, const EventHandle& ev) {
    const Ordinal& now = ev->ordinal;
    auto& by_bucket = partials.get<ByBucket>();
    if (j == 0) {
      ++counters.partials_created;
      Partial p;
      p.key = key;
      p.start_ts = now.timestamp_ms;
      p.events.push_back(ev);
      if (positives.size() == 1) {
        Complete(std::move(p), ev);
        return;
      }
      if (partials.size() >= spec.max_partials) {
        Supersede(0, key);
        MakeRoom();
      }
      // One lookup in the common case: insert, and only on a collision
      // replace the older occupant (which also moves it to the back).
      auto [it, inserted] = partials.insert(std::move(p));
      if (!inserted) {
        auto& seq = partials.get<ByStart>();
        seq.relocate(seq.end(), partials.project<ByStart>(it));
        partials.modify(it, [&](Partial& old) {
          old.start_ts = now.timestamp_ms;
          old.events.clear();
          old.events.push_back(ev);
        });
        ++counters.partials_superseded;
      }
      return;
    }
    auto it = by_bucket.find(BucketRef{j - 1, &key});
    if (it == by_bucket.end()) return;
    const Ordinal& last = it->events.back()->ordinal;
    if (!(last < now)) return;  // only after an out-of-order event
    if (spec.maxspan_ms && now.timestamp_ms - it->start_ts > *spec.maxspan_ms) {
      by_bucket.erase(it);
      ++counters.partials_expired;
      return;
    }
    if (spec.has_until && UntilBlocks(key, last, now)) {
      by_bucket.erase(it);
      ++counters.partials_until_killed;
      return;
    }
    if (j + 1 == positives.size()) {
      Complete(std::move(partials.extract(it).value()), ev);
      return;
    }
    // Advance in place: the partial keeps its position in creation order.
    Supersede(j, key);
    partials.modify(it, [&](Partial& p) {
      p.pos = j;
      p.events.push_back(ev);
    });
  }

  void RecordMissing(uint32_t stage, const JoinKey& key, int64_t ts) {
    MissKey mk{stage, key};
    miss_hits[mk].Add(ts);
    miss_fifo.emplace_back(ts, std::move(mk));
    ++counters.missing_hits_retained;
    // A flood of missing-stage events within maxspan is bounded like the
    // partials. Forgetting a hit can only keep a candidate that it would have
    // discarded; that is counted.
    while (counters.missing_hits_retained > spec.max_partials) {
      PopOldestMissing();
      ++counters.missing_hits_evicted;
    }
  }

  void RecordUntil(const JoinKey& key, const Ordinal& ord) {
    // Elasticsearch records until events only for keys with sequences in
    // flight (KeyToSequences.until); a key with none has nothing to stop.
    bool in_flight = false;
    auto& by_bucket = partials.get<ByBucket>();
    for (uint32_t j = 0; j + 1 < positives.size() && !in_flight; ++j) {
      in_flight = by_bucket.find(BucketRef{j, &key}) != by_bucket.end();
    }
    if (!in_flight) return;
    untils.insert_or_assign(key, ord);
    until_fifo.emplace_back(ord.timestamp_ms, key);
    ++counters.untils_recorded;
    // Without maxspan nothing expires by time: bound untils like partials.
    while (untils.size() > spec.max_partials && !until_fifo.empty()) {
      untils.erase(until_fifo.front().second);
      until_fifo.pop_front();
    }
  }

  void OnEvent(const EventHandle& ev, std::span<const StageHit> hits,
               std::span<const JoinKey> until_keys, AlertSink& out) {
    if (pipe.done()) return;
    ++counters.events;
    const Ordinal& now = ev->ordinal;
    if (last_ordinal && now < *last_ordinal) {
      ++counters.events_out_of_order;
    } else {
      last_ordinal = now;
    }
    Advance(now.timestamp_ms);

    pos_hits.clear();
    for (const StageHit& h : hits) {
      // A hit that does not fit the spec is a caller bug; counting it makes
      // it visible without crashing a sensor.
      if (h.stage >= spec.stages.size()) {
        ++counters.hits_rejected;
        continue;
      }
      for (const JoinKey& k : h.keys) {
        if (k.size() != spec.key_count) {
          ++counters.hits_rejected;
          continue;
        }
        if (spec.stages[h.stage].missing) {
          RecordMissing(h.stage, k, now.timestamp_ms);
          continue;
        }
        for (uint32_t j : positive_slots[h.stage]) pos_hits.push_back({j, &k});
      }
    }
    // Last stage first: an event must not advance a partial it just moved.
    // A stable insertion sort: the list is tiny, and std::stable_sort would
    // allocate a buffer on every event.
    for (size_t i = 1; i < pos_hits.size(); ++i) {
      for (size_t k = i; k > 0 && pos_hits[k - 1].j < pos_hits[k].j; --k) {
        std::swap(pos_hits[k - 1], pos_hits[k]);
      }
    }
    for (const PosHit& h : pos_hits) HitPositive(h.j, *h.key, ev);

    // The until clause applies to later events only ("strictly before").
    if (spec.has_until) {
      for (const JoinKey& k : until_keys) RecordUntil(k, now);
    }

    if (!completed.empty()) {
      // One event can complete several keys; Elasticsearch orders equal last
      // ordinals by key.
      std::sort(completed.begin(), completed.end(), [](const Candidate& a, const Candidate& b) {
        return CompareKeys(a.alert.key, b.alert.key) < 0;
      });
      for (Candidate& c : completed) {
        PrepareCandidate(c);
        queue.push_back(std::move(c));
      }
      completed.clear();
    }
    Release(out, /*final_flush=*/false);
    PruneMissing();
    counters.partials_live = partials.size();
  }
};

absl::StatusOr<std::unique_ptr<SequenceOperator>> SequenceOperator::Create(SequenceSpec spec) {
  if (absl::Status s = spec.Validate(); !s.ok()) return s;
  auto state = std::make_unique<State>();
  state->spec = std::move(spec);
  state->Init();
  return std::unique_ptr<SequenceOperator>(new SequenceOperator(std::move(state)));
}

SequenceOperator::SequenceOperator(std::unique_ptr<State> state) : state_(std::move(state)) {}
SequenceOperator::~SequenceOperator() = default;

void SequenceOperator::OnEvent(const EventHandle& event, std::span<const StageHit> hits,
                               std::span<const JoinKey> until_keys, AlertSink& out) {
  state_->OnEvent(event, hits, until_keys, out);
}

void SequenceOperator::AdvanceWatermark(int64_t ts_ms, AlertSink& out) {
  if (state_->pipe.done()) return;
  state_->Advance(ts_ms);
  state_->Release(out, /*final_flush=*/false);
  state_->PruneMissing();
  state_->counters.partials_live = state_->partials.size();
}

void SequenceOperator::Flush(AlertSink& out) {
  State& s = *state_;
  s.Release(out, /*final_flush=*/true);
  s.pipe.Flush([&](SequenceAlert&& a) {
    ++s.counters.alerts;
    out.OnAlert(std::move(a));
  });
  s.counters.partials_live = s.partials.size();
}

uint64_t SequenceOperator::EvictOldest(uint64_t n) {
  State& s = *state_;
  auto& by_start = s.partials.get<ByStart>();
  uint64_t evicted = 0;
  while (evicted < n && !by_start.empty()) {
    by_start.pop_front();
    ++evicted;
  }
  s.counters.partials_evicted += evicted;
  s.counters.partials_live = s.partials.size();
  return evicted;
}

namespace {

// The counters in a fixed order: the snapshot's layout.
std::vector<uint64_t*> CounterFields(SequenceCounters& c) {
  return {&c.events,
          &c.events_out_of_order,
          &c.hits_rejected,
          &c.partials_live,
          &c.partials_created,
          &c.partials_completed,
          &c.partials_expired,
          &c.partials_evicted,
          &c.partials_until_killed,
          &c.partials_superseded,
          &c.dropped_at_done,
          &c.candidates_pending,
          &c.candidates_discarded,
          &c.results,
          &c.alerts,
          &c.untils_recorded,
          &c.missing_hits_retained,
          &c.missing_hits_evicted};
}

}  // namespace

bool SequenceOperator::Idle() const {
  const State& s = *state_;
  return s.partials.empty() && s.untils.empty() && s.until_fifo.empty() && s.miss_fifo.empty() &&
         s.queue.empty();
}

void SequenceOperator::Save(SnapshotWriter& w, int64_t watermark_floor) const {
  const State& s = *state_;
  // The shape, so that Load() can refuse state of another query.
  w.U64(s.written_of.size());
  w.U64(s.spec.key_count);
  w.OptionalI64(s.spec.maxspan_ms);
  w.Bool(s.spec.has_until);

  // What AdvanceWatermark() would have made it (it does nothing once done).
  w.I64(s.pipe.done() ? s.watermark : std::max(s.watermark, watermark_floor));
  w.Bool(s.last_ordinal.has_value());
  if (s.last_ordinal) w.Ord(*s.last_ordinal);
  SequenceCounters counters = s.counters;
  for (uint64_t* c : CounterFields(counters)) w.U64(*c);

  // Partials oldest first: loading them in this order restores the
  // creation order that expiry and eviction pop from.
  w.U64(s.partials.size());
  for (const Partial& p : s.partials.get<ByStart>()) {
    w.U64(p.pos);
    w.Join(p.key);
    w.I64(p.start_ts);
    w.U64(p.events.size());
    for (const EventHandle& e : p.events) w.Event(e);
  }
  w.U64(s.untils.size());
  for (const auto& [key, ord] : s.untils) {
    w.Join(key);
    w.Ord(ord);
  }
  w.U64(s.until_fifo.size());
  for (const auto& [ts, key] : s.until_fifo) {
    w.I64(ts);
    w.Join(key);
  }
  w.U64(s.miss_hits.size());
  for (const auto& [mk, hits] : s.miss_hits) {
    w.U64(mk.stage);
    w.Join(mk.key);
    w.U64(hits.end() - hits.begin());
    for (int64_t t : hits) w.I64(t);
  }
  w.U64(s.miss_fifo.size());
  for (const auto& [ts, mk] : s.miss_fifo) {
    w.I64(ts);
    w.U64(mk.stage);
    w.Join(mk.key);
  }
  w.U64(s.queue.size());
  for (const Candidate& c : s.queue) {
    SaveJoinAlert(w, c.alert);
    w.I64(c.first_ts);
    w.I64(c.last_ts);
    w.OptionalI64(c.last_leading);
    w.I64(c.deadline);
    w.U64(static_cast<uint64_t>(c.decision));
  }
  s.pipe.Save(w, SaveJoinAlert);
}

bool SequenceOperator::Load(SnapshotReader& r) {
  State& s = *state_;
  uint64_t expanded = 0, key_count = 0;
  std::optional<int64_t> maxspan;
  bool has_until = false;
  if (!r.U64(expanded) || !r.U64(key_count) || !r.OptionalI64(maxspan) || !r.Bool(has_until)) {
    return false;
  }
  if (expanded != s.written_of.size() || key_count != s.spec.key_count ||
      maxspan != s.spec.maxspan_ms || has_until != s.spec.has_until) {
    return r.Fail("a sequence's state (it was written for another query)");
  }
  bool has_last = false;
  if (!r.I64(s.watermark) || !r.Bool(has_last)) return false;
  s.last_ordinal.reset();
  if (has_last) {
    Ordinal o;
    if (!r.Ord(o)) return false;
    s.last_ordinal = std::move(o);
  }
  for (uint64_t* c : CounterFields(s.counters)) {
    if (!r.U64(*c)) return false;
  }

  const size_t positives = s.positives.size();
  auto valid_key = [&](const JoinKey& k) { return k.size() == s.spec.key_count; };
  uint64_t n = 0;
  if (!r.Count(n, 4)) return false;
  s.partials.clear();
  for (uint64_t i = 0; i < n; ++i) {
    Partial p;
    uint64_t pos = 0, events = 0;
    if (!r.U64(pos) || !r.Join(p.key) || !r.I64(p.start_ts) || !r.Count(events)) return false;
    // A live partial has filled positive stages 0..pos, short of the last.
    if (pos + 1 >= positives || events != pos + 1 || !valid_key(p.key)) {
      return r.Fail("a partial sequence (wrong shape)");
    }
    p.pos = static_cast<uint32_t>(pos);
    for (uint64_t e = 0; e < events; ++e) {
      EventHandle h;
      if (!r.Event(h)) return false;
      if (h == nullptr) return r.Fail("a partial sequence (an empty event)");
      p.events.push_back(std::move(h));
    }
    if (!s.partials.insert(std::move(p)).second) {
      return r.Fail("a partial sequence (two in one bucket)");
    }
  }
  if (!r.Count(n, 2)) return false;
  s.untils.clear();
  for (uint64_t i = 0; i < n; ++i) {
    JoinKey key;
    Ordinal ord;
    if (!r.Join(key) || !r.Ord(ord)) return false;
    if (!valid_key(key)) return r.Fail("an until marker (wrong key)");
    s.untils.insert_or_assign(std::move(key), std::move(ord));
  }
  if (!r.Count(n, 2)) return false;
  s.until_fifo.clear();
  for (uint64_t i = 0; i < n; ++i) {
    int64_t ts = 0;
    JoinKey key;
    if (!r.I64(ts) || !r.Join(key)) return false;
    s.until_fifo.emplace_back(ts, std::move(key));
  }
  if (!r.Count(n, 3)) return false;
  s.miss_hits.clear();
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t stage = 0, count = 0;
    MissKey mk;
    if (!r.U64(stage) || !r.Join(mk.key) || !r.Count(count)) return false;
    if (stage >= s.spec.stages.size() || !s.spec.stages[stage].missing || !valid_key(mk.key) ||
        count == 0) {
      return r.Fail("a missing-stage hit (wrong stage or key)");
    }
    mk.stage = static_cast<uint32_t>(stage);
    HitTimes& hits = s.miss_hits[mk];
    for (uint64_t k = 0; k < count; ++k) {
      int64_t t = 0;
      if (!r.I64(t)) return false;
      hits.Add(t);
    }
  }
  if (!r.Count(n, 3)) return false;
  s.miss_fifo.clear();
  for (uint64_t i = 0; i < n; ++i) {
    int64_t ts = 0;
    uint64_t stage = 0;
    MissKey mk;
    if (!r.I64(ts) || !r.U64(stage) || !r.Join(mk.key)) return false;
    mk.stage = static_cast<uint32_t>(stage);
    s.miss_fifo.emplace_back(ts, std::move(mk));
  }
  if (!r.Count(n, 6)) return false;
  s.queue.clear();
  for (uint64_t i = 0; i < n; ++i) {
    Candidate c;
    uint64_t decision = 0;
    if (!LoadJoinAlert(r, c.alert, s.written_of.size(), s.spec.key_count, true) ||
        !r.I64(c.first_ts) ||
        !r.I64(c.last_ts) || !r.OptionalI64(c.last_leading) || !r.I64(c.deadline) ||
        !r.Bounded(decision, static_cast<uint64_t>(Decision::kDrop), "a candidate's decision")) {
      return false;
    }
    for (uint32_t e : s.positives) {
      if (c.alert.events[e] == nullptr) return r.Fail("a candidate (an empty positive event)");
    }
    c.decision = static_cast<Decision>(decision);
    s.queue.push_back(std::move(c));
  }
  if (!s.pipe.Load(r, [&](SnapshotReader& rr, SequenceAlert& a) {
        return LoadJoinAlert(rr, a, s.written_of.size(), s.spec.key_count, true);
      })) {
    return false;
  }
  s.counters.partials_live = s.partials.size();
  s.counters.candidates_pending = s.queue.size();
  s.counters.missing_hits_retained = s.miss_fifo.size();
  return true;
}

bool SequenceOperator::done() const { return state_->pipe.done(); }
const SequenceCounters& SequenceOperator::counters() const { return state_->counters; }
const SequenceSpec& SequenceOperator::spec() const { return state_->spec; }
size_t SequenceOperator::expanded_stage_count() const { return state_->written_of.size(); }

std::string SequenceOperator::Explain() const {
  const State& s = *state_;
  std::string stages;
  for (size_t e = 0; e < s.written_of.size(); ++e) {
    absl::StrAppend(&stages, e ? " " : "", s.missing[e] ? "![" : "[", s.written_of[e], "]");
  }
  std::string pipe;
  for (const PipeSpec& p : s.spec.pipes) {
    if (p.kind == PipeSpec::Kind::kHead) absl::StrAppend(&pipe, " | head ", p.n);
    if (p.kind == PipeSpec::Kind::kTail) absl::StrAppend(&pipe, " | tail ", p.n);
  }
  return fmt::format("sequence keys={} maxspan={} stages={}{}{} cap={}", s.spec.key_count,
                     s.spec.maxspan_ms ? fmt::format("{}ms", *s.spec.maxspan_ms) : "none", stages,
                     s.spec.has_until ? " until" : "", pipe, s.spec.max_partials);
}

}  // namespace eql::runtime
