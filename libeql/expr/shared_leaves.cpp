// libeql/expr/shared_leaves.cpp
#include "expr/shared_leaves.hpp"

#include <hs.h>

#include <algorithm>
#include <cstring>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "analysis/program.hpp"

namespace eql::expr {

using analysis::Tri;

namespace {

// The longest run of literal bytes of a (folded, for a case-insensitive set)
// wildcard pattern: every text the pattern matches contains it.
std::string_view Factor(std::string_view pattern) {
  std::string_view best;
  size_t start = 0;
  for (size_t i = 0; i <= pattern.size(); ++i) {
    if (i == pattern.size() || pattern[i] == '*' || pattern[i] == '?') {
      if (i - start > best.size()) best = pattern.substr(start, i - start);
      start = i + 1;
    }
  }
  return best;
}

thread_local const EventScope* tls_scope = nullptr;

// Calls f(text) for each value of `field` that has a text (what the
// evaluator's MatchOne tests), until f returns true; whether any value had
// one.
template <class F>
bool ForEachText(const io::Record& record, io::FieldId field, F&& f) {
  bool any = false;
  for (io::Scalar v : record.Get(field)) {
    if (v.is_null()) continue;
    char buf[32];
    bool ok;
    const std::string_view text = analysis::TextOf(v, buf, ok);
    if (!ok) continue;
    any = true;
    if (f(text)) break;
  }
  return any;
}

}  // namespace

std::unique_ptr<SharedMatcher> SharedMatcher::Build(
    const analysis::SharedLeaves& leaves, bool use_automaton, bool cache_by_value,
    std::span<const analysis::Program* const> programs) {
  std::unique_ptr<SharedMatcher> m(new SharedMatcher());
  const auto& all = leaves.match_sets();
  m->leaf_count_ = leaves.size();
  m->homes_.resize(leaves.size());
  for (const analysis::Program* p : programs) {
    if (p == nullptr) continue;
    for (uint32_t i = 0; i < p->nodes.size(); ++i) {
      const analysis::Node& n = p->nodes[i];
      const uint32_t d = n.d;
      const analysis::Op op = n.op;
      if (!analysis::IsFieldLeaf(op) || d == 0 || d > leaves.size() ||
          m->homes_[d - 1].program != nullptr) {
        continue;
      }
      Home& home = m->homes_[d - 1];
      home.program = p;
      home.operand = analysis::LeafOperand(*p, n);
      home.field = n.a;
      home.op = op;
      home.sub = n.sub;
      home.date = n.date;
    }
  }
  m->summary_.leaves = leaves.size();
  m->summary_.merged = leaves.merged();
  // The answer cache: one per field that has leaves worth keeping, a column
  // per such leaf.
  if (cache_by_value) {
    absl::flat_hash_map<io::FieldId, int32_t> cache_of_field;
    // A field compared with a text has one too, so that it can keep
    // verdicts (LeafMemo::Verdicts()); the width counts only the leaves kept
    // by value (a comparison is quicker to make than to look up).
    for (uint32_t leaf = 0; leaf < leaves.info().size(); ++leaf) {
      const analysis::SharedLeafInfo& info = leaves.info()[leaf];
      const Home& home = m->homes_[leaf];
      const bool compared_with_text =
          home.program != nullptr && home.op == analysis::Op::kFieldCompare && !home.date &&
          static_cast<const io::Scalar*>(home.operand)->type == io::Scalar::Type::kString;
      if (!info.keep_by_value && !compared_with_text) continue;
      auto [it, added] =
          cache_of_field.try_emplace(info.field, static_cast<int32_t>(m->cached_fields_.size()));
      if (added) {
        if (it->second > INT16_MAX) {  // Home::cache's range: this field is not cached
          cache_of_field.erase(it);
          continue;
        }
        m->cached_fields_.push_back({.field = info.field});
      }
      if (!info.keep_by_value) continue;
      // Home::column's range: the field's other leaves are not cached.
      if (m->cached_fields_[it->second].width > UINT16_MAX) continue;
      m->homes_[leaf].cache = static_cast<int16_t>(it->second);
      m->homes_[leaf].column = static_cast<uint16_t>(m->cached_fields_[it->second].width++);
      ++m->summary_.cached_leaves;
    }
    m->summary_.cached_fields = m->cached_fields_.size();
    for (const auto& [field, cache] : cache_of_field) {
      if (m->cache_of_field_.size() <= field) m->cache_of_field_.resize(field + 1, -1);
      m->cache_of_field_[field] = static_cast<int16_t>(cache);
    }
  }
  if (!use_automaton) return m;  // every leaf is computed by the evaluator
  m->sets_.resize(all.size());
  if (use_automaton && hs_valid_platform() != HS_SUCCESS) {
    m->summary_.error = "Hyperscan cannot run on this CPU (it needs SSSE3)";
    use_automaton = false;
  }
  m->summary_.sets = all.size();
  // Groups: one per (field, case mode), in order of first use. Per group,
  // the distinct factors and, for each, the patterns that have it.
  absl::flat_hash_map<uint64_t, uint32_t> group_of;
  struct Pending {
    absl::flat_hash_map<std::string, uint32_t> factor_id;
    std::vector<std::string> factors;
    std::vector<std::vector<Entry>> entries;  // per factor
    std::vector<uint32_t> sets;
  };
  std::vector<Pending> pending;
  for (uint32_t id = 0; id < all.size(); ++id) {
    const analysis::SharedMatchSet& s = all[id];
    const uint64_t key = (uint64_t{s.field} << 1) | (s.case_insensitive ? 1 : 0);
    auto [it, inserted] = group_of.try_emplace(key, static_cast<uint32_t>(m->groups_.size()));
    if (inserted) {
      Group& group = m->groups_.emplace_back();
      group.field = s.field;
      group.case_insensitive = s.case_insensitive;
      pending.emplace_back();
    }
    Set& out = m->sets_[id];
    out.group = it->second;
    for (const std::string& text : s.patterns) {
      out.patterns.push_back(analysis::WildcardPattern::Compile(text, s.case_insensitive));
    }
    Pending& p = pending[out.group];
    p.sets.push_back(id);
    for (uint32_t i = 0; i < s.patterns.size(); ++i) {
      const std::string folded =
          s.case_insensitive ? analysis::FoldCase(s.patterns[i]) : s.patterns[i];
      const std::string_view factor = Factor(folded);
      if (factor.size() < kMinFactor) {
        out.loop.push_back(i);
        continue;
      }
      auto [f, added] =
          p.factor_id.try_emplace(std::string(factor), static_cast<uint32_t>(p.factors.size()));
      if (added) {
        p.factors.emplace_back(factor);
        p.entries.emplace_back();
      }
      p.entries[f->second].push_back({.set = id, .pattern = i});
      out.in_automaton = true;
    }
  }
  for (uint32_t g = 0; g < m->groups_.size(); ++g) {
    Pending& p = pending[g];
    Group& group = m->groups_[g];
    if (p.factors.empty()) continue;
    std::vector<const char*> texts;
    std::vector<size_t> lengths;
    std::vector<unsigned> ids;
    for (uint32_t f = 0; f < p.factors.size(); ++f) {
      texts.push_back(p.factors[f].data());
      lengths.push_back(p.factors[f].size());
      ids.push_back(f);
    }
    // Both sides are folded already: the literals are matched byte for byte.
    std::vector<unsigned> flags(texts.size(), HS_FLAG_SINGLEMATCH);
    hs_database_t* db = nullptr;
    hs_compile_error_t* error = nullptr;
    if (hs_compile_lit_multi(texts.data(), flags.data(), ids.data(), lengths.data(),
                             static_cast<unsigned>(texts.size()), HS_MODE_BLOCK, nullptr, &db,
                             &error) != HS_SUCCESS) {
      // Not expected for plain literals; an answer must not depend on it: the
      // evaluator matches the group's sets itself.
      if (m->summary_.error.empty()) {
        m->summary_.error = error != nullptr && error->message != nullptr
                                ? std::string(error->message)
                                : std::string("Hyperscan compile error");
      }
      hs_free_compile_error(error);
      for (uint32_t id : p.sets) m->sets_[id].in_automaton = false;  // the evaluator's loop
      continue;
    }
    group.db = db;
    group.entry_begin.reserve(p.factors.size() + 1);
    for (auto& list : p.entries) {
      group.entry_begin.push_back(static_cast<uint32_t>(group.entries.size()));
      group.entries.insert(group.entries.end(), list.begin(), list.end());
    }
    group.entry_begin.push_back(static_cast<uint32_t>(group.entries.size()));
    ++m->summary_.databases;
    m->summary_.factors += p.factors.size();
    m->summary_.automaton_patterns += group.entries.size();
  }
  for (uint32_t id = 0; id < m->sets_.size(); ++id) {
    m->summary_.loop_patterns += m->sets_[id].loop.size();
    if (m->sets_[id].in_automaton) m->homes_[all[id].leaf].automaton_set = static_cast<int32_t>(id);
  }
  return m;
}

SharedMatcher::~SharedMatcher() {
  for (Group& g : groups_) hs_free_database(g.db);
}

LeafMemo::LeafMemo(const SharedMatcher& matcher)
    : m_(matcher),
      kept_(matcher.leaf_count_),
      hit_(matcher.sets_.size(), 0),
      scanned_(matcher.groups_.size(), 0),
      testable_(matcher.groups_.size(), 0),
      caches_(matcher.cached_fields_.size()) {
  for (const SharedMatcher::Group& g : m_.groups_) {
    // One scratch serves every database it was allocated (or grown) for.
    if (g.db != nullptr) hs_alloc_scratch(g.db, &scratch_);
  }
}

LeafMemo::~LeafMemo() { hs_free_scratch(scratch_); }

void LeafMemo::BeginEvent() {
  if (++epoch_ == 0) {  // wrapped: forget every stamp, start again at 1
    std::fill(kept_.begin(), kept_.end(), Kept{});
    std::fill(hit_.begin(), hit_.end(), 0);
    std::fill(scanned_.begin(), scanned_.end(), 0);
    for (ValueCache& c : caches_) c.event = 0;
    epoch_ = 1;
  }
}

std::string_view LeafMemo::Folded(std::string_view text) {
  fold_.resize(text.size());
  return {fold_.data(), analysis::FoldCaseInto(text, fold_.data())};
}

int LeafMemo::OnMatch(unsigned int id, unsigned long long, unsigned long long, unsigned int,
                      void* context) {
  static_cast<LeafMemo*>(context)->factor_hits_.push_back(id);
  return 0;
}

void LeafMemo::Scan(uint32_t group, const io::Record& record) {
  scanned_[group] = epoch_;
  const SharedMatcher::Group& g = m_.groups_[group];
  const bool testable = ForEachText(record, g.field, [&](std::string_view text) {
    if (g.db == nullptr || text.size() < SharedMatcher::kMinFactor) return false;
    if (g.case_insensitive) text = Folded(text);
    factor_hits_.clear();
    hs_scan(g.db, text.data(), static_cast<unsigned>(text.size()), 0, scratch_, &OnMatch, this);
    // Verify the patterns whose factor occurs, each set until one matches.
    for (uint32_t f : factor_hits_) {
      for (uint32_t e = g.entry_begin[f]; e < g.entry_begin[f + 1]; ++e) {
        const SharedMatcher::Entry& entry = g.entries[e];
        if (hit_[entry.set] == epoch_) continue;
        if (m_.sets_[entry.set].patterns[entry.pattern].Matches(text)) hit_[entry.set] = epoch_;
      }
    }
    return false;
  });
  testable_[group] = testable ? 1 : 0;
}

Tri LeafMemo::MatchByAutomaton(uint32_t leaf, const io::Record& record) {
  const uint32_t id = static_cast<uint32_t>(m_.homes_[leaf].automaton_set);
  const SharedMatcher::Set& s = m_.sets_[id];
  const SharedMatcher::Group& g = m_.groups_[s.group];
  if (scanned_[s.group] != epoch_) Scan(s.group, record);
  bool hit = hit_[id] == epoch_;
  if (!hit && !s.loop.empty()) {
    ForEachText(record, g.field, [&](std::string_view text) {
      if (g.case_insensitive) text = Folded(text);
      for (uint32_t i : s.loop) {
        if (s.patterns[i].Matches(text)) return hit = true;
      }
      return false;
    });
  }
  return hit ? Tri::kTrue : (testable_[s.group] ? Tri::kFalse : Tri::kNull);
}

void LeafMemo::EnableVerdicts(size_t bits) {
  const size_t words = (bits + 63) / 64;
  verdict_summary_words_ = (words + 63) / 64;
  verdict_stride_ = verdict_summary_words_ + words;
  for (ValueCache& c : caches_) {
    c.absent_verdicts.assign(verdict_stride_, 0);
    // Slots already allocated (none before the first event) get theirs.
    if (!c.hashes.empty()) c.verdicts.assign(size_t{kCacheSlots} * verdict_stride_, 0);
  }
}

bool LeafMemo::SelectRows(ValueCache& cache, const SharedMatcher::CachedField& field,
                          const io::Record& record) {
  const io::Record::Values values = record.Get(field.field);
  cache.single_slot = -1;
  // No value at all (not even a null): every leaf over the field has its
  // answer for an absent field.
  cache.absent = verdict_stride_ != 0 && values.empty();
  if (cache.bypass > 0) {
    --cache.bypass;
    ++cache_counts_.values_skipped;
    return false;
  }
  // Each value (array element) is looked up on its own: an array's
  // elements recur far more often than the whole array does (`-c`,
  // `install`, a script's path), and a leaf's answer over the array is its
  // answers over the elements combined.
  cache.rows.clear();
  int32_t slot = -1;
  for (io::Scalar v : values) {
    if (v.is_null()) continue;
    if (cache.rows.size() == kMaxCachedValues) {
      ++cache_counts_.values_skipped;
      return false;
    }
    // Only texts: a number's answers depend on its type as well.
    const bool keyed = v.type == io::Scalar::Type::kString && v.s.size() <= kMaxCachedKey;
    if (!keyed) ++cache_counts_.values_skipped;
    slot = -1;
    cache.rows.push_back(keyed ? SelectRow(cache, field, v.s, slot) : nullptr);
  }
  if (cache.rows.size() == 1 && cache.rows[0] != nullptr) cache.single_slot = slot;
  return !cache.rows.empty();  // no value: every leaf's answer is null at once
}

uint8_t* LeafMemo::SelectRow(ValueCache& cache, const SharedMatcher::CachedField& field,
                             std::string_view value, int32_t& slot_out) {
  if (cache.hashes.empty()) {
    cache.hashes.assign(kCacheSlots, 0);
    cache.keys.resize(kCacheSlots);
    // At least a byte: a row is non-null for a value that has a slot (all
    // rows are the same byte when no leaf is kept by value).
    cache.cells.assign(size_t{kCacheSlots} * std::max<size_t>(field.width, 1), 0);
    cache.verdicts.assign(size_t{kCacheSlots} * verdict_stride_, 0);
    cache.recent.assign(kCacheSlots / 2, 0);
    cache.seen.assign(kSeenSlots, 0);
  }
  const uint64_t hash = absl::HashOf(absl::string_view(value.data(), value.size()));
  const uint32_t set = static_cast<uint32_t>(hash >> 32) & (kCacheSlots / 2 - 1);
  uint32_t slot = 0;
  bool found = false;
  for (uint32_t way = 0; way < 2 && !found; ++way) {
    slot = set * 2 + way;
    found = cache.hashes[slot] == hash && cache.keys[slot] == value;
  }
  uint8_t* row = cache.cells.data() + size_t{slot} * field.width;
  if (found) {
    ++cache_counts_.values_found;
    ++cache.window_found;
  } else if (uint64_t& seen = cache.seen[hash & (kSeenSlots - 1)]; seen != hash) {
    // A value is let in on its second sighting: one-off values (a unique
    // path, a command line with a fresh temp name) would otherwise push out
    // the ones that recur, and each would cost a slot's reset for nothing.
    seen = hash;
    ++cache_counts_.values_first_seen;
    row = nullptr;
  } else {
    // The way not used last gives its slot; its answers are forgotten.
    slot = set * 2 + (cache.recent[set] ^ 1);
    row = cache.cells.data() + size_t{slot} * field.width;
    cache.hashes[slot] = hash;
    cache.keys[slot].assign(value);
    std::memset(row, 0, field.width);
    if (!cache.verdicts.empty()) {
      std::fill_n(cache.verdicts.data() + size_t{slot} * verdict_stride_, verdict_stride_, 0);
    }
    ++cache_counts_.values_added;
  }
  if (row != nullptr) {
    cache.recent[set] = static_cast<uint8_t>(slot & 1);
    slot_out = static_cast<int32_t>(slot);
  }
  if (++cache.window == kWindow) {
    // Fewer than one value in eight seen again: keeping them costs more
    // than it gives back.
    if (cache.window_found * 8 < kWindow) cache.bypass = kBypassEvents;
    cache.window = cache.window_found = 0;
  }
  return row;
}

EventScope::EventScope(LeafMemo& memo, const io::Record& record)
    : memo_(memo), record_(record), previous_(tls_scope) {
  memo_.BeginEvent();
  tls_scope = this;
}

EventScope::~EventScope() { tls_scope = previous_; }

LeafMemo* ScopedLeafMemo(const io::Record& record) {
  const EventScope* s = tls_scope;
  return s != nullptr && &s->record_ == &record ? &s->memo_ : nullptr;
}

}  // namespace eql::expr
