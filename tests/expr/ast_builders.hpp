// tests/expr/ast_builders.hpp
//
// Small helpers that build syntax trees by hand, so that analysis and
// evaluation can be tested without the parser.
#pragma once

#include <string>
#include <vector>

#include "syntax/ast.hpp"

namespace eql::testing {

inline ast::Expr Field(std::string_view dotted, bool optional = false) {
  ast::Expr e;
  e.kind = ast::ExprKind::kField;
  size_t start = 0;
  for (;;) {
    size_t dot = dotted.find('.', start);
    ast::PathSegment s;
    s.name = std::string(dotted.substr(start, dot == std::string_view::npos ? dot : dot - start));
    e.path.push_back(s);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  e.optional = optional;
  return e;
}
inline ast::Expr Str(std::string_view v) {
  ast::Expr e;
  e.kind = ast::ExprKind::kString;
  e.text = std::string(v);
  return e;
}
inline ast::Expr Int(int64_t v) {
  ast::Expr e;
  e.kind = ast::ExprKind::kInt;
  e.integer = v;
  return e;
}
inline ast::Expr Real(double v) {
  ast::Expr e;
  e.kind = ast::ExprKind::kFloat;
  e.real = v;
  return e;
}
inline ast::Expr Bool(bool v) {
  ast::Expr e;
  e.kind = ast::ExprKind::kBool;
  e.boolean = v;
  return e;
}
inline ast::Expr Null() { return ast::Expr{}; }
inline ast::Expr Cmp(ast::Expr a, ast::CompareOp op, ast::Expr b) {
  ast::Expr e;
  e.kind = ast::ExprKind::kCompare;
  e.op = static_cast<uint8_t>(op);
  e.args = {std::move(a), std::move(b)};
  return e;
}
inline ast::Expr Eq(ast::Expr a, ast::Expr b) {
  return Cmp(std::move(a), ast::CompareOp::kEq, std::move(b));
}
inline ast::Expr Ne(ast::Expr a, ast::Expr b) {
  return Cmp(std::move(a), ast::CompareOp::kNe, std::move(b));
}
inline ast::Expr Logic(ast::ExprKind kind, ast::Expr a, ast::Expr b) {
  ast::Expr e;
  e.kind = kind;
  e.args = {std::move(a), std::move(b)};
  return e;
}
inline ast::Expr And(ast::Expr a, ast::Expr b) {
  return Logic(ast::ExprKind::kAnd, std::move(a), std::move(b));
}
inline ast::Expr Or(ast::Expr a, ast::Expr b) {
  return Logic(ast::ExprKind::kOr, std::move(a), std::move(b));
}
inline ast::Expr Not(ast::Expr a) {
  ast::Expr e;
  e.kind = ast::ExprKind::kNot;
  e.args = {std::move(a)};
  return e;
}
inline ast::Expr Match(ast::Expr subject, ast::MatchOp op, std::vector<ast::Expr> patterns,
                       bool insensitive = false) {
  ast::Expr e;
  e.kind = ast::ExprKind::kMatch;
  e.op = static_cast<uint8_t>(op);
  e.case_insensitive = insensitive;
  e.args.push_back(std::move(subject));
  for (auto& p : patterns) e.args.push_back(std::move(p));
  return e;
}
inline ast::Expr Colon(ast::Expr subject, std::vector<ast::Expr> patterns) {
  return Match(std::move(subject), ast::MatchOp::kColon, std::move(patterns));
}
inline ast::Expr In(ast::Expr subject, std::vector<ast::Expr> list, bool negated = false,
                    bool insensitive = false) {
  ast::Expr e;
  e.kind = ast::ExprKind::kIn;
  e.negated = negated;
  e.case_insensitive = insensitive;
  e.args.push_back(std::move(subject));
  for (auto& p : list) e.args.push_back(std::move(p));
  return e;
}
inline ast::Expr Arith(ast::Expr a, ast::ArithOp op, ast::Expr b) {
  ast::Expr e;
  e.kind = ast::ExprKind::kArith;
  e.op = static_cast<uint8_t>(op);
  e.args = {std::move(a), std::move(b)};
  return e;
}
inline ast::Expr Call(std::string name, std::vector<ast::Expr> args, bool insensitive = false) {
  ast::Expr e;
  e.kind = ast::ExprKind::kCall;
  e.text = std::move(name);
  e.case_insensitive = insensitive;
  e.args = std::move(args);
  return e;
}

}  // namespace eql::testing
