// libeql/expr/shared_leaves.hpp
//
// Leaves answered once per event, and every wildcard pattern over a field in
// one pass. A rule pack repeats leaves (`host.os.type == "windows"` in
// hundreds of rules) and writes thousands of `process.command_line : (...)`
// patterns; evaluated rule by rule, an event pays for each leaf each time it
// reaches it, and for each rule's cold program on the way. Here:
//   - LeafMemo (one per engine shard) keeps, for the current event, the
//     answer of every leaf interned in analysis::SharedLeaves: the evaluator
//     (expr/eval.hpp) computes a leaf the first time any rule asks and reads
//     it afterwards, and the engine tests a unit's required leaves from the
//     memo before it touches the unit's program.
//   - SharedMatcher (immutable, shared by threads) takes, per field and case
//     mode, each wildcard pattern's longest literal run (its "factor": a
//     pattern can only match a text that contains it) and compiles them all
//     into one Hyperscan literal database. The first question about a
//     field's patterns scans each of its values once (case-folded for the
//     insensitive database, exactly as the evaluator folds), then verifies
//     only the patterns whose factor occurs, with the simple matcher
//     (analysis::WildcardPattern). Patterns without a factor of kMinFactor
//     bytes (`*`, `?*`, "ab*") are tried directly, as is everything when
//     Hyperscan cannot run on the CPU or a database fails to compile.
//   - EventScope makes the evaluator use a LeafMemo for one record while it
//     lives on this thread; without a scope, or for another record, leaves
//     are evaluated as before.
//   - The answer cache (in LeafMemo) keeps answers across events, by value:
//     event streams repeat their values (the same process names, paths,
//     actions, command lines of scheduled jobs, arguments), and a wildcard,
//     regex or `in` leaf is a function of each of its field's values alone.
//     Per field, a 2-way set-associative table of kCacheSlots recent values
//     (texts of at most kMaxCachedKey bytes) holds one cell per leaf over the
//     field: unknown, or the leaf's answer for that value. An array is looked
//     up element by element and the leaf's answer is its elements' answers
//     combined, as the evaluator combines them. A field whose values rarely
//     repeat (ids, timestamps, unique paths) is bypassed for a while, so it
//     costs only a counter.
//
// Exactness: a leaf's id names its answer on any record (the interning key
// holds everything the answer depends on); the automaton only prefilters (a
// factor is a necessary condition) and every match is the simple matcher's.
// So answers are the same with or without the memo and the automaton
// (tests/expr/shared_leaves_test.cpp checks it on random patterns and texts,
// tests/ruleset/prefilter_equivalence_test.cpp on whole rule sets).
// Compiling literals rather than the patterns as regular expressions keeps
// the corpus's load time low: its 14,900 patterns took Hyperscan 10 s as
// `.*`-joined expressions.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "analysis/program.hpp"
#include "analysis/semantics.hpp"
#include "analysis/shared_leaves.hpp"
#include "io/record.hpp"

struct hs_database;
struct hs_scratch;

namespace eql::expr {

class SharedMatcher {
 public:
  //! `use_automaton` false: every pattern goes to the simple matcher (the
  //! baseline the benchmark compares with; answers are the same).
  //! `cache_by_value` false: no answer is kept beyond its event (likewise).
  //! `programs`: the rule set's compiled conditions; the first node of each
  //! leaf found in them becomes its home (see Home()).
  static std::unique_ptr<SharedMatcher> Build(
      const analysis::SharedLeaves& leaves, bool use_automaton, bool cache_by_value = true,
      std::span<const analysis::Program* const> programs = {});
  ~SharedMatcher();
  SharedMatcher(const SharedMatcher&) = delete;
  SharedMatcher& operator=(const SharedMatcher&) = delete;

  size_t leaf_count() const { return leaf_count_; }

  //! Where leaf `leaf` is computed, whichever rule asks: one program's node
  //! (null program: none was given; the asking node is used), copied here
  //! with a pointer to its operand in that program. A leaf written in 300
  //! rules has 300 nodes, each in its own rule's program and cold in the
  //! caches; computing it always from one compact table and one operand
  //! keeps them warm.
  //! With the rest of what answering the leaf reads (its answer cache and
  //! column, its automaton set), in 32 bytes: one cache line, not four
  //! (a thousand rules' leaves do not stay in the first-level cache).
  struct alignas(32) Home {
    const analysis::Program* program = nullptr;
    //! consts[b] (a Scalar), match_sets[b] or in_sets[b] of `program`.
    const void* operand = nullptr;
    io::FieldId field = 0;
    int32_t automaton_set = -1;  //!< its wildcard set in the automaton, else -1
    int16_t cache = -1;          //!< its field's answer cache, else -1
    uint16_t column = 0;         //!< its cell in that cache's rows
    analysis::Op op = analysis::Op::kConst;
    uint8_t sub = 0;
    bool date = false;
  };
  static_assert(sizeof(Home) == 32);
  const Home& home(uint32_t leaf) const { return homes_[leaf]; }
  //! Shortest factor worth a database entry: shorter ones occur in most
  //! texts, and verifying their patterns would cost what the loop does.
  static constexpr size_t kMinFactor = 3;

  struct Summary {
    size_t leaves = 0;              //!< distinct leaves of the rule set
    size_t merged = 0;              //!< leaves written again elsewhere
    size_t sets = 0;                //!< wildcard sets among them
    size_t databases = 0;           //!< (field, case mode) automata
    size_t factors = 0;             //!< distinct literals compiled into them
    size_t automaton_patterns = 0;  //!< patterns found through a factor
    size_t loop_patterns = 0;       //!< patterns tried directly
    size_t cached_fields = 0;       //!< fields with an answer cache
    size_t cached_leaves = 0;       //!< leaves answered through it
    std::string error;              //!< why a database was not built, if one was not
  };
  const Summary& summary() const { return summary_; }

  //! The answer cache of `field` (an index for LeafMemo::Verdicts()),
  //! or -1 when it has none.
  int32_t CacheOfField(io::FieldId field) const {
    return field < cache_of_field_.size() ? cache_of_field_[field] : -1;
  }

 private:
  friend class LeafMemo;
  SharedMatcher() = default;
  //! A pattern to verify when its factor occurs: set `set`'s pattern
  //! `pattern`.
  struct Entry {
    uint32_t set = 0;
    uint32_t pattern = 0;
  };
  struct Group {
    io::FieldId field = 0;
    bool case_insensitive = false;
    hs_database* db = nullptr;
    //! Per factor id f: entries[entry_begin[f] .. entry_begin[f + 1]).
    std::vector<uint32_t> entry_begin;
    std::vector<Entry> entries;
  };
  struct Set {
    uint32_t group = 0;
    bool in_automaton = false;  //!< some of its patterns have a factor in the database
    std::vector<analysis::WildcardPattern> patterns;  //!< all of them
    std::vector<uint32_t> loop;                       //!< the patterns tried directly (no factor)
  };
  std::vector<Group> groups_;
  std::vector<Set> sets_;
  std::vector<Home> homes_;  //!< per leaf; none straddles two cache lines
  //! The answer cache's layout (per leaf in Home::cache and Home::column):
  //! per cache, the field and row width.
  struct CachedField {
    io::FieldId field = 0;
    uint32_t width = 0;
  };
  std::vector<CachedField> cached_fields_;
  std::vector<int16_t> cache_of_field_;  //!< per field id; -1: none
  size_t leaf_count_ = 0;
  Summary summary_;
};

class LeafMemo {
 public:
  explicit LeafMemo(const SharedMatcher& matcher);
  ~LeafMemo();
  LeafMemo(const LeafMemo&) = delete;
  LeafMemo& operator=(const LeafMemo&) = delete;

  //! Forgets the answers of the previous event.
  void BeginEvent();
  bool Known(uint32_t leaf) const { return kept_[leaf].epoch == epoch_; }
  //! A known leaf's answer (before negation).
  analysis::Tri Answer(uint32_t leaf) const { return kept_[leaf].answer; }
  void Keep(uint32_t leaf, analysis::Tri answer) {
    kept_[leaf] = {.epoch = epoch_, .answer = answer};
  }
  const SharedMatcher& matcher() const { return m_; }
  //! Whether wildcard leaf `leaf` is answered by its field's automaton.
  bool InAutomaton(uint32_t leaf) const { return m_.homes_[leaf].automaton_set >= 0; }
  //! Such a leaf over `record`'s field values: true when a value matches a
  //! pattern, false when some value could be tested and none matched, null
  //! when the field has no testable value (the evaluator's FieldMatch).
  analysis::Tri MatchByAutomaton(uint32_t leaf, const io::Record& record);

  //! Slots of a field's answer cache (kCacheSlots / 2 sets of 2), the
  //! longest value it keeps, and the most values (array elements) an event
  //! may give a field for them to be looked up one by one.
  static constexpr uint32_t kCacheSlots = 256;
  static constexpr size_t kMaxCachedKey = 512;
  static constexpr size_t kMaxCachedValues = 64;
  //! The answer cache's rows for `record`'s non-null values of leaf `leaf`'s
  //! field, one per value in order: null for a value that is not kept (not
  //! a string, too long, or seen for the first time); a leaf's cell in a row
  //! (at Column(leaf)) is 0 while unknown, else 1 + the leaf's answer for
  //! that one value (a Tri). Null when the leaf is not cached, or the field
  //! has no value, too many, or is bypassed (its values rarely repeat). Valid
  //! until the next event.
  const std::vector<uint8_t*>* CacheRows(uint32_t leaf, const io::Record& record) {
    const int32_t c = m_.homes_[leaf].cache;
    if (c < 0) return nullptr;
    const ValueCache& cache = Selected(c, record);
    return cache.usable ? &cache.rows : nullptr;
  }
  uint32_t Column(uint32_t leaf) const { return m_.homes_[leaf].column; }

  //! Verdicts: `bits` bits kept with each slot of every answer cache, and
  //! with the field's absence, for the caller's facts about a field's value
  //! (the engine's: the units a guard on the field ruled out for it). A
  //! slot's bits are cleared when it takes another value. 0 (the default):
  //! none are kept.
  void EnableVerdicts(size_t bits);
  //! A value's verdicts: which of its words are nonzero (a value rules out
  //! a few units here and there: over the corpus 3 words of 21 are), then
  //! the words.
  class VerdictRow {
   public:
    void Set(size_t bit) {
      const size_t w = bit >> 6;
      row_[summary_words_ + w] |= uint64_t{1} << (bit & 63);
      row_[w >> 6] |= uint64_t{1} << (w & 63);
    }
    //! ORs the bits into `out` (as many words as the bits have).
    void OrInto(uint64_t* out) const {
      for (size_t s = 0; s < summary_words_; ++s) {
        for (uint64_t nonzero = row_[s]; nonzero != 0; nonzero &= nonzero - 1) {
          const size_t w = s * 64 + static_cast<size_t>(__builtin_ctzll(nonzero));
          out[w] |= row_[summary_words_ + w];
        }
      }
    }

   private:
    friend class LeafMemo;
    VerdictRow(uint64_t* row, size_t summary_words) : row_(row), summary_words_(summary_words) {}
    uint64_t* row_;
    size_t summary_words_;
  };
  //! The verdict bits of `record`'s value of the field of answer cache
  //! `cache` (SharedMatcher::CacheOfField()): of its slot when the field has
  //! exactly one non-null value and it is kept in the cache, of the field's
  //! absence when it has no value at all (not even a null); else null.
  //! Valid until the next event.
  std::optional<VerdictRow> Verdicts(int32_t cache, const io::Record& record) {
    ValueCache& c = Selected(cache, record);
    if (c.absent) return VerdictRow(c.absent_verdicts.data(), verdict_summary_words_);
    if (!c.usable || c.single_slot < 0 || c.verdicts.empty()) return std::nullopt;
    return VerdictRow(c.verdicts.data() + size_t(c.single_slot) * verdict_stride_,
                      verdict_summary_words_);
  }
  struct CacheCounts {
    uint64_t values_found = 0;       //!< an event's value was in its field's cache
    uint64_t values_added = 0;       //!< it was not, and took a slot
    uint64_t values_skipped = 0;     //!< not cacheable, or the field bypassed
    uint64_t values_first_seen = 0;  //!< not kept: first sighting
  };
  CacheCounts cache_counts() const { return cache_counts_; }

 private:
  struct ValueCache {
    uint32_t event = 0;            //!< epoch at which `rows` were chosen
    bool usable = false;           //!< whether `rows` answer this event
    std::vector<uint8_t*> rows;    //!< per non-null value of this event
    std::vector<uint64_t> hashes;  //!< per slot; allocated on first use
    std::vector<std::string> keys;
    std::vector<uint8_t> cells;   //!< kCacheSlots rows of the field's width
    std::vector<uint64_t> verdicts;  //!< kCacheSlots rows of verdict_stride_
    //! This event's slot when its field has one value and the value has a
    //! slot, else -1; whether the field has no non-null value.
    int32_t single_slot = -1;
    bool absent = false;
    std::vector<uint64_t> absent_verdicts;  //!< verdict_stride_, or empty
    std::vector<uint8_t> recent;  //!< per set: the way used last
    std::vector<uint64_t> seen;   //!< hashes of values seen once (kSeenSlots)
    //! Hit rate over the last window of lookups; a poor one bypasses the
    //! cache for the next kBypassEvents events that ask.
    uint32_t window = 0, window_found = 0, bypass = 0;
  };
  static constexpr uint32_t kWindow = 512;
  static constexpr uint32_t kSeenSlots = 1024;
  static constexpr uint32_t kBypassEvents = 8192;
  bool SelectRows(ValueCache& cache, const SharedMatcher::CachedField& field,
                  const io::Record& record);
  //! Answer cache `c`, its rows chosen for `record` (once an event).
  ValueCache& Selected(int32_t c, const io::Record& record) {
    ValueCache& cache = caches_[c];
    if (cache.event != epoch_) {
      cache.event = epoch_;
      cache.usable = SelectRows(cache, m_.cached_fields_[c], record);
    }
    return cache;
  }
  //! The row of `value` (null if not kept), its slot in `slot`.
  uint8_t* SelectRow(ValueCache& cache, const SharedMatcher::CachedField& field,
                     std::string_view value, int32_t& slot);

  void Scan(uint32_t group, const io::Record& record);
  std::string_view Folded(std::string_view text);
  static int OnMatch(unsigned int id, unsigned long long from, unsigned long long to,
                     unsigned int flags, void* context);

  const SharedMatcher& m_;
  hs_scratch* scratch_ = nullptr;
  uint32_t epoch_ = 1;
  //! Per leaf: the answer and the epoch it was kept at (together: one
  //! cache line holds both for eight leaves).
  struct Kept {
    uint32_t epoch = 0;
    analysis::Tri answer = analysis::Tri::kNull;
  };
  std::vector<Kept> kept_;
  std::vector<uint32_t> hit_;      //!< per set: epoch of the last automaton hit
  std::vector<uint32_t> scanned_;  //!< per group: epoch of the last scan
  std::vector<uint8_t> testable_;  //!< per group: some value had a text
  std::string fold_;
  std::vector<uint32_t> factor_hits_;  //!< factors found in the value being scanned
  std::vector<ValueCache> caches_;     //!< per cached field
  size_t verdict_stride_ = 0;          //!< words per VerdictRow: summary, then bits
  size_t verdict_summary_words_ = 0;
  CacheCounts cache_counts_;
};

//! While alive, evaluations of `record` on this thread use `state`.
class EventScope {
 public:
  EventScope(LeafMemo& memo, const io::Record& record);
  ~EventScope();
  EventScope(const EventScope&) = delete;
  EventScope& operator=(const EventScope&) = delete;

 private:
  friend LeafMemo* ScopedLeafMemo(const io::Record& record);
  LeafMemo& memo_;
  const io::Record& record_;
  const EventScope* previous_;
};

//! The memo of the innermost scope on this thread if it is `record`'s.
LeafMemo* ScopedLeafMemo(const io::Record& record);

}  // namespace eql::expr
