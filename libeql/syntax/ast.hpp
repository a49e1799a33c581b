// libeql/syntax/ast.hpp
//
// The typed syntax tree of an EQL query, as the parser produces it and the
// canonical printer prints it. This room (libeql/syntax/) owns the grammar,
// the tree, the diagnostics of parsing and the printer; nothing here knows
// about events or evaluation.
//
// The tree is plain data: one `Expr` node type with a kind tag (rather than a
// variant of many node types) so that later passes can walk it with a switch,
// copy it, and compare it. Every node carries the byte range it came from so
// that analysis can report errors at the offending text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace eql::ast {

//! A place in the query text: byte offset and length, plus the 1-based line
//! and column (in bytes) of the first byte.
struct Location {
  uint32_t offset = 0;
  uint32_t length = 0;
  uint32_t line = 1;
  uint32_t column = 1;
};

enum class ExprKind : uint8_t {
  kNull,     //!< `null`
  kBool,     //!< `true` / `false`              -> boolean
  kInt,      //!< integer literal               -> integer
  kFloat,    //!< floating literal              -> real
  kString,   //!< "..." or """..."""            -> text (escapes resolved)
  kField,    //!< field reference               -> path, optional
  kNot,      //!< `not a`                       -> args[0]
  kAnd,      //!< `a and b`                     -> args[0], args[1]
  kOr,       //!< `a or b`                      -> args[0], args[1]
  kCompare,  //!< `a <op> b`, op: CompareOp     -> args[0], args[1]
  kMatch,    //!< `a : p`, `a like p`, `a regex p`, or with a list of
             //!< patterns; op: MatchOp; case_insensitive for `like~`/
             //!< `regex~` (`:` is always insensitive) -> args[0] = subject,
             //!< args[1..] = patterns (always at least one)
  kIn,       //!< `a in (..)`, `in~`, `not in`, `not in~`; negated,
             //!< case_insensitive -> args[0] = subject, args[1..] = list
  kArith,    //!< `a <op> b`, op: ArithOp       -> args[0], args[1]
  kNegate,   //!< unary minus applied to a non-literal -> args[0]
  kCall,     //!< `name(args)` or `name~(args)` -> text = name as written,
             //!< case_insensitive, args
};

enum class CompareOp : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe };
enum class MatchOp : uint8_t { kColon, kLike, kRegex };
enum class ArithOp : uint8_t { kAdd, kSub, kMul, kDiv, kMod };

//! One step of a field path: a name (`process`, `name`, or a backtick-quoted
//! name which may itself contain dots) or an array index (`[0]`).
struct PathSegment {
  std::string name;  //!< empty when this is an index
  std::optional<int64_t> index;
  bool quoted = false;  //!< written with backticks
  bool operator==(const PathSegment&) const = default;
};

struct Expr {
  ExprKind kind = ExprKind::kNull;
  Location loc;
  uint8_t op = 0;                 //!< CompareOp / MatchOp / ArithOp by kind
  bool case_insensitive = false;  //!< `~` forms
  bool negated = false;           //!< `not in`
  bool optional = false;          //!< `?field`
  bool boolean = false;           //!< kBool
  int64_t integer = 0;            //!< kInt
  double real = 0;                //!< kFloat
  std::string text;               //!< kString value, kCall name
  std::vector<PathSegment> path;  //!< kField
  std::vector<Expr> args;         //!< operands, in order

  //! Structural equality that ignores locations (for round-trip checks).
  bool SameAs(const Expr& other) const;
  //! The dotted field name, `process.parent.name`; indexes as `[0]`.
  std::string FieldName() const;
};

//! `category where condition`. `any` is the category `any` with is_any set.
struct EventQuery {
  std::string category;  //!< unquoted value; empty when is_any
  bool is_any = false;
  Expr condition;
  Location loc;
  bool SameAs(const EventQuery& other) const;
};

//! One bracketed stage of a sequence or sample, or the `until` clause.
struct Stage {
  EventQuery query;
  std::vector<Expr> by;  //!< the stage's own `by` keys (not the shared ones)
  int64_t runs = 1;      //!< `with runs=N`
  bool missing = false;  //!< `![...]`
  Location loc;
  bool SameAs(const Stage& other) const;
};

struct MaxSpan {
  int64_t value = 0;
  std::string unit;  //!< "ms", "s", "m", "h" or "d", as written
  int64_t millis = 0;
  Location loc;
};

struct Sequence {
  std::vector<Expr> by;  //!< shared `sequence by` keys
  std::optional<MaxSpan> maxspan;
  std::vector<Stage> stages;
  std::optional<Stage> until;
  Location loc;
  bool SameAs(const Sequence& other) const;
};

struct Sample {
  std::vector<Expr> by;  //!< shared `sample by` keys
  std::vector<Stage> stages;
  Location loc;
  bool SameAs(const Sample& other) const;
};

//! `| head N`, `| tail N`. Other pipe names are rejected by the parser with
//! a "not supported" diagnostic, so only these two reach the tree.
struct Pipe {
  std::string name;  //!< "head" or "tail"
  int64_t count = 0;
  Location loc;
  bool operator==(const Pipe& other) const { return name == other.name && count == other.count; }
};

enum class QueryKind : uint8_t { kEvent, kSequence, kSample };

struct Query {
  QueryKind kind = QueryKind::kEvent;
  EventQuery event;   //!< kEvent
  Sequence sequence;  //!< kSequence
  Sample sample;      //!< kSample
  std::vector<Pipe> pipes;
  bool SameAs(const Query& other) const;
};

}  // namespace eql::ast
