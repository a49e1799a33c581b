// libeql/syntax/grammar.hpp
//
// Declaration of the EQL grammar's entry rule. The rules are defined in
// grammar_def.hpp and instantiated once, in grammar.cpp, so that only that
// translation unit pays Spirit X3's compile time.
#pragma once

#include <string>
#include <string_view>

#include "syntax/ast.hpp"
#include "syntax/config.hpp"

namespace eql::syntax::grammar {

struct query_class;
using query_type = x3::rule<query_class, ast::Query>;
BOOST_SPIRIT_DECLARE(query_type)

query_type const& query();

//! Identifier characters and the reserved words of Elasticsearch's EQL
//! lexer (shared with the printer, which must quote what the parser would not
//! read as a name).
inline bool IsIdentStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '@';
}
inline bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }

inline bool IsKeyword(std::string_view word) {
  static constexpr std::string_view kKeywords[] = {
      "and",   "any", "by",    "false", "in",       "join",  "like",  "maxspan", "not", "null",
      "of",    "or",  "regex", "sample", "sequence", "true", "until", "where",   "with"};
  for (std::string_view k : kKeywords) {
    if (k == word) return true;
  }
  return false;
}

//! Thrown inside the grammar for errors found while matching (a bad escape,
//! `=` instead of `==`, a pipe Elasticsearch rejects, nesting too deep), and
//! caught in parse.cpp, which turns it into a Diagnostic.
struct SyntaxError {
  iterator_type where;
  uint32_t length;
  std::string message;
};

//! The start of the text being parsed (for locations) and the nesting depth;
//! set by parse.cpp for the duration of one parse on this thread.
struct ParseState {
  iterator_type begin = nullptr;
  int depth = 0;
};
ParseState& State();

}  // namespace eql::syntax::grammar
