// libeql/expr/eval.hpp
//
// Evaluation of compiled conditions and expressions over projected records.
// This room (libeql/expr/) runs the Programs that analysis builds: one switch
// over a compact node array, short-circuit and/or, fast paths for the common
// `field <op> constant`, `field : patterns` and `field in (...)` predicates
// that read the record's values directly, and no allocation per event once
// warmed up (string functions and case folding use a per-thread scratch
// arena that is reset at each call).
//
// Semantics are Elasticsearch's (see analysis/semantics.hpp and
// analysis/program.hpp for the exact rules on nulls and arrays).
//
// Thread safety: compiled programs are immutable and may be shared by
// threads; each thread has its own scratch state.
#pragma once

#include <functional>
#include <vector>

#include "analysis/compile.hpp"
#include "io/record.hpp"

namespace eql::expr {

class SharedMatcher;
class LeafMemo;

using analysis::Tri;
using io::Scalar;

// Matches()
//
// Where-clause semantics: true only when the condition is true (null and
// false both reject the event).
bool Matches(const analysis::CompiledCondition& condition, const io::Record& record);

//! The condition's result (for tests and diagnostics). At the top of a
//! condition the bool-query rules make it true or false; null appears only
//! when a null constant takes part (`where null`, `a == 1 and null`).
Tri EvaluateCondition(const analysis::CompiledCondition& condition, const io::Record& record);

// RequiredLeaves() / ConjunctHolds()
//
// The shared leaves (Node::d != 0, analysis/shared_leaves.hpp) among the
// top-level conjuncts of `program`'s bool query: each must hold for the
// condition to be true, so the engine tests them first, from the event's
// LeafMemo (expr/shared_leaves.hpp), and skips the condition when one does
// not. `only_leaves`: the condition is exactly their conjunction (then, all
// holding, it is true without being evaluated).
std::vector<uint32_t> RequiredLeaves(const analysis::Program& program, bool& only_leaves);
//! For each top-level conjunct that is an `or`: shared leaves one of which
//! must hold (two-valued, after negation, as a required leaf) for it to be
//! true, one from each of its branches (through nested `or`s; from an `and`
//! branch, its required leaf that `rank` puts first, lowest rank first).
//! A disjunction with a branch that has no shared leaf to offer gives
//! nothing, nor does one of more than `max_size` branches.
std::vector<std::vector<uint32_t>> RequiredAnyOf(
    const analysis::Program& program, size_t max_size,
    const std::function<uint64_t(const analysis::Node&)>& rank);
//! Whether conjunct `node` of `condition` (one of RequiredLeaves()) holds;
//! also any leaf of RequiredAnyOf() (nothing is bound there either).
bool ConjunctHolds(const analysis::CompiledCondition& condition, uint32_t node,
                   const io::Record& record);

//! Shared leaf `leaf` of `matcher`'s rule set for `record`, before its
//! negation, computed at its home (expr/shared_leaves.hpp; the leaf must
//! have one): the engine tests a unit's required leaves so, without
//! touching the unit's own, cold, program. Kept in the event's memo like any
//! shared leaf when a scope for `record` is open.
Tri LeafAnswer(const SharedMatcher& matcher, uint32_t leaf, const io::Record& record);
//! The same for a leaf with a home that `memo` (open for `record` in an
//! EventScope) does not know yet, without looking for the scope: what the
//! engine's guards call for every leaf they compute.
Tri UnknownLeafAnswer(LeafMemo& memo, uint32_t leaf, const io::Record& record);

// KeyValues()
//
// Replaces `out` with every distinct non-null value of a key expression: for
// a field holding an array, each distinct element (the caller builds the
// cartesian product over several keys); for an expression over array fields,
// its value for each combination of their elements. Empty when the key is
// null or missing (for an `?optional` key, CompiledKey::optional, that means
// the key's value is null, which Elasticsearch then accepts as a key). String
// values point into `record` or into this thread's
// scratch arena: copy them before the next evaluation on this thread or
// before `record` changes.
void KeyValues(const analysis::CompiledKey& key, const io::Record& record,
               std::vector<Scalar>& out);

// Evaluate()
//
// The value of an expression, taking the first non-null value of array
// fields. Same lifetime rule as KeyValues().
Scalar Evaluate(const analysis::CompiledExpr& expr, const io::Record& record);

}  // namespace eql::expr
