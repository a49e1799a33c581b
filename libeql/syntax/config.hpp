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

// Whitespace and the comments EQL allows wherever whitespace may stand:
// `// to end of line` and `/* ... */`. An unterminated block comment is not
// skipped, so the parser reports an error at its opening.
struct skipper_parser : x3::parser<skipper_parser> {
  using attribute_type = x3::unused_type;
  static bool const has_attribute = false;

  template <typename It, typename Ctx, typename RCtx, typename Attr>
  bool parse(It& first, It const& last, Ctx const&, RCtx&, Attr&) const {
    It it = first;
    if (it == last) return false;
    char c = *it;
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      first = ++it;
      return true;
    }
    if (c == '/' && it + 1 != last) {
      if (it[1] == '/') {
        it += 2;
        while (it != last && *it != '\n') ++it;
        first = it;
        return true;
      }
      if (it[1] == '*') {
        for (It p = it + 2; p != last && p + 1 != last; ++p) {
          if (p[0] == '*' && p[1] == '/') {
            first = p + 2;
            return true;
          }
        }
        return false;
      }
    }
    return false;
  }
};

inline constexpr skipper_parser skipper{};
using skipper_type = skipper_parser;
using context_type = x3::phrase_parse_context<skipper_type>::type;

}  // namespace eql::syntax::grammar
