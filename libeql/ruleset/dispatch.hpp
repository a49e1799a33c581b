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
//      through `and`, and through `or` when every branch constrains the same
//      field), pick the most selective one, and file the unit under each of
//      its values. An event then reaches an anchored unit only if one of its
//      values of the anchor field is one of them.
//
// The anchors are necessary conditions, never sufficient: every candidate is
// still evaluated in full, so the index can only save work, never change an
// answer. Keys are case-folded on both sides (the evaluator's folding), which
// makes one index serve `==` (case-sensitive) and `:`/`in~` (insensitive): a
// case-sensitive match is also a folded match. An event whose anchor value is
// not a string (a number compared with "4") reaches every unit of that anchor.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "analysis/program.hpp"
#include "io/record.hpp"

namespace eql::ruleset {

//! A field and the values of it one of which an event must have.
struct LiteralConstraint {
  io::FieldId field = 0;
  std::vector<std::string> folded_values;  //!< distinct, case-folded
};

// RequiredLiterals()
//
// Every constraint the condition implies (one per field at most), derived
// from its top-level `and`/`or` structure; empty when none is implied.
std::vector<LiteralConstraint> RequiredLiterals(const analysis::Program& program);

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
                  std::vector<uint32_t>& out) const;

  struct Summary {
    size_t units = 0;
    size_t anchored = 0;  //!< units filed under a literal anchor
    size_t anchor_fields = 0;
  };
  Summary summary() const;

 private:
  struct Anchor {
    io::FieldId field = 0;
    absl::flat_hash_map<std::string, std::vector<uint32_t>> by_value;
    std::vector<uint32_t> all;  //!< every unit of this anchor, in order
  };
  struct Table {
    std::vector<uint32_t> always;  //!< units without an anchor
    std::vector<Anchor> anchors;
  };
  void Collect(const Table& table, const io::Record& record, std::vector<uint32_t>& out) const;

  absl::flat_hash_map<std::string, Table> by_category_;
  Table any_;
  bool use_anchors_ = true;
  size_t units_ = 0;
  size_t anchored_ = 0;
};

}  // namespace eql::ruleset
