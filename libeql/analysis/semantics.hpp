// libeql/analysis/semantics.hpp
//
// What each EQL operator and function does to scalar values, as
// Elasticsearch defines it. Analysis uses these to fold constants; the
// evaluator (libeql/expr/) calls the same functions per event, so a folded
// constant and a per-event result can never disagree.
//
// Nulls: every function returns null when a required argument is null;
// comparisons with null are null (see Compare). Errors that Elasticsearch
// raises while running a query (a function given a value of the wrong type,
// `number("abc")`, integer overflow, division by zero) cannot stop a stream,
// so they yield null here.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/text.hpp"
#include "io/record.hpp"
#include "syntax/ast.hpp"

namespace eql::analysis {

using io::Scalar;

//! Three-valued logic.
enum class Tri : uint8_t { kFalse = 0, kTrue = 1, kNull = 2 };
inline Tri ToTri(bool b) { return b ? Tri::kTrue : Tri::kFalse; }
inline Tri Not(Tri t) { return t == Tri::kNull ? t : (t == Tri::kTrue ? Tri::kFalse : Tri::kTrue); }
//! Boolean scalar (or null) as Tri; other types are null.
inline Tri TriOf(const Scalar& s) {
  return s.type == Scalar::Type::kBool ? ToTri(s.b) : Tri::kNull;
}
inline Scalar ScalarOf(Tri t) { return t == Tri::kNull ? Scalar() : Scalar::Bool(t == Tri::kTrue); }

// Arena
//
// Scratch memory for strings made while evaluating (concat, substring,
// folded text). Reset() keeps the blocks, so steady state does not allocate.
class Arena {
 public:
  char* Allocate(size_t n);
  std::string_view Copy(std::string_view s);
  void Reset() {
    block_ = 0;
    used_ = 0;
  }

 private:
  std::vector<std::unique_ptr<char[]>> blocks_;
  std::vector<size_t> sizes_;
  size_t block_ = 0;
  size_t used_ = 0;
};

//! Folds `s` (see text.hpp) into the arena; ASCII-only input is lowercased
//! in one pass.
std::string_view FoldInto(std::string_view s, Arena& arena);

// TextOf()
//
// A value as Elasticsearch indexes it into a keyword field (what `:`, like,
// regex and string comparisons see when the JSON held a number or boolean):
// integers in decimal, doubles as written by Java, booleans "true"/"false".
// `buf` (32 bytes) backs the result for non-strings. Null -> nullopt-like
// empty view with ok=false.
std::string_view TextOf(const Scalar& v, char* buf, bool& ok);

//! Parses text as a number the way a numeric field reads a JSON string
//! ("42", "-1.5e3"); false when it is not a number.
bool ParseNumber(std::string_view text, Scalar& out);

// Compare()
//
// `a <op> b`. Null on either side -> null. Numbers compare by value across
// integer and double (exactly, 2^53+1 vs a double included). Strings compare
// by bytes (UTF-8 byte order = code point order, as Lucene's term order).
// A number and a string: the string is read as a number when it is one (a
// numeric field indexes "42" as 42), otherwise both compare as text (a keyword
// field indexes 42 as "42"). Booleans compare with booleans (false < true) or
// as text "true"/"false" with strings. Anything else is unequal and unordered
// (`==` false, `!=` true, `<` null).
Tri Compare(ast::CompareOp op, const Scalar& a, const Scalar& b);
//! Case-insensitive string equality (the `in~` element test); other types
//! as Compare(kEq).
Tri EqualsFolded(const Scalar& a, const Scalar& b, Arena& arena);

// Arithmetic()
//
// `a <op> b` on numbers; anything else (or null) -> null. Integers stay
// 64-bit integers: overflow -> null (Elasticsearch's Math.*Exact would fail
// the query); `/` truncates toward zero (`serial_event_id / 2`); `/` or `%`
// by zero -> null (integers and doubles alike). A double on either side makes
// the result a double.
Scalar Arithmetic(ast::ArithOp op, const Scalar& a, const Scalar& b);
//! Unary minus; INT64_MIN -> null.
Scalar Negate(const Scalar& a);

//! The functions of Elasticsearch EQL.
enum class Function : uint8_t {
  kAdd,
  kBetween,
  kCidrMatch,
  kConcat,
  kDivide,
  kEndsWith,
  kIndexOf,
  kLength,
  kModulo,
  kMultiply,
  kNumber,
  kStartsWith,
  kString,
  kStringContains,
  kSubstring,
  kSubtract,
};

struct FunctionInfo {
  std::string_view name;  //!< canonical spelling, e.g. "startsWith"
  Function function;
  int min_args;
  int max_args;             //!< -1: any number
  bool allows_insensitive;  //!< a `name~` form exists
};

// FindFunction()
//
// Looks a name up ignoring ASCII case: Elasticsearch resolves function names
// case-insensitively (the detection-rules corpus writes `cidrmatch`,
// `startswith~`, `stringcontains`). nullptr when unknown.
const FunctionInfo* FindFunction(std::string_view name);
//! All functions (for "did you mean" messages and docs).
std::span<const FunctionInfo> AllFunctions();

// CallFunction()
//
// Applies `f` to already evaluated arguments. `cidrs` holds the compiled
// blocks of cidrMatch (its block arguments are constants, compiled once).
// Strings made by the function live in `arena`.
Scalar CallFunction(Function f, bool case_insensitive, std::span<const Scalar> args,
                    const std::vector<CidrBlock>* cidrs, Arena& arena);

}  // namespace eql::analysis
