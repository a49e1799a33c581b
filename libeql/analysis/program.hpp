// libeql/analysis/program.hpp
//
// The compiled form of an EQL condition or value expression: a flat array of
// nodes that the evaluator (libeql/expr/eval.hpp) walks with one switch, with
// every field bound to a registry id, constants typed and folded, and every
// wildcard pattern, regex, `in` list and CIDR block compiled once.
//
// Null and `not` follow how Elasticsearch runs a condition: it translates it
// to a Lucene bool query (and/or/not = must/should/must_not) whose leaves are
// queries on a field (term, range, wildcard, regexp, terms, prefix, exists)
// or multi-value-aware scripts (QueryTranslator.toQuery ->
// Scripts.multiValueDocValuesRewrite). Every leaf is two-valued: a field
// query does not match a missing field, and a script filter is null-safe
// (null -> no match). `not` is must_not, so `not process.name : "x"`,
// `process.name != "x"` and `not length(x) > 1` are all TRUE for an event
// without the field (ExpressionTranslators.Nots: NotQuery, and a script
// hoists its not() outside the per-value test). Three-valued logic remains
// inside a leaf's operands: `null == (exit_code > -1)` is true when exit_code
// is missing, because the comparison there is null.
//
// Array-valued fields follow Elasticsearch's "any value matches" (a term
// query on a multi-valued field, or a script run for each value): each
// predicate node (comparison, match, in, null test, or a boolean used as a
// condition) lists the fields it reads, and the evaluator tries it for every
// combination of their values; the predicate is true if any try is true,
// else false if any is false, else null (an array's nulls are no values, as
// in doc values). On a field, `!=`, `not in` and `== null` are must_not of
// the positive query (`a != "x"` is `not (a == "x")`), so `["x","y"] != "x"`
// is false and a missing field makes `a != "x"` true; over computed values
// they are script tests per combination (`length(a) != 3` is any(!=)).
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "analysis/semantics.hpp"
#include "analysis/text.hpp"
#include "io/record.hpp"

namespace re2 {
class RE2;
}

namespace eql::analysis {

enum class Op : uint8_t {
  kConst,         //!< consts[a]
  kField,         //!< field a (the bound element inside a predicate)
  kAnd,           //!< a and b (short-circuit, three-valued)
  kOr,            //!< a or b
  kNot,           //!< not a
  kTruthy,        //!< predicate: the boolean value a (a field used as a condition)
  kCompare,       //!< predicate: a <sub> b, tested per value combination
  kNotNull,       //!< predicate: a != null; `negate` for a == null
  kMatch,         //!< predicate: a matches match_sets[b]
  kIn,            //!< predicate: a in in_sets[b] or lists[c .. c+d); `negate`: not in
  kArith,         //!< a <sub> b, sub = ArithOp
  kNegate,        //!< -a
  kCall,          //!< function sub over lists[a .. a+b); c = cidr set + 1 (0: none)
  // The field fast paths below keep in d 1 + their id in the rule set's
  // SharedLeaves (analysis/shared_leaves.hpp), 0 when compiled alone.
  kFieldCompare,  //!< predicate fast path: field a <sub> consts[b]; date: as timestamps
  kFieldMatch,    //!< predicate fast path: field a matches match_sets[b]
  kFieldIn,       //!< predicate fast path: field a in in_sets[b]
  kFieldNotNull,  //!< predicate fast path: field a has a non-null value
};

//! One of the field fast paths (kFieldCompare .. kFieldNotNull).
inline bool IsFieldLeaf(Op op) {
  return op == Op::kFieldCompare || op == Op::kFieldMatch || op == Op::kFieldIn ||
         op == Op::kFieldNotNull;
}

struct Node {
  Op op = Op::kConst;
  uint8_t sub = 0;      //!< CompareOp / ArithOp / Function
  bool negate = false;  //!< the predicate's result is negated
  bool case_insensitive = false;
  bool date = false;  //!< compare as epoch millis (timestamp fields)
  //! A leaf Elasticsearch pushes down as a Lucene query (field against
  //! constants) rather than as a script; both are two-valued in the bool
  //! query, the distinction is kept for Explain() and for the engine's
  //! prefilters.
  bool two_valued = false;
  //! A leaf Elasticsearch runs as a script (anything over computed values).
  bool script = false;
  uint32_t a = 0, b = 0, c = 0, d = 0;
  uint32_t fields_begin = 0;  //!< predicates: fields to iterate, in lists[]
  uint32_t fields_count = 0;
};

//! The patterns of one `:` / like / regex, with or without a list.
struct MatchSet {
  bool regex = false;
  bool case_insensitive = false;
  std::vector<WildcardPattern> wildcards;
  std::vector<std::shared_ptr<const re2::RE2>> regexes;
  //! Per regex, a literal every text it matches holds (RegexRequiredLiteral,
  //! lowercase ASCII), or empty: looked for before the regex runs.
  std::vector<std::string> regex_required;
};

//! The constant elements of one `in` list.
struct InSet {
  bool case_insensitive = false;
  absl::flat_hash_set<std::string> strings;  //!< folded when case_insensitive
  std::vector<Scalar> numbers;
  bool has_true = false;
  bool has_false = false;
};

//! One test of a condition's branch form (Program::branches): the value of
//! node `node` in the bool query, then the branch to take next. `fast`: the
//! node is a field fast-path leaf, its negation already folded into the two
//! targets (and `shared` its Node::d); else the evaluator's whole answer for
//! the node is used (a generic predicate, a constant).
struct Branch {
  uint32_t node = 0;
  uint32_t shared = 0;
  uint32_t on_true = 0;
  uint32_t on_false = 0;
  bool fast = false;
};
//! Branch targets that end the evaluation.
inline constexpr uint32_t kBranchTrue = UINT32_MAX;
inline constexpr uint32_t kBranchFalse = UINT32_MAX - 1;

struct Program {
  std::vector<Node> nodes;
  std::vector<uint32_t> lists;  //!< child and field lists
  std::vector<Scalar> consts;
  std::deque<std::string> texts;  //!< storage of string constants (stable)
  std::vector<MatchSet> match_sets;
  std::vector<InSet> in_sets;
  std::vector<std::vector<CidrBlock>> cidr_sets;
  uint32_t root = 0;
  uint32_t field_limit = 0;         //!< 1 + the largest field id read
  std::vector<io::FieldId> fields;  //!< every field read, sorted, distinct
  //! A condition's `and`/`or`/`not` structure as a chain of tests, each
  //! naming the next for either answer (empty for a value's program). In
  //! the bool query null and false lead to the same place (a leaf is
  //! two-valued there, and `not` is must_not), so whether the condition
  //! holds needs no three-valued logic and no recursion: the engine asks it
  //! of about ten conditions an event, some with hundreds of leaves.
  std::vector<Branch> branches;
  uint32_t branch_entry = 0;

  Program() = default;
  Program(const Program&) = delete;  // consts point into texts
  Program& operator=(const Program&) = delete;
  Program(Program&&) = default;
  Program& operator=(Program&&) = default;

  //! A readable dump of the nodes (EXPLAIN-style, for tests and debugging).
  std::string Explain() const;
};

//! The operand of field leaf `n` (IsFieldLeaf) of `p`: consts[b] (a Scalar)
//! for kFieldCompare, match_sets[b] for kFieldMatch, in_sets[b] for
//! kFieldIn; null for kFieldNotNull.
inline const void* LeafOperand(const Program& p, const Node& n) {
  switch (n.op) {
    case Op::kFieldCompare:
      return &p.consts[n.b];
    case Op::kFieldMatch:
      return &p.match_sets[n.b];
    case Op::kFieldIn:
      return &p.in_sets[n.b];
    default:
      return nullptr;
  }
}

}  // namespace eql::analysis
