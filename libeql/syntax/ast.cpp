// libeql/syntax/ast.cpp
//
// Structural comparison of syntax trees (locations ignored) and field names.
#include "syntax/ast.hpp"

#include <cstring>

namespace eql::ast {
namespace {

bool SameList(const std::vector<Expr>& a, const std::vector<Expr>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!a[i].SameAs(b[i])) return false;
  }
  return true;
}

}  // namespace

bool Expr::SameAs(const Expr& o) const {
  if (kind != o.kind || op != o.op || case_insensitive != o.case_insensitive ||
      negated != o.negated || optional != o.optional) {
    return false;
  }
  switch (kind) {
    case ExprKind::kBool:
      if (boolean != o.boolean) return false;
      break;
    case ExprKind::kInt:
      if (integer != o.integer) return false;
      break;
    case ExprKind::kFloat:
      // Bitwise, so that NaN equals itself and -0.0 differs from 0.0.
      if (std::memcmp(&real, &o.real, sizeof real) != 0) return false;
      break;
    case ExprKind::kString:
    case ExprKind::kCall:
      if (text != o.text) return false;
      break;
    case ExprKind::kField:
      if (path != o.path) return false;
      break;
    default:
      break;
  }
  return SameList(args, o.args);
}

std::string Expr::FieldName() const {
  std::string name;
  for (const PathSegment& s : path) {
    if (s.index) {
      name += "[" + std::to_string(*s.index) + "]";
      continue;
    }
    if (!name.empty()) name += '.';
    name += s.name;
  }
  return name;
}

bool EventQuery::SameAs(const EventQuery& o) const {
  return category == o.category && is_any == o.is_any && condition.SameAs(o.condition);
}

bool Stage::SameAs(const Stage& o) const {
  return query.SameAs(o.query) && SameList(by, o.by) && runs == o.runs && missing == o.missing;
}

bool Sequence::SameAs(const Sequence& o) const {
  if (!SameList(by, o.by) || maxspan.has_value() != o.maxspan.has_value()) return false;
  if (maxspan && (maxspan->value != o.maxspan->value || maxspan->unit != o.maxspan->unit)) {
    return false;
  }
  if (stages.size() != o.stages.size() || until.has_value() != o.until.has_value()) return false;
  for (size_t i = 0; i < stages.size(); ++i) {
    if (!stages[i].SameAs(o.stages[i])) return false;
  }
  return !until || until->SameAs(*o.until);
}

bool Sample::SameAs(const Sample& o) const {
  if (!SameList(by, o.by) || stages.size() != o.stages.size()) return false;
  for (size_t i = 0; i < stages.size(); ++i) {
    if (!stages[i].SameAs(o.stages[i])) return false;
  }
  return true;
}

bool Query::SameAs(const Query& o) const {
  if (kind != o.kind || pipes != o.pipes) return false;
  switch (kind) {
    case QueryKind::kEvent:
      return event.SameAs(o.event);
    case QueryKind::kSequence:
      return sequence.SameAs(o.sequence);
    case QueryKind::kSample:
      return sample.SameAs(o.sample);
  }
  return false;
}

}  // namespace eql::ast
