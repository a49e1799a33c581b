// tests/syntax/syntax_test_util.hpp
//
// Helpers shared by the parser tests: an S-expression dump of a tree (so a
// test states the exact shape, with every operator and literal kind
// visible), and the shared-data lookup with its CI rule.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "fmt/format.h"
#include "syntax/ast.hpp"
#include "syntax/parse.hpp"

namespace eql::syntax::testing {

// (op arg ...) for operators; literals typed: 1 (int), 1.5f (float),
// "s" (string), a.b[0] (field), ?a (optional field), null, true.
inline std::string Sexpr(const ast::Expr& e) {
  using ast::ExprKind;
  auto list = [&](std::string head, size_t from = 0) {
    std::string out = "(" + head;
    for (size_t i = from; i < e.args.size(); ++i) out += " " + Sexpr(e.args[i]);
    return out + ")";
  };
  switch (e.kind) {
    case ExprKind::kNull:
      return "null";
    case ExprKind::kBool:
      return e.boolean ? "true" : "false";
    case ExprKind::kInt:
      return std::to_string(e.integer);
    case ExprKind::kFloat:
      return fmt::format("{}f", e.real);
    case ExprKind::kString:
      return "\"" + e.text + "\"";
    case ExprKind::kField: {
      std::string out = e.optional ? "?" : "";
      bool first = true;
      for (const ast::PathSegment& s : e.path) {
        if (s.index) {
          out += "[" + std::to_string(*s.index) + "]";
          continue;
        }
        if (!first) out += ".";
        first = false;
        out += s.quoted ? "`" + s.name + "`" : s.name;
      }
      return out;
    }
    case ExprKind::kNot:
      return list("not");
    case ExprKind::kAnd:
      return list("and");
    case ExprKind::kOr:
      return list("or");
    case ExprKind::kCompare: {
      static constexpr const char* kOps[] = {"==", "!=", "<", "<=", ">", ">="};
      return list(kOps[e.op]);
    }
    case ExprKind::kMatch: {
      static constexpr const char* kOps[] = {":", "like", "regex"};
      return list(std::string(kOps[e.op]) + (e.case_insensitive ? "~" : ""));
    }
    case ExprKind::kIn:
      return list(std::string(e.negated ? "not-in" : "in") + (e.case_insensitive ? "~" : ""));
    case ExprKind::kArith: {
      static constexpr const char* kOps[] = {"+", "-", "*", "/", "%"};
      return list(kOps[e.op]);
    }
    case ExprKind::kNegate:
      return list("neg");
    case ExprKind::kCall:
      return list("call " + e.text + (e.case_insensitive ? "~" : ""));
  }
  return "?";
}

// The shared test data folder, or empty when it is absent. Absent data fails
// the calling test under CI=true and skips it otherwise.
#define EQL_REQUIRE_SHARED_FILE(path)                                                     \
  do {                                                                                    \
    if (!std::filesystem::exists(path)) {                                                 \
      const char* ci = std::getenv("CI");                                                 \
      if (ci != nullptr && std::string(ci) == "true") {                                   \
        FAIL() << "shared test data missing under CI=true: " << (path);                   \
      }                                                                                   \
      GTEST_SKIP() << "shared test data not found: " << (path)                            \
                   << " (set EQL_SHARED_DIR at configure time; CI=true makes this fail)"; \
    }                                                                                     \
  } while (0)

}  // namespace eql::syntax::testing
