// libeql/runtime/sample.cpp
#include "runtime/sample.hpp"

#include <algorithm>
#include <deque>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "fmt/format.h"

namespace eql::runtime {

absl::Status SampleSpec::Validate() const {
  if (stage_count < 2) return absl::InvalidArgumentError("a sample needs at least two filters");
  if (max_samples_per_key < 1) {
    return absl::InvalidArgumentError("max_samples_per_key must be at least 1");
  }
  if (max_keys == 0) return absl::InvalidArgumentError("max_keys must be positive");
  return absl::OkStatus();
}

namespace {

struct KeyState {
  // Candidates per filter, in input order; at most `cap` each.
  std::vector<std::vector<EventHandle>> stages;
  uint64_t emitted = 0;  // eager mode: samples already delivered
  uint64_t seen_order = 0;
};

}  // namespace

struct SampleOperator::State {
  SampleSpec spec;
  size_t cap = 0;
  absl::flat_hash_map<JoinKey, KeyState> keys;
  std::deque<std::pair<uint64_t, JoinKey>> key_fifo;  // first-seen order, for eviction
  uint64_t next_order = 0;
  PipeChain<JoinAlert> pipe;
  SampleCounters counters;

  // Depth-first choice of one unused event per filter, lexicographically
  // first by candidate position: the earliest events that complete a sample.
  bool Choose(const KeyState& ks, size_t stage, absl::flat_hash_set<const RetainedEvent*>& used,
              std::vector<EventHandle>& picked) const {
    if (stage == ks.stages.size()) return true;
    for (const EventHandle& e : ks.stages[stage]) {
      if (used.contains(e.get())) continue;
      used.insert(e.get());
      picked.push_back(e);
      if (Choose(ks, stage + 1, used, picked)) return true;
      picked.pop_back();
      used.erase(e.get());
    }
    return false;
  }

  // Forms up to `limit` new samples from `ks`, removing the events they use.
  template <typename Emit>
  void Form(const JoinKey& key, KeyState& ks, uint64_t limit, Emit&& emit) {
    for (uint64_t n = 0; n < limit; ++n) {
      absl::flat_hash_set<const RetainedEvent*> used;
      std::vector<EventHandle> picked;
      if (!Choose(ks, 0, used, picked)) return;
      for (auto& stage : ks.stages) {
        const size_t before = stage.size();
        stage.erase(std::remove_if(stage.begin(), stage.end(),
                                   [&](const EventHandle& e) { return used.contains(e.get()); }),
                    stage.end());
        counters.candidates_retained -= before - stage.size();
      }
      ++counters.samples;
      emit(JoinAlert{key, std::move(picked)});
    }
  }

  void Deliver(JoinAlert&& a, AlertSink& out) {
    pipe.Offer(std::move(a), [&](JoinAlert&& r) {
      ++counters.alerts;
      out.OnAlert(std::move(r));
    });
  }

  void EvictOldest() { EvictDownTo(spec.max_keys); }

  void EvictDownTo(uint64_t keep) {
    while (keys.size() > keep && !key_fifo.empty()) {
      auto it = keys.find(key_fifo.front().second);
      if (it != keys.end() && it->second.seen_order == key_fifo.front().first) {
        for (const auto& s : it->second.stages) counters.candidates_retained -= s.size();
        keys.erase(it);
        ++counters.keys_evicted;
      }
      key_fifo.pop_front();
    }
  }
};

absl::StatusOr<std::unique_ptr<SampleOperator>> SampleOperator::Create(SampleSpec spec) {
  if (absl::Status s = spec.Validate(); !s.ok()) return s;
  auto state = std::make_unique<State>();
  state->spec = std::move(spec);
  state->cap = state->spec.stage_count * state->spec.max_samples_per_key;
  state->pipe = PipeChain<JoinAlert>(state->spec.pipes);
  return std::unique_ptr<SampleOperator>(new SampleOperator(std::move(state)));
}

SampleOperator::SampleOperator(std::unique_ptr<State> state) : state_(std::move(state)) {}
SampleOperator::~SampleOperator() = default;

void SampleOperator::OnEvent(const EventHandle& event, std::span<const StageHit> hits,
                             AlertSink& out) {
  State& s = *state_;
  if (s.pipe.done()) return;
  ++s.counters.events;
  for (const StageHit& h : hits) {
    if (h.stage >= s.spec.stage_count) {
      ++s.counters.hits_rejected;
      continue;
    }
    for (const JoinKey& k : h.keys) {
      if (k.size() != s.spec.key_count) {
        ++s.counters.hits_rejected;
        continue;
      }
      auto [it, inserted] = s.keys.try_emplace(k);
      KeyState& ks = it->second;
      if (inserted) {
        ks.stages.resize(s.spec.stage_count);
        ks.seen_order = s.next_order++;
        s.key_fifo.emplace_back(ks.seen_order, k);
      }
      if (ks.emitted >= s.spec.max_samples_per_key) continue;
      auto& list = ks.stages[h.stage];
      if (list.size() < s.cap) {
        list.push_back(event);
        ++s.counters.candidates_retained;
      }
      if (s.spec.eager) {
        s.Form(k, ks, s.spec.max_samples_per_key - ks.emitted, [&](JoinAlert&& a) {
          ++ks.emitted;
          s.Deliver(std::move(a), out);
        });
        if (ks.emitted >= s.spec.max_samples_per_key) {
          for (auto& st : ks.stages) {
            s.counters.candidates_retained -= st.size();
            st.clear();
            st.shrink_to_fit();
          }
        }
      }
    }
    s.EvictOldest();
  }
  s.counters.keys_live = s.keys.size();
}

void SampleOperator::Flush(AlertSink& out) {
  State& s = *state_;
  if (!s.spec.eager) {
    std::vector<std::pair<const JoinKey*, KeyState*>> order;
    order.reserve(s.keys.size());
    for (auto& [k, ks] : s.keys) order.emplace_back(&k, &ks);
    std::sort(order.begin(), order.end(),
              [](const auto& a, const auto& b) { return CompareKeys(*a.first, *b.first) < 0; });
    for (auto& [k, ks] : order) {
      if (s.pipe.done()) break;
      s.Form(*k, *ks, s.spec.max_samples_per_key,
             [&](JoinAlert&& a) { s.Deliver(std::move(a), out); });
    }
  }
  s.keys.clear();
  s.key_fifo.clear();
  s.counters.candidates_retained = 0;
  s.counters.keys_live = 0;
  s.pipe.Flush([&](JoinAlert&& r) {
    ++s.counters.alerts;
    out.OnAlert(std::move(r));
  });
}

uint64_t SampleOperator::EvictOldest(uint64_t n) {
  State& s = *state_;
  const uint64_t before = s.keys.size();
  s.EvictDownTo(before > n ? before - n : 0);
  s.counters.keys_live = s.keys.size();
  return before - s.keys.size();
}

void SampleOperator::Save(SnapshotWriter& w) const {
  const State& s = *state_;
  w.U64(s.spec.stage_count);
  w.U64(s.spec.key_count);
  w.Bool(s.spec.eager);
  for (uint64_t c : {s.counters.events, s.counters.hits_rejected, s.counters.keys_evicted,
                     s.counters.samples, s.counters.alerts}) {
    w.U64(c);
  }
  w.U64(s.next_order);
  w.U64(s.keys.size());
  for (const auto& [key, ks] : s.keys) {
    w.Join(key);
    w.U64(ks.emitted);
    w.U64(ks.seen_order);
    for (const auto& stage : ks.stages) {  // stage_count lists
      w.U64(stage.size());
      for (const EventHandle& e : stage) w.Event(e);
    }
  }
  w.U64(s.key_fifo.size());
  for (const auto& [order, key] : s.key_fifo) {
    w.U64(order);
    w.Join(key);
  }
  s.pipe.Save(w, SaveJoinAlert);
}

bool SampleOperator::Load(SnapshotReader& r) {
  State& s = *state_;
  uint64_t stages = 0, key_count = 0;
  bool eager = false;
  if (!r.U64(stages) || !r.U64(key_count) || !r.Bool(eager)) return false;
  if (stages != s.spec.stage_count || key_count != s.spec.key_count || eager != s.spec.eager) {
    return r.Fail("a sample's state (it was written for another query or mode)");
  }
  for (uint64_t* c : {&s.counters.events, &s.counters.hits_rejected, &s.counters.keys_evicted,
                      &s.counters.samples, &s.counters.alerts}) {
    if (!r.U64(*c)) return false;
  }
  uint64_t n = 0;
  if (!r.U64(s.next_order) || !r.Count(n, 3)) return false;
  s.keys.clear();
  s.counters.candidates_retained = 0;
  for (uint64_t i = 0; i < n; ++i) {
    JoinKey key;
    KeyState ks;
    if (!r.Join(key) || !r.U64(ks.emitted) || !r.U64(ks.seen_order)) return false;
    if (key.size() != s.spec.key_count) return r.Fail("a sample key (wrong size)");
    ks.stages.resize(s.spec.stage_count);
    for (auto& list : ks.stages) {
      uint64_t count = 0;
      if (!r.Count(count)) return false;
      if (count > s.cap) return r.Fail("a sample's candidates (more than it keeps)");
      for (uint64_t k = 0; k < count; ++k) {
        EventHandle e;
        if (!r.Event(e)) return false;
        if (e == nullptr) return r.Fail("a sample's candidate (an empty event)");
        list.push_back(std::move(e));
      }
      s.counters.candidates_retained += list.size();
    }
    if (!s.keys.try_emplace(std::move(key), std::move(ks)).second) {
      return r.Fail("a sample key (listed twice)");
    }
  }
  if (!r.Count(n, 2)) return false;
  s.key_fifo.clear();
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t order = 0;
    JoinKey key;
    if (!r.U64(order) || !r.Join(key)) return false;
    s.key_fifo.emplace_back(order, std::move(key));
  }
  if (!s.pipe.Load(r, [&](SnapshotReader& rr, JoinAlert& a) {
        return LoadJoinAlert(rr, a, s.spec.stage_count, s.spec.key_count, false);
      })) {
    return false;
  }
  s.counters.keys_live = s.keys.size();
  return true;
}

bool SampleOperator::done() const { return state_->pipe.done(); }
const SampleCounters& SampleOperator::counters() const { return state_->counters; }

std::string SampleOperator::Explain() const {
  const State& s = *state_;
  return fmt::format("sample keys={} filters={} max_samples_per_key={}{} cap_keys={}",
                     s.spec.key_count, s.spec.stage_count, s.spec.max_samples_per_key,
                     s.spec.eager ? " eager" : "", s.spec.max_keys);
}

}  // namespace eql::runtime
