// libeql/syntax/printer.cpp
//
// The canonical printer: one spelling per tree, with parentheses only where
// precedence needs them, so that Parse(Print(q)) is the same tree as q.
#include <cmath>
#include <string>

#include "fmt/format.h"
#include "syntax/grammar.hpp"
#include "syntax/parse.hpp"

namespace eql::syntax {
namespace {

using ast::Expr;
using ast::ExprKind;

// Binding strength, loosest first; matches the grammar's rule nesting.
enum Precedence : int {
  kOr = 1,
  kAnd = 2,
  kNot = 3,
  kComparison = 4,
  kAdditive = 6,
  kMultiplicative = 7,
  kUnary = 8,
  kPredicated = 9,
  kPrimary = 10,
};

using grammar::IsIdentChar;
using grammar::IsIdentStart;

bool IsPlainIdentifier(std::string_view s) {
  if (s.empty() || !IsIdentStart(s[0])) return false;
  for (char c : s.substr(1)) {
    if (!IsIdentChar(c)) return false;
  }
  return !grammar::IsKeyword(s);
}

void PrintString(std::string_view s, std::string& out) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += fmt::format("\\u{{{:02X}}}", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

int PrecedenceOf(const Expr& e) {
  switch (e.kind) {
    case ExprKind::kOr:
      return kOr;
    case ExprKind::kAnd:
      return kAnd;
    case ExprKind::kNot:
      return kNot;
    case ExprKind::kCompare:
      return kComparison;
    case ExprKind::kArith: {
      auto op = static_cast<ast::ArithOp>(e.op);
      return op == ast::ArithOp::kAdd || op == ast::ArithOp::kSub ? kAdditive : kMultiplicative;
    }
    case ExprKind::kNegate:
      return kUnary;
    case ExprKind::kMatch:
    case ExprKind::kIn:
      return kPredicated;
    case ExprKind::kInt:
    case ExprKind::kFloat:
      // A negative literal reads back as unary minus folded into it.
      return (e.kind == ExprKind::kInt ? e.integer < 0 : std::signbit(e.real)) ? kUnary : kPrimary;
    default:
      return kPrimary;
  }
}

void PrintExpr(const Expr& e, int min_precedence, std::string& out);

void PrintList(const std::vector<Expr>& items, size_t from, std::string& out) {
  for (size_t i = from; i < items.size(); ++i) {
    if (i > from) out += ", ";
    PrintExpr(items[i], 0, out);
  }
}

void PrintFloat(double v, std::string& out) {
  if (std::isnan(v)) {
    out += "(0.0 / 0.0)";  // not produced by the parser; printed for completeness
    return;
  }
  if (std::isinf(v)) {
    out += v < 0 ? "-1e999" : "1e999";
    return;
  }
  std::string text = fmt::format("{}", v);
  if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
  out += text;
}

void PrintExprInner(const Expr& e, std::string& out) {
  switch (e.kind) {
    case ExprKind::kNull:
      out += "null";
      return;
    case ExprKind::kBool:
      out += e.boolean ? "true" : "false";
      return;
    case ExprKind::kInt:
      if (e.integer == INT64_MIN) {
        out += "-9223372036854775808";  // reads back as a double; see number_parser
      } else {
        out += std::to_string(e.integer);
      }
      return;
    case ExprKind::kFloat:
      PrintFloat(e.real, out);
      return;
    case ExprKind::kString:
      PrintString(e.text, out);
      return;
    case ExprKind::kField: {
      if (e.optional) out += '?';
      bool first = true;
      for (const ast::PathSegment& s : e.path) {
        if (s.index) {
          out += "[" + std::to_string(*s.index) + "]";
          continue;
        }
        if (!first) out += '.';
        first = false;
        // Backticks stay where they were written (the tree records it), and
        // are added where the name would not read back as one name.
        if (!s.quoted && IsPlainIdentifier(s.name)) {
          out += s.name;
        } else {
          out += '`';
          for (char c : s.name) {
            if (c == '`') out += '`';
            out += c;
          }
          out += '`';
        }
      }
      return;
    }
    case ExprKind::kNot:
      out += "not ";
      PrintExpr(e.args[0], kNot, out);
      return;
    case ExprKind::kAnd:
    case ExprKind::kOr: {
      int p = e.kind == ExprKind::kAnd ? kAnd : kOr;
      PrintExpr(e.args[0], p, out);
      out += e.kind == ExprKind::kAnd ? " and " : " or ";
      PrintExpr(e.args[1], p + 1, out);
      return;
    }
    case ExprKind::kCompare: {
      static constexpr const char* kOps[] = {"==", "!=", "<", "<=", ">", ">="};
      PrintExpr(e.args[0], kAdditive, out);
      out += ' ';
      out += kOps[e.op];
      out += ' ';
      PrintExpr(e.args[1], kAdditive, out);
      return;
    }
    case ExprKind::kArith: {
      static constexpr const char* kOps[] = {"+", "-", "*", "/", "%"};
      int p = PrecedenceOf(e);
      PrintExpr(e.args[0], p, out);
      out += ' ';
      out += kOps[e.op];
      out += ' ';
      PrintExpr(e.args[1], p + 1, out);
      return;
    }
    case ExprKind::kNegate:
      out += '-';
      // `- -x` must not print as `--x`, which still parses, but keep it plain.
      if (e.args[0].kind == ExprKind::kNegate) out += ' ';
      PrintExpr(e.args[0], kUnary, out);
      return;
    case ExprKind::kMatch: {
      PrintExpr(e.args[0], kPrimary, out);
      switch (static_cast<ast::MatchOp>(e.op)) {
        case ast::MatchOp::kColon:
          out += " : ";
          break;
        case ast::MatchOp::kLike:
          out += e.case_insensitive ? " like~ " : " like ";
          break;
        case ast::MatchOp::kRegex:
          out += e.case_insensitive ? " regex~ " : " regex ";
          break;
      }
      if (e.args.size() == 2) {
        PrintExpr(e.args[1], 0, out);
      } else {
        out += '(';
        PrintList(e.args, 1, out);
        out += ')';
      }
      return;
    }
    case ExprKind::kIn:
      PrintExpr(e.args[0], kPrimary, out);
      out += e.negated ? " not in" : " in";
      if (e.case_insensitive) out += '~';
      out += " (";
      PrintList(e.args, 1, out);
      out += ')';
      return;
    case ExprKind::kCall:
      out += e.text;
      if (e.case_insensitive) out += '~';
      out += '(';
      PrintList(e.args, 0, out);
      out += ')';
      return;
  }
}

void PrintExpr(const Expr& e, int min_precedence, std::string& out) {
  bool parens = PrecedenceOf(e) < min_precedence;
  if (parens) out += '(';
  PrintExprInner(e, out);
  if (parens) out += ')';
}

void PrintEventQuery(const ast::EventQuery& q, std::string& out) {
  if (q.is_any) {
    out += "any";
  } else if (IsPlainIdentifier(q.category) && q.category[0] != '@') {
    // A bare `@` category does not read back (found by fuzz_parse:
    // `"@" where x` printed as `@ where x`); such names stay quoted.
    out += q.category;
  } else {
    PrintString(q.category, out);
  }
  out += " where ";
  PrintExpr(q.condition, 0, out);
}

void PrintKeys(const std::vector<Expr>& keys, std::string& out) {
  if (keys.empty()) return;
  out += " by ";
  PrintList(keys, 0, out);
}

void PrintStage(const ast::Stage& s, std::string& out) {
  out += "\n  ";
  out += s.missing ? "![" : "[";
  PrintEventQuery(s.query, out);
  out += ']';
  PrintKeys(s.by, out);
  if (s.runs != 1) out += " with runs=" + std::to_string(s.runs);
}

}  // namespace

std::string Print(const ast::Expr& expr) {
  std::string out;
  PrintExpr(expr, 0, out);
  return out;
}

std::string Print(const ast::Query& q) {
  std::string out;
  switch (q.kind) {
    case ast::QueryKind::kEvent:
      PrintEventQuery(q.event, out);
      break;
    case ast::QueryKind::kSequence:
      out += "sequence";
      PrintKeys(q.sequence.by, out);
      if (q.sequence.maxspan) {
        out +=
            " with maxspan=" + std::to_string(q.sequence.maxspan->value) + q.sequence.maxspan->unit;
      }
      for (const ast::Stage& s : q.sequence.stages) PrintStage(s, out);
      if (q.sequence.until) {
        out += "\nuntil";
        PrintStage(*q.sequence.until, out);
      }
      break;
    case ast::QueryKind::kSample:
      out += "sample";
      PrintKeys(q.sample.by, out);
      for (const ast::Stage& s : q.sample.stages) PrintStage(s, out);
      break;
  }
  for (const ast::Pipe& p : q.pipes) out += " | " + p.name + " " + std::to_string(p.count);
  return out;
}

}  // namespace eql::syntax
