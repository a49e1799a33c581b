// libeql/syntax/parse.hpp
//
// The one entry point of the grammar: query text in, syntax tree or
// diagnostics out. The grammar itself (Boost.Spirit X3) lives in its own
// translation units behind this header so that only they pay its compile time.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eql/diagnostic.hpp"
#include "syntax/ast.hpp"

namespace eql::syntax {

struct ParseOutcome {
  std::optional<ast::Query> query;      //!< set when parsing succeeded
  std::vector<Diagnostic> diagnostics;  //!< non-empty when it failed
  bool ok() const { return query.has_value(); }
};

// Parse()
//
// Parses one EQL query (comments `//` and `/* */` allowed wherever whitespace
// is) and checks the rules of the language that need no schema: `=` is
// rejected, maxspan is a positive integer with a unit, runs is 1..100, the
// join-key counts agree across stages, a missing-event stage needs maxspan,
// `by` comes before `with`, and pipes other than head/tail are "not
// supported". Never throws; nesting deeper than kMaxDepth is a diagnostic.
ParseOutcome Parse(std::string_view text);

inline constexpr int kMaxDepth = 200;

// A chain `a or b or c ...` nests to the left in the tree, one level per
// operator, and every pass over the tree recurses that deep; so the operators
// of one parenthesized level plus its enclosing levels are capped too.
inline constexpr int kMaxTreeDepth = 1000;

// Print()
//
// The canonical EQL text of a tree: Parse(Print(q)) is the same tree as q.
std::string Print(const ast::Query& query);
std::string Print(const ast::Expr& expr);

}  // namespace eql::syntax
