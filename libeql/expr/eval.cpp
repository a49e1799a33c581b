// libeql/expr/eval.cpp
#include "expr/eval.hpp"

#include <re2/re2.h>

#include <algorithm>
#include <span>

#include "expr/shared_leaves.hpp"
#include "io/timestamp.hpp"

namespace eql::expr {

namespace {

using analysis::Arena;
using analysis::InSet;
using analysis::MatchSet;
using analysis::Node;
using analysis::Op;
using analysis::Program;
using analysis::ToTri;
using analysis::TriOf;
using ast::CompareOp;
using io::FieldId;
using io::Record;

// Debian's abseil has its own string_view type for heterogeneous lookup.
inline absl::string_view Key(std::string_view s) { return {s.data(), s.size()}; }

// Per-thread scratch: bindings of array elements, and the string arena.
struct Scratch {
  Arena arena;
  std::string fold;  // a text with its ASCII letters lowered
  std::vector<Scalar> bound;
  std::vector<uint8_t> is_bound;
};

thread_local Scratch tls_scratch;

// Combinations tried by one predicate over several array fields, at most:
// beyond it the predicate gives what it has found so far (a crafted event
// with two 10^4-element arrays cannot stall the engine).
constexpr uint64_t kMaxCombinations = 1 << 16;

inline Tri And3(Tri a, Tri b) {
  if (a == Tri::kFalse || b == Tri::kFalse) return Tri::kFalse;
  if (a == Tri::kTrue && b == Tri::kTrue) return Tri::kTrue;
  return Tri::kNull;
}

// Folds three-valued results of "any element" tries: true wins, then false.
inline void Accumulate(Tri& acc, Tri t) {
  if (t == Tri::kTrue || acc == Tri::kTrue) {
    acc = Tri::kTrue;
  } else if (t == Tri::kFalse) {
    acc = Tri::kFalse;
  }
}

class Evaluator {
 public:
  Evaluator(const Program& p, const Record& r, Scratch& s)
      : Evaluator(p, r, s, ScopedLeafMemo(r)) {}
  Evaluator(const Program& p, const Record& r, Scratch& s, LeafMemo* memo)
      : p_(p), r_(r), s_(s), memo_(memo) {
    if (s_.is_bound.size() < p_.field_limit) {
      s_.is_bound.resize(p_.field_limit, 0);
      s_.bound.resize(p_.field_limit);
    }
  }

  // A condition's value. `in_script`: the condition is an operand inside a
  // script (`null == (a > 1)`, `string(a : "x")`), where everything is
  // three-valued; otherwise it is part of the bool query, where every leaf is
  // two-valued (a field query does not match a missing field; a script
  // filter is null-safe) and `not` is must_not.
  Tri Pred(uint32_t index, bool in_script = false) {
    const Node& n = p_.nodes[index];
    switch (n.op) {
      case Op::kAnd: {
        Tri a = Pred(n.a, in_script);
        if (a == Tri::kFalse) return a;
        return And3(a, Pred(n.b, in_script));
      }
      case Op::kOr: {
        Tri a = Pred(n.a, in_script);
        if (a == Tri::kTrue) return a;
        Tri b = Pred(n.b, in_script);
        if (b == Tri::kTrue) return b;
        return a == Tri::kNull || b == Tri::kNull ? Tri::kNull : Tri::kFalse;
      }
      case Op::kNot: {
        // In the bool query `not` is must_not (a multi-value-aware script
        // hoists its `not` out of the per-value test the same way); inside
        // a script operand it is three-valued.
        Tri t = Pred(n.a, in_script);
        if (in_script) return analysis::Not(t);
        return t == Tri::kTrue ? Tri::kFalse : Tri::kTrue;
      }
      case Op::kConst:
        return TriOf(p_.consts[n.a]);
      case Op::kFieldCompare:
      case Op::kFieldMatch:
      case Op::kFieldIn:
      case Op::kFieldNotNull:
        return Negated(n, Leaf(n), in_script);
      case Op::kNotNull: {
        // Its negation (== null) is applied per combination, in Once().
        uint64_t budget = kMaxCombinations;
        Tri t = Enumerate(n, 0, budget);
        return !in_script && t == Tri::kNull ? Tri::kFalse : t;
      }
      case Op::kTruthy:
      case Op::kCompare:
      case Op::kMatch:
      case Op::kIn: {
        uint64_t budget = kMaxCombinations;
        return Negated(n, Enumerate(n, 0, budget), in_script);
      }
      default:
        return TriOf(Value(index));
    }
  }

  Scalar Value(uint32_t index) {
    const Node& n = p_.nodes[index];
    switch (n.op) {
      case Op::kConst:
        return p_.consts[n.a];
      case Op::kField: {
        if (s_.is_bound[n.a]) return s_.bound[n.a];
        for (Scalar v : r_.Get(n.a)) {
          if (!v.is_null()) return v;
        }
        return Scalar();
      }
      case Op::kArith:
        return analysis::Arithmetic(static_cast<ast::ArithOp>(n.sub), Value(n.a), Value(n.b));
      case Op::kNegate:
        return analysis::Negate(Value(n.a));
      case Op::kCall: {
        Scalar small[8];
        std::vector<Scalar> big;
        Scalar* args = small;
        if (n.b > 8) {
          big.resize(n.b);
          args = big.data();
        }
        for (uint32_t i = 0; i < n.b; ++i) args[i] = Value(p_.lists[n.a + i]);
        const std::vector<analysis::CidrBlock>* cidrs = n.c == 0 ? nullptr : &p_.cidr_sets[n.c - 1];
        return analysis::CallFunction(static_cast<analysis::Function>(n.sub), n.case_insensitive,
                                      std::span<const Scalar>(args, n.b), cidrs, s_.arena);
      }
      default:
        return analysis::ScalarOf(Pred(index, /*in_script=*/true));
    }
  }

  // Visits every combination of the values of a generic predicate's fields
  // (a missing field is one null), binding each; combines the tries.
  Tri Enumerate(const Node& n, uint32_t k, uint64_t& budget) {
    if (k == n.fields_count) {
      if (budget == 0) return Tri::kNull;
      --budget;
      return Once(n);
    }
    FieldId f = p_.lists[n.fields_begin + k];
    if (s_.is_bound[f]) return Enumerate(n, k + 1, budget);
    // Like doc values, an array's nulls are no values; a field with no
    // value at all is tried once, as null.
    Record::Values values = r_.Get(f);
    s_.is_bound[f] = 1;
    Tri acc = Tri::kNull;
    bool any = false;
    for (Scalar v : values) {
      if (v.is_null()) continue;
      any = true;
      s_.bound[f] = v;
      Accumulate(acc, Enumerate(n, k + 1, budget));
      if (acc == Tri::kTrue || budget == 0) break;
    }
    if (!any) {
      s_.bound[f] = Scalar();
      acc = Enumerate(n, k + 1, budget);
    }
    s_.is_bound[f] = 0;
    return acc;
  }

  // One try of a generic predicate with the current bindings (not negated).
  Tri Once(const Node& n) {
    switch (n.op) {
      case Op::kTruthy:
        return TriOf(Value(n.a));
      case Op::kCompare:
        return analysis::Compare(static_cast<CompareOp>(n.sub), Value(n.a), Value(n.b));
      case Op::kNotNull:
        // `x == null` of a computed x: tested per value combination.
        return ToTri(Value(n.a).is_null() == n.negate);
      case Op::kMatch:
        return MatchOne(p_.match_sets[n.b], Value(n.a));
      case Op::kIn: {
        Scalar subject = Value(n.a);
        if (subject.is_null()) return Tri::kNull;
        if (InOne(p_.in_sets[n.b], subject)) return Tri::kTrue;
        for (uint32_t i = 0; i < n.d; ++i) {
          Scalar item = Value(p_.lists[n.c + i]);
          Tri t = n.case_insensitive ? analysis::EqualsFolded(subject, item, s_.arena)
                                     : analysis::Compare(CompareOp::kEq, subject, item);
          if (t == Tri::kTrue) return t;
        }
        return Tri::kFalse;
      }
      default:
        return Tri::kNull;
    }
  }

  // A field fast-path leaf before negation: from the event's memo when the
  // caller keeps one for this record and the leaf is shared (a bound element
  // is this node's alone), else computed.
  Tri Leaf(const Node& n) {
    if (n.d == 0 || memo_ == nullptr || (n.a < s_.is_bound.size() && s_.is_bound[n.a])) {
      return Compute(p_, n);
    }
    const uint32_t id = n.d - 1;
    if (memo_->Known(id)) return memo_->Answer(id);
    return FirstAsked(id, &n);
  }

  // Out of line: the memo's answer above is the common case, and stays
  // small enough to inline.
  [[gnu::noinline]] Tri FirstAsked(uint32_t id, const Node* n) { return Unanswered(id, n); }

  // Shared leaf `id` not yet answered for this event: from the answers kept
  // for its field's values in earlier events, else by the automaton, else
  // computed at the leaf's home (any node with its id gives the same answer,
  // and the home is warm in the caches), or at `n` when it has none. `n` may
  // be null when it has one.
  [[gnu::always_inline]] Tri Unanswered(uint32_t id, const Node* n) {
    const SharedMatcher::Home& home = memo_->matcher().home(id);
    Tri t;
    if (const std::vector<uint8_t*>* rows = memo_->CacheRows(id, r_)) {
      t = home.program != nullptr ? ByValue(id, *rows, home.field, home.op, home.operand)
                                  : ByValue(id, *rows, n->a, n->op, analysis::LeafOperand(p_, *n));
    } else {
      const Op op = home.program != nullptr ? home.op : n->op;
      if (op == Op::kFieldMatch && memo_->InAutomaton(id)) {
        t = memo_->MatchByAutomaton(id, r_);
      } else if (home.program != nullptr) {
        t = ComputeAt(home);
      } else {
        t = Compute(p_, *n);
      }
    }
    memo_->Keep(id, t);
    return t;
  }

  // A cached leaf (a wildcard, regex or `in` test: a function of each value
  // alone) over `field`'s values, as ForEachValue combines them: each
  // value's answer from its row of the answer cache (`rows`, one per
  // non-null value), computed and kept there when unknown.
  [[gnu::noinline]] Tri ByValue(uint32_t id, const std::vector<uint8_t*>& rows, FieldId field,
                                Op op, const void* operand) {
    const uint32_t column = memo_->Column(id);
    Tri acc = Tri::kNull;
    size_t k = 0;
    for (Scalar v : r_.Get(field)) {
      if (v.is_null()) continue;
      uint8_t* cell = rows[k++];
      if (cell != nullptr) cell += column;
      Tri one;
      if (cell != nullptr && *cell != 0) {
        one = static_cast<Tri>(*cell - 1);
      } else {
        one = op == Op::kFieldMatch ? MatchOne(*static_cast<const MatchSet*>(operand), v)
                                    : ToTri(InOne(*static_cast<const InSet*>(operand), v));
        if (cell != nullptr) *cell = static_cast<uint8_t>(static_cast<uint8_t>(one) + 1);
      }
      Accumulate(acc, one);
      if (acc == Tri::kTrue) break;
    }
    return acc;
  }

  // A fast-path leaf of program `p`.
  Tri Compute(const Program& p, const Node& n) {
    switch (n.op) {
      case Op::kFieldCompare:
        return FieldCompare(n.a, static_cast<CompareOp>(n.sub), n.date, p.consts[n.b]);
      case Op::kFieldMatch:
        return FieldMatch(n.a, p.match_sets[n.b]);
      case Op::kFieldIn:
        return FieldIn(n.a, p.in_sets[n.b]);
      default:
        return FieldNotNull(n.a);
    }
  }

  // A shared leaf at its home: the same, from the copy the matcher keeps.
  Tri ComputeAt(const SharedMatcher::Home& h) {
    switch (h.op) {
      case Op::kFieldCompare:
        return FieldCompare(h.field, static_cast<CompareOp>(h.sub), h.date,
                            *static_cast<const Scalar*>(h.operand));
      case Op::kFieldMatch:
        return FieldMatch(h.field, *static_cast<const MatchSet*>(h.operand));
      case Op::kFieldIn:
        return FieldIn(h.field, *static_cast<const InSet*>(h.operand));
      default:
        return FieldNotNull(h.field);
    }
  }

  // Shared leaf `leaf` (which has a home) before negation, for the
  // engine's guards.
  Tri LeafAtHome(uint32_t leaf, const SharedMatcher::Home& home) {
    if (memo_ == nullptr) return ComputeAt(home);
    if (memo_->Known(leaf)) return memo_->Answer(leaf);
    return Unanswered(leaf, nullptr);
  }

  // Whether the condition holds, by its branch form (Program::branches): a
  // loop over tests rather than a recursion over nodes, with a shared
  // leaf's answer read straight from the event's memo.
  bool Holds() {
    const analysis::Branch* code = p_.branches.data();
    uint32_t i = p_.branch_entry;
    while (i < analysis::kBranchFalse) {
      const analysis::Branch& b = code[i];
      bool holds;
      if (b.fast) {
        // Nothing is bound at the top of a condition: the memo answers any
        // shared leaf.
        holds = b.shared != 0 && memo_ != nullptr && memo_->Known(b.shared - 1)
                    ? memo_->Answer(b.shared - 1) == Tri::kTrue
                    : Leaf(p_.nodes[b.node]) == Tri::kTrue;
      } else {
        holds = Pred(b.node) == Tri::kTrue;
      }
      i = holds ? b.on_true : b.on_false;
    }
    return i == analysis::kBranchTrue;
  }

  // The value of top-level conjunct `index` in the bool query.
  Tri Conjunct(uint32_t index) { return Negated(p_.nodes[index], Leaf(p_.nodes[index]), false); }

  // Applies the leaf's kind: a two-valued leaf turns null into false, and a
  // negated leaf (!=, not in, == null) is negated after that.
  static Tri Negated(const Node& n, Tri t, bool in_script) {
    if (!in_script && t == Tri::kNull) t = Tri::kFalse;
    return n.negate ? analysis::Not(t) : t;
  }

  // The values a fast-path predicate tests: the bound element when an
  // enclosing predicate has bound the field, else all of them.
  template <class F>
  Tri ForEachValue(FieldId f, F&& test) {
    if (f < s_.is_bound.size() && s_.is_bound[f]) {
      const Scalar& v = s_.bound[f];
      return v.is_null() ? Tri::kNull : test(v);
    }
    Tri acc = Tri::kNull;
    for (Scalar v : r_.Get(f)) {
      if (v.is_null()) continue;
      Accumulate(acc, test(v));
      if (acc == Tri::kTrue) break;
    }
    return acc;
  }

  Tri FieldCompare(FieldId field, CompareOp op, bool date, const Scalar& c) {
    if (date) {
      return ForEachValue(field, [&](const Scalar& v) {
        auto ms = io::TimestampMillis(v);
        return ms ? analysis::Compare(op, Scalar::Int(*ms), c) : Tri::kNull;
      });
    }
    if (c.type == Scalar::Type::kString && op == CompareOp::kEq) {
      return ForEachValue(field, [&](const Scalar& v) {
        if (v.type == Scalar::Type::kString) return ToTri(v.s == c.s);
        return analysis::Compare(op, v, c);
      });
    }
    return ForEachValue(field, [&](const Scalar& v) { return analysis::Compare(op, v, c); });
  }

  Tri MatchOne(const MatchSet& m, const Scalar& v) {
    char buf[32];
    bool ok;
    std::string_view text = analysis::TextOf(v, buf, ok);
    if (!ok) return Tri::kNull;
    if (m.regex) {
      for (size_t i = 0; i < m.regexes.size(); ++i) {
        // A text without the regex's required literal cannot match it; the
        // literal costs a scan, the regex's automaton much more.
        if (i < m.regex_required.size() && !m.regex_required[i].empty() &&
            !analysis::HasRequiredLiteral(text, m.regex_required[i], s_.fold)) {
          continue;
        }
        if (RE2::FullMatch(text, *m.regexes[i])) return Tri::kTrue;
      }
      return Tri::kFalse;
    }
    if (!m.case_insensitive) {
      for (const auto& w : m.wildcards) {
        if (w.Matches(text)) return Tri::kTrue;
      }
      return Tri::kFalse;
    }
    // Case-insensitive: most patterns are decided on the raw ASCII text; the
    // folded copy is made once, and only when some pattern needs it.
    std::string_view folded;
    bool have_folded = false;
    const bool ascii = analysis::IsAscii(text);
    for (const auto& w : m.wildcards) {
      int quick = w.QuickMatchInsensitive(text, ascii);
      if (quick == 1) return Tri::kTrue;
      if (quick == 0) continue;
      if (!have_folded) {
        folded = analysis::FoldInto(text, s_.arena);
        have_folded = true;
      }
      if (w.Matches(folded)) return Tri::kTrue;
    }
    return Tri::kFalse;
  }

  Tri FieldMatch(FieldId field, const MatchSet& m) {
    return ForEachValue(field, [&](const Scalar& v) { return MatchOne(m, v); });
  }

  bool InOne(const InSet& set, const Scalar& v) {
    switch (v.type) {
      case Scalar::Type::kNull:
        return false;
      case Scalar::Type::kBool:
        if (v.b ? set.has_true : set.has_false) return true;
        if (!set.strings.empty()) return set.strings.contains(Key(v.b ? "true" : "false"));
        return false;
      case Scalar::Type::kString: {
        std::string_view s = set.case_insensitive ? analysis::FoldInto(v.s, s_.arena) : v.s;
        if (set.strings.contains(Key(s))) return true;
        for (const Scalar& x : set.numbers) {
          if (analysis::Compare(CompareOp::kEq, v, x) == Tri::kTrue) return true;
        }
        return false;
      }
      default: {
        for (const Scalar& x : set.numbers) {
          if (analysis::Compare(CompareOp::kEq, v, x) == Tri::kTrue) return true;
        }
        if (!set.strings.empty()) {
          // A keyword field indexes the number as its text.
          char buf[32];
          bool ok;
          return set.strings.contains(Key(analysis::TextOf(v, buf, ok)));
        }
        return false;
      }
    }
  }

  Tri FieldIn(FieldId field, const InSet& set) {
    return ForEachValue(field, [&](const Scalar& v) { return ToTri(InOne(set, v)); });
  }

  Tri FieldNotNull(FieldId field) {
    if (field < s_.is_bound.size() && s_.is_bound[field]) {
      return ToTri(!s_.bound[field].is_null());
    }
    return ToTri(r_.HasValue(field));
  }

  // KeyValues over a generic expression: every combination's value.
  void Collect(uint32_t root, const std::vector<FieldId>& fields, size_t k, uint64_t& budget,
               std::vector<Scalar>& out) {
    if (k == fields.size()) {
      if (budget == 0) return;
      --budget;
      Scalar v = Value(root);
      if (!v.is_null() && std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
      return;
    }
    FieldId f = fields[k];
    Record::Values values = r_.Get(f);
    s_.is_bound[f] = 1;
    bool any = false;
    for (Scalar v : values) {
      if (v.is_null()) continue;
      any = true;
      s_.bound[f] = v;
      Collect(root, fields, k + 1, budget, out);
    }
    if (!any) {
      s_.bound[f] = Scalar();
      Collect(root, fields, k + 1, budget, out);
    }
    s_.is_bound[f] = 0;
  }

 private:
  const Program& p_;
  const Record& r_;
  Scratch& s_;
  LeafMemo* memo_;
};

}  // namespace

Tri EvaluateCondition(const analysis::CompiledCondition& condition, const io::Record& record) {
  Scratch& s = tls_scratch;
  s.arena.Reset();
  Evaluator e(*condition.program, record, s);
  return e.Pred(condition.program->root);
}

bool Matches(const analysis::CompiledCondition& condition, const io::Record& record) {
  const Program& program = *condition.program;
  if (program.branches.empty()) return EvaluateCondition(condition, record) == Tri::kTrue;
  Scratch& s = tls_scratch;
  s.arena.Reset();
  Evaluator e(program, record, s);
  return e.Holds();
}

namespace {

// The operands of node `root` of `program` through nested `op` nodes (the
// conjuncts of an `and`, the branches of an `or`), left to right.
std::vector<uint32_t> Flatten(const Program& program, uint32_t root, Op op) {
  std::vector<uint32_t> out;
  std::vector<uint32_t> stack{root};
  while (!stack.empty()) {
    const uint32_t index = stack.back();
    stack.pop_back();
    const Node& n = program.nodes[index];
    if (n.op == op) {
      stack.push_back(n.b);
      stack.push_back(n.a);
    } else {
      out.push_back(index);
    }
  }
  return out;
}

bool IsSharedLeaf(const Node& n) { return analysis::IsFieldLeaf(n.op) && n.d != 0; }

}  // namespace

std::vector<uint32_t> RequiredLeaves(const analysis::Program& program, bool& only_leaves) {
  std::vector<uint32_t> out;
  only_leaves = !program.nodes.empty();
  if (program.nodes.empty()) return out;
  for (uint32_t index : Flatten(program, program.root, Op::kAnd)) {
    if (IsSharedLeaf(program.nodes[index])) {
      out.push_back(index);
    } else {
      only_leaves = false;
    }
  }
  return out;
}

std::vector<std::vector<uint32_t>> RequiredAnyOf(
    const Program& program, size_t max_size,
    const std::function<uint64_t(const analysis::Node&)>& rank) {
  std::vector<std::vector<uint32_t>> out;
  if (program.nodes.empty()) return out;
  // One leaf that must hold for branch `index` to be true, if it has one.
  auto witness = [&](uint32_t index) -> std::optional<uint32_t> {
    std::optional<uint32_t> best;
    for (uint32_t i : Flatten(program, index, Op::kAnd)) {
      const Node& n = program.nodes[i];
      if (IsSharedLeaf(n) && (!best || rank(n) < rank(program.nodes[*best]))) best = i;
    }
    return best;
  };
  for (uint32_t conjunct : Flatten(program, program.root, Op::kAnd)) {
    if (program.nodes[conjunct].op != Op::kOr) continue;
    std::vector<uint32_t> group;
    bool complete = true;
    for (uint32_t branch : Flatten(program, conjunct, Op::kOr)) {
      std::optional<uint32_t> leaf = witness(branch);
      if (!leaf || group.size() == max_size) {
        complete = false;
        break;
      }
      if (std::find(group.begin(), group.end(), *leaf) == group.end()) group.push_back(*leaf);
    }
    if (complete) out.push_back(std::move(group));
  }
  return out;
}

bool ConjunctHolds(const analysis::CompiledCondition& condition, uint32_t node,
                   const io::Record& record) {
  Scratch& s = tls_scratch;
  s.arena.Reset();
  Evaluator e(*condition.program, record, s);
  return e.Conjunct(node) == Tri::kTrue;
}

// What a leaf computed at its home is evaluated in: no program of its own
// (the home holds all the leaf reads).
const Program kNoProgram;

Tri LeafAnswer(const SharedMatcher& matcher, uint32_t leaf, const io::Record& record) {
  Scratch& s = tls_scratch;
  s.arena.Reset();
  Evaluator e(kNoProgram, record, s);
  return e.LeafAtHome(leaf, matcher.home(leaf));
}

Tri UnknownLeafAnswer(LeafMemo& memo, uint32_t leaf, const io::Record& record) {
  // A comparison with a constant (`host.os.type == "windows"`, the most
  // common guard) is a loop over the field's values: Evaluator::FieldCompare()
  // without the evaluation around it (nothing is bound at a leaf's home).
  const SharedMatcher::Home& home = memo.matcher().home(leaf);
  if (home.op == Op::kFieldCompare && !home.date) {
    const Scalar& c = *static_cast<const Scalar*>(home.operand);
    const auto op = static_cast<CompareOp>(home.sub);
    const bool string_equality = c.type == Scalar::Type::kString && op == CompareOp::kEq;
    Tri acc = Tri::kNull;
    for (Scalar v : record.Get(home.field)) {
      if (v.is_null()) continue;
      Accumulate(acc, string_equality && v.type == Scalar::Type::kString
                          ? ToTri(v.s == c.s)
                          : analysis::Compare(op, v, c));
      if (acc == Tri::kTrue) break;
    }
    memo.Keep(leaf, acc);
    return acc;
  }
  // Most answers are in the answer cache already (95% of the cells read
  // over the corpus): read them without setting up an evaluation. This is
  // Evaluator::ByValue() without its computing a missing cell.
  if (const std::vector<uint8_t*>* rows = memo.CacheRows(leaf, record)) {
    const uint32_t column = memo.Column(leaf);
    Tri acc = Tri::kNull;
    bool known = true;
    for (const uint8_t* row : *rows) {
      if (row == nullptr || row[column] == 0) {
        known = false;
        break;
      }
      Accumulate(acc, static_cast<Tri>(row[column] - 1));
      if (acc == Tri::kTrue) break;
    }
    if (known) {
      memo.Keep(leaf, acc);
      return acc;
    }
  }
  Scratch& s = tls_scratch;
  s.arena.Reset();
  Evaluator e(kNoProgram, record, s, &memo);
  return e.Unanswered(leaf, nullptr);
}

void KeyValues(const analysis::CompiledKey& key, const io::Record& record,
               std::vector<Scalar>& out) {
  out.clear();
  if (key.is_field) {
    for (Scalar v : record.Get(key.field)) {
      if (!v.is_null() && std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
    }
    return;
  }
  Scratch& s = tls_scratch;
  s.arena.Reset();
  Evaluator e(*key.program, record, s);
  uint64_t budget = kMaxCombinations;
  e.Collect(key.program->root, key.program->fields, 0, budget, out);
}

Scalar Evaluate(const analysis::CompiledExpr& expr, const io::Record& record) {
  Scratch& s = tls_scratch;
  s.arena.Reset();
  Evaluator e(*expr.program, record, s);
  return e.Value(expr.program->root);
}

}  // namespace eql::expr
