// libeql/syntax/grammar.hpp
//
// Declaration of the EQL grammar's entry rule. The rules are defined in
// grammar_def.hpp and instantiated once, in grammar.cpp, so that only that
// translation unit pays Spirit X3's compile time.
#pragma once

#include <string>
#include <string_view>
#include <vector>

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
// `@` only starts a name (`@timestamp`), as in Elasticsearch's IDENTIFIER.
inline bool IsIdentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (c >= '0' && c <= '9');
}

inline bool IsKeyword(std::string_view word) {
  static constexpr std::string_view kKeywords[] = {
      "and", "any", "by",    "false",  "in",       "join", "like",  "maxspan", "not", "null",
      "of",  "or",  "regex", "sample", "sequence", "true", "until", "where",   "with"};
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

//! The start and end of the text being parsed (for locations), the nesting
//! depth, and where the stage being parsed opened (for "expected ']' to
//! close the stage opened at ..."); set by parse.cpp for the duration of one
//! parse on this thread.
struct ParseState {
  iterator_type begin = nullptr;
  iterator_type end = nullptr;
  iterator_type stage_open = nullptr;
  iterator_type last_end = nullptr;  //!< end of the last token a leaf parser read
  int depth = 0;
  int tree_depth = 0;                 //!< nesting plus binary operators folded so far
  std::vector<iterator_type> starts;  //!< spanned[] matches under way
};
ParseState& State();

//! True when this thread's stack is nearly used up: the recursion guard then
//! stops the parse with a diagnostic even below kMaxDepth (a thread with a
//! small stack, or a sanitizer's larger frames).
bool StackNearlyFull();

//! `at` after whitespace and comments: where the next token starts.
iterator_type SkipSpace(iterator_type at, iterator_type end);

//! The token at `at` quoted for a message ("'foo'", "')'"), or "the end of
//! the query".
std::string TokenAt(iterator_type at, iterator_type end);

//! "LINE:COLUMN" of `at` in the text being parsed.
std::string LineColumn(iterator_type at);

}  // namespace eql::syntax::grammar
