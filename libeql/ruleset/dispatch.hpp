// libeql/ruleset/dispatch.hpp
//
// Which rule units an event can possibly match, decided without evaluating
// them. A unit is one `category where condition` of a rule (an event query,
// a sequence stage, an until clause).
//
// Two indexes, applied one after the other:
//   1. the category: a unit is filed under its category (or as `any`), and an
//      event reaches only the units of its categories;
//   2. a literal anchor: from the unit's condition we derive the equality
//      constants that must hold for it to be true (`process.name == "node"`,
//      `event.action in ("exec", "ProcessRollup2")`, `file.name : "x.js"`,
//      and the fixed start or end of wildcard patterns: `"python*"`,
//      `"*.exe"`; through `and`, and through `or` when every branch
//      constrains the same field), pick the most selective one, and file the
//      unit under each of its keys (an exact value, or the first or last
//      kAffixBytes bytes of a fixed start or end). An event then reaches an
//      anchored unit only if one of its values of the anchor field has one of
//      them. A unit with no such key may still need a field to have a value
//      (`container.id like "?*"`, `url.original : "*select*"`, `x != null`):
//      it is filed under that field's presence, when the field is not one
//      that nearly every event has.
//
// Every category's table also holds the `any` units, so that an event visits
// one table and reads each anchor field once.
//
// The anchors are necessary conditions, never sufficient: every candidate is
// still evaluated in full, so the index can only save work, never change an
// answer. Keys are case-folded on both sides (the evaluator's folding), which
// makes one index serve `==` (case-sensitive) and `:`/`in~` (insensitive): a
// case-sensitive match is also a folded match. An event whose anchor value is
// not a string (a number compared with "4") reaches every unit of that anchor.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "analysis/program.hpp"
#include "io/record.hpp"

namespace eql::ruleset {

//! What an event's value must be like: equal to `text`, or (from a
//! wildcard pattern such as "python*" or "*.exe") start or end with it.
struct LiteralKey {
  //! kPresent: any non-null value (what every positive test on a field
  //! implies: `x != null`, `x > 5`, `x : "*a*"`, `x regex "..."`).
  enum class Kind : uint8_t { kExact, kPrefix, kSuffix, kPresent };
  Kind kind = Kind::kExact;
  std::string text;  //!< case-folded
  bool operator==(const LiteralKey&) const = default;
};

//! A field and the keys one of which one of its values must satisfy (a
//! presence key is alone in its constraint); or, from an `or` whose
//! branches constrain different fields, any one of several such.
struct LiteralConstraint {
  io::FieldId field = 0;
  std::vector<LiteralKey> keys;  //!< distinct
  //! Alternatives: the condition holds only if this (field, keys) or one of
  //! these holds (each without alternatives of its own).
  std::vector<LiteralConstraint> or_else;
};

//! Prefix and suffix keys are indexed by this many bytes of their text
//! (shorter ones are not used as anchors).
inline constexpr size_t kAffixBytes = 3;
//! The kAffixBytes bytes at `p` as one integer.
inline uint32_t AffixKey(const char* p) {
  return static_cast<uint32_t>(static_cast<unsigned char>(p[0])) |
         static_cast<uint32_t>(static_cast<unsigned char>(p[1])) << 8 |
         static_cast<uint32_t>(static_cast<unsigned char>(p[2])) << 16;
}

//! What filing a unit under a constraint costs (lower is better): how many
//! keys it has, more for fields whose few values most events share
//! (`host.os.type`, `event.type`); none when it selects nothing (the mere
//! presence of a field nearly every event has). Without `fields` (names
//! unknown): the keys alone.
struct AnchorCost {
  const io::FieldRegistry* fields = nullptr;
  std::optional<uint64_t> operator()(const LiteralConstraint& c) const;
};

// RequiredLiterals()
//
// Constraints the condition implies, derived from its top-level `and`/`or`
// structure; empty when none is implied. Through `or`: a field constrained
// on both sides, and the pair of one side's constraint and the other's
// that costs least (AnchorCost, with `fields` when given) when it costs
// less than those.
std::vector<LiteralConstraint> RequiredLiterals(const analysis::Program& program,
                                                const io::FieldRegistry* fields = nullptr);

class Dispatcher {
 public:
  //! Without anchors only the category index is used.
  explicit Dispatcher(bool use_anchors = true) : use_anchors_(use_anchors) {}

  //! Files `unit` under `category` (empty and `any`: every event) with the
  //! best anchor of `where` (may be null: no condition), if any. Units must
  //! be added in increasing order.
  void Add(uint32_t unit, bool any, const std::string& category, const analysis::Program* where,
           const io::FieldRegistry& fields);

  //! The units `record` may match, in increasing order, without duplicates.
  void Candidates(const io::Record& record, io::FieldId category_field,
                  std::vector<uint32_t>& out) const {
    MarkCandidates(record, category_field);
    TakeCandidates(out, nullptr);
  }
  //! Candidates() in two halves, so that the caller can rule units out
  //! knowing the table the event reached. MarkCandidates() returns the
  //! table's id: below table_count(), the same for every event that reaches
  //! the same table; table_count() for an event of several categories.
  uint32_t MarkCandidates(const io::Record& record, io::FieldId category_field) const;
  //! The marked units, leaving out those whose bit is set in `ruled_out`
  //! (one bit per unit added; may be null); clears the marks.
  void TakeCandidates(std::vector<uint32_t>& out, const uint64_t* ruled_out) const;
  size_t table_count() const { return by_category_.size() + 1; }

  struct Summary {
    size_t units = 0;
    size_t anchored = 0;  //!< units filed under a literal anchor
    size_t anchor_fields = 0;  //!< (table, field) anchors, the `any` table included
  };
  Summary summary() const;

 private:
  //! What the event loop reads of every anchor of a table, whether the event
  //! has the field or not: packed, so that a table's anchors take a few
  //! cache lines rather than one or more each (the maps are read only for a
  //! value of the field).
  struct AnchorHead {
    io::FieldId field = 0;
    uint8_t flags = 0;
    //! The byte lengths of the exact keys, bit 63 for 63 or more: an ASCII
    //! value, which folding does not shorten, of another length cannot be
    //! one of them, and is neither folded whole nor hashed.
    uint64_t exact_lengths = 0;
  };
  static constexpr uint8_t kHasExact = 1, kHasPrefix = 2, kHasSuffix = 4, kHasPresent = 8,
                           kOnlyPresent = 16;
  static uint64_t LengthBit(size_t length) { return uint64_t{1} << std::min<size_t>(length, 63); }
  struct Anchor {
    absl::flat_hash_map<std::string, std::vector<uint32_t>> exact;
    //! By the first / last kAffixBytes bytes, packed into an integer (AffixKey):
    //! hashing three bytes as a string cost more than the lookup.
    absl::flat_hash_map<uint32_t, std::vector<uint32_t>> prefix;
    absl::flat_hash_map<uint32_t, std::vector<uint32_t>> suffix;
    std::vector<uint32_t> present;  //!< units that need only a value
    std::vector<uint32_t> all;      //!< every unit of this anchor, in order
  };
  //! The units of one category, and those of `any` (filed in every table as
  //! well as in `any_`): an event visits one table, and each anchor field
  //! once, however many of its units are `any`. Anchors in field order, so
  //! that the record's slots are read in address order.
  struct Table {
    uint32_t id = 0;               //!< `any_` 0, the categories 1.. in order of filing
    std::vector<uint32_t> always;  //!< units without an anchor
    std::vector<AnchorHead> heads;
    std::vector<Anchor> anchors;  //!< same order as heads
  };
  // Marks the units of `table` that `record` may match.
  void Collect(const Table& table, const io::Record& record) const;
  void Mark(const std::vector<uint32_t>& units) const {
    for (uint32_t u : units) marks_[u >> 6] |= uint64_t{1} << (u & 63);
  }
  //! Files `unit` under its anchor `best` (null: no anchor) in `table`.
  static void FileUnder(Table& table, uint32_t unit, const LiteralConstraint* best);
  //! Files `unit` under one (field, keys) of its anchor.
  static void File(Table& table, uint32_t unit, const LiteralConstraint& constraint);
  absl::flat_hash_map<std::string, Table> by_category_;
  Table any_;  //!< what an event of no category with units of its own visits
  // Candidates() scratch: one bit per unit, so that the lists' units come
  // out in order and once each without sorting them (the sort was 2% of a
  // rule pack's time). Units are added in increasing order.
  mutable std::vector<uint64_t> marks_;
  bool use_anchors_ = true;
  size_t units_ = 0;
  size_t anchored_ = 0;
};

}  // namespace eql::ruleset
