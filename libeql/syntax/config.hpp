// libeql/syntax/config.hpp
//
// The types the X3 grammar is compiled for, fixed in one place (STYLE.md §1):
// the iterator, the skipper (whitespace and comments) and the context. The
// call site in parse.cpp must use exactly these, or linking fails.
#pragma once

#include <boost/spirit/home/x3.hpp>

namespace eql::syntax::grammar {

namespace x3 = boost::spirit::x3;

using iterator_type = const char*;

// Throws the grammar's SyntaxError for a `/*` that is never closed
// (grammar.cpp).
[[noreturn]] void ThrowUnterminatedComment(iterator_type open);

// Skips one run of whitespace or one comment at `it`: `// to end of line` or
// `/* ... */`, which nests as in Elasticsearch's lexer (`/* a /* b */ c */`
// is one comment). Returns false when there is nothing to skip. An
// unterminated block comment is an error (`throw_unterminated`), or, for the
// message helpers that must not throw, simply not skipped.
inline bool SkipOne(iterator_type& it, iterator_type last, bool throw_unterminated) {
  if (it == last) return false;
  char c = *it;
  if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
    ++it;
    while (it != last && (*it == ' ' || *it == '\t' || *it == '\n' || *it == '\r' || *it == '\f' ||
                          *it == '\v')) {
      ++it;
    }
    return true;
  }
  if (c != '/' || last - it < 2) return false;
  if (it[1] == '/') {
    it += 2;
    while (it != last && *it != '\n') ++it;
    return true;
  }
  if (it[1] != '*') return false;
  int depth = 0;
  for (iterator_type p = it; p != last && p + 1 != last;) {
    if (p[0] == '/' && p[1] == '*') {
      ++depth;
      p += 2;
    } else if (p[0] == '*' && p[1] == '/') {
      p += 2;
      if (--depth == 0) {
        it = p;
        return true;
      }
    } else {
      ++p;
    }
  }
  if (throw_unterminated) ThrowUnterminatedComment(it);
  return false;
}

// The skipper: whitespace and comments, wherever whitespace may stand.
struct skipper_parser : x3::parser<skipper_parser> {
  using attribute_type = x3::unused_type;
  static bool const has_attribute = false;

  template <typename Ctx, typename RCtx, typename Attr>
  bool parse(iterator_type& first, iterator_type const& last, Ctx const&, RCtx&, Attr&) const {
    return SkipOne(first, last, true);
  }
};

inline constexpr skipper_parser skipper{};
using skipper_type = skipper_parser;
using context_type = x3::phrase_parse_context<skipper_type>::type;

}  // namespace eql::syntax::grammar
