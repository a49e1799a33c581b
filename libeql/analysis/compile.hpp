// libeql/analysis/compile.hpp
//
// Analysis of conditions: the room (libeql/analysis/) that turns the syntax
// tree into a checked, typed, folded Program (analysis/program.hpp) over a
// FieldRegistry. It reports every error it finds, each at its place in the
// query text, the way Elasticsearch's verifier rejects a query:
//   - unknown function (names are matched ignoring case, as ES does), `~` on a
//     function that has no case-insensitive form, wrong number of arguments,
//     a constant argument of the wrong type (`length(1)`, `add("a", 1)`),
//     an invalid CIDR block, a non-boolean `greedy` of between();
//   - `:`, like and regex patterns that are not string constants, an invalid
//     regular expression (or a Lucene operator RE2 cannot express);
//   - comparing two fields (`a == b`: "comparisons against fields are not
//     supported"), a non-boolean condition, `not` / `and` / `or` on a
//     constant that is not boolean, arithmetic on constants that are not
//     numbers, array indexes in field names (`a[0]`);
//   - a date field compared with text that is not a date.
//
// Example:
//   eql::io::FieldRegistry fields;
//   auto q = eql::analysis::CompileEventQuery(ast.event, fields, {}, text);
//   if (!q.ok()) { for (auto& d : q.diagnostics) print(d.Format()); }
//   ... eql::expr::Matches(q.value->condition, record) ...
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/program.hpp"
#include "analysis/shared_leaves.hpp"
#include "eql/diagnostic.hpp"
#include "io/record.hpp"
#include "syntax/ast.hpp"

namespace eql::analysis {

struct CompileOptions {
  //! Where `category where` looks for the category (ES: event_category_field).
  std::string category_field = "event.category";
  //! The timestamp field: compared with text it is compared as a date
  //! (`@timestamp < "2020-12-07T11:06:07Z"`), with a number as epoch millis.
  std::string timestamp_field = "@timestamp";
  //! Further fields with `date` semantics.
  std::vector<std::string> date_fields;
  //! When set, every field fast-path leaf is interned here and its node
  //! keeps the id (Node::d = 1 + id): a rule set compiled as a whole
  //! evaluates equal leaves once per event (analysis/shared_leaves.hpp).
  SharedLeaves* shared_leaves = nullptr;
};

//! A compiled where-clause: evaluate with eql::expr::Matches().
struct CompiledCondition {
  std::shared_ptr<const Program> program;
};

//! A compiled value expression (a `by` join key, or any expression):
//! evaluate with eql::expr::KeyValues() or eql::expr::Evaluate().
struct CompiledExpr {
  std::shared_ptr<const Program> program;
  bool is_field = false;  //!< the expression is a plain field reference
  io::FieldId field = 0;  //!< ... this one
  bool optional = false;  //!< written `?field`: null is a valid key value
};
using CompiledKey = CompiledExpr;

//! A compiled `category where condition`.
struct CompiledEventQuery {
  std::string category;  //!< as written (unquoted); empty for `any`
  bool is_any = false;
  io::FieldId category_field = 0;  //!< registered even for `any`
  //! Category test AND condition: what an event must satisfy.
  CompiledCondition condition;
  //! The condition alone (for a dispatcher that has tested the category).
  CompiledCondition where;
};

//! The value, or the diagnostics explaining why there is none.
template <class T>
struct Compiled {
  std::optional<T> value;
  std::vector<Diagnostic> diagnostics;
  bool ok() const { return value.has_value(); }
};

// CompileCondition()
//
// Compiles a boolean expression (a where clause). Fields are interned in
// `fields`. `query_text` is the text the locations refer to (for diagnostics;
// may be empty, then messages carry no source line).
Compiled<CompiledCondition> CompileCondition(const ast::Expr& condition, io::FieldRegistry& fields,
                                             const CompileOptions& options = {},
                                             std::string_view query_text = {});

// CompileEventQuery()
//
// `category where cond` is `category_field == "category" and cond` (exact,
// case-sensitive; an array-valued category matches if any element does);
// `any where cond` has no category test. The category field is registered in
// both cases, so the projection always carries it.
Compiled<CompiledEventQuery> CompileEventQuery(const ast::EventQuery& query,
                                               io::FieldRegistry& fields,
                                               const CompileOptions& options = {},
                                               std::string_view query_text = {});

// CompileExpr() / CompileKey()
//
// Compiles a value expression, e.g. a sequence's `by` key.
Compiled<CompiledExpr> CompileExpr(const ast::Expr& expr, io::FieldRegistry& fields,
                                   const CompileOptions& options = {},
                                   std::string_view query_text = {});
inline Compiled<CompiledKey> CompileKey(const ast::Expr& expr, io::FieldRegistry& fields,
                                        const CompileOptions& options = {},
                                        std::string_view query_text = {}) {
  return CompileExpr(expr, fields, options, query_text);
}

//! The dotted name of a field reference ("process.parent.name"), backtick
//! segments kept as written.
std::string FieldPath(const ast::Expr& field);

}  // namespace eql::analysis
