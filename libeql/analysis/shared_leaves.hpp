// libeql/analysis/shared_leaves.hpp
//
// The leaves of a whole rule set, interned. When a rule set is compiled
// together (ruleset/engine.cpp), every field fast-path predicate
// (`field == const`, `field in (...)`, `field : (...)`, `field regex ...`,
// `field != null`) is registered here, and its node keeps the id (Node::d =
// 1 + id). Two leaves with one id give the same answer on every event,
// whatever rule or stage they are written in; so that
//   - a leaf written in many rules (`host.os.type == "windows"`,
//     `event.type == "start"`, one list of process names) is evaluated once
//     per event (expr/shared_match.hpp keeps the answers), and the engine can
//     rule a unit out on a required leaf before it touches the unit's
//     program;
//   - all the wildcard patterns over one field, across every rule, can be
//     matched in one pass (expr/shared_match.hpp's automaton).
// The id stands for the leaf's value before its negation (`!=`, `not in`,
// `== null` share the id of the positive test).
// Registration only collects; the evaluator ignores the ids unless it runs
// inside a scope that keeps answers for the record, so a program compiled
// with a registry evaluates the same with or without one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "io/record.hpp"

namespace eql::analysis {

struct Node;
struct Program;

//! A wildcard `:`/like leaf: the field, the case mode, and its patterns as
//! written (the set means "any of them").
struct SharedMatchSet {
  uint32_t leaf = 0;
  io::FieldId field = 0;
  bool case_insensitive = false;
  std::vector<std::string> patterns;
};

//! What the answer cache needs of a leaf: its field, and whether its answer
//! is worth keeping by the field's value (expr/shared_leaves.hpp): a
//! wildcard, regex or `in` leaf costs more to compute than to look up;
//! `==`, `<`, `!= null` cost less.
struct SharedLeafInfo {
  io::FieldId field = 0;
  bool keep_by_value = false;
};

class SharedLeaves {
 public:
  //! The id of fast-path node `n` (not yet added) of `program`, whose
  //! constants, sets and patterns are already there; false for other nodes.
  bool Intern(const Program& program, const Node& n, uint32_t& id);
  size_t size() const { return count_; }
  //! The wildcard sets among the leaves.
  const std::vector<SharedMatchSet>& match_sets() const { return match_sets_; }
  //! How many registrations found their leaf already there.
  uint64_t merged() const { return merged_; }
  //! Per leaf id.
  const std::vector<SharedLeafInfo>& info() const { return info_; }

 private:
  absl::flat_hash_map<std::string, uint32_t> index_;
  std::vector<SharedMatchSet> match_sets_;
  std::vector<SharedLeafInfo> info_;
  uint32_t count_ = 0;
  uint64_t merged_ = 0;
};

}  // namespace eql::analysis
